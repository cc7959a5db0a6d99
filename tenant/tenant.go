// Package tenant holds the municipalities that run on madoguchi, resolves a request's host to
// one of them, and provides InTx, the row-level-security scope through which all tenant data is
// read and written. It also owns the domain error type shared by the domain packages.
package tenant

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Status is a tenant's lifecycle state.
type Status string

// Tenant states. A disabled tenant's hosts answer 404; its data stays.
const (
	Active   Status = "active"
	Disabled Status = "disabled"
)

// ReservedSlugs are host names taken by the shared consoles and the vendor's own services; no
// city may use them (migration 0009 holds the same list).
var ReservedSlugs = []string{"callcenter", "ops", "status", "www", "admin", "api", "static", "mail", "smtp",
	"auth", "login", "sso", "metrics", "grafana", "prometheus", "alertmanager", "help", "support", "docs"}

var slugRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,30}[a-z0-9]$`)

// Settings are the per-tenant options a city's admin changes without the vendor. Zero values
// mean "use the default"; read them through the methods, which apply the defaults.
type Settings struct {
	CallCenterPhone     string `json:"call_center_phone,omitempty"`
	BookingDeadlineDays *int   `json:"booking_deadline_days,omitempty"`
	// DeadlineOpeningDays counts BookingDeadlineDays in 開庁日 (Monday–Friday that is not a
	// national holiday and not 12-29 … 01-03) instead of calendar days (booking.DeadlineDay).
	DeadlineOpeningDays bool   `json:"deadline_opening_days,omitempty"`
	HorizonDays         int    `json:"horizon_days,omitempty"`
	ReminderHour        *int   `json:"reminder_hour,omitempty"`
	CardNumberPattern   string `json:"card_number_pattern,omitempty"`
	MailFrom            string `json:"mail_from,omitempty"`
	// Retention periods in days of names, e-mail addresses and card numbers (see README,
	// 'Mail and background jobs'); nil means the default. Read them through
	// booking.NameRetentionDays, EmailRetentionDays and CardRetentionDays.
	RetentionNameDays  *int `json:"retention_name_days,omitempty"`
	RetentionEmailDays *int `json:"retention_email_days,omitempty"`
	RetentionCardDays  *int `json:"retention_card_days,omitempty"`
	// TOTPRequired sends every staff member without TOTP to enrol right after their password
	// login (tenant/account_mfa.go). Off by default.
	TOTPRequired bool `json:"totp_required,omitempty"`
	// AdminAllowList limits /admin to client addresses in these CIDRs (normalised by
	// ParseAllowList); empty means no limit (tenant/allowlist.go).
	AdminAllowList []string `json:"admin_allow_list,omitempty"`
}

// Tenant is one municipality.
type Tenant struct {
	bun.BaseModel `bun:"table:tenants"`

	ID     uuid.UUID `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	Slug   string    `bun:"slug,notnull"`
	Name   string    `bun:"name,notnull"`
	Status Status    `bun:"status,notnull"`
	// Code is the 全国地方公共団体コード (ValidateMunicipalityCode); "" for a city created before
	// onboarding recorded it, or a test's.
	Code string `bun:"code,nullzero"`
	// NameKana is the kana of Name in full-width katakana ("" when not given) and BannerColor
	// the #rrggbb the call center shows the city's name on; both set at onboarding.
	NameKana    string `bun:"name_kana,notnull"`
	BannerColor string `bun:"banner_color,notnull"`
	// MailDomains are the domains the vendor lets the city send mail From (SendsFrom).
	MailDomains []string `bun:"mail_domains,array,notnull"`
	Settings    Settings `bun:"settings,type:jsonb,notnull"`
	// TrainingOf is the city this one is the training copy (研修用) of; nil for a real city.
	// A training city takes no real bookings, sends no mail and is left out of the fleet's
	// figures (see TrainingOpen).
	TrainingOf *uuid.UUID `bun:"training_of,type:uuid"`
	CreatedAt  time.Time  `bun:"created_at,notnull,default:current_timestamp"`
	UpdatedAt  time.Time  `bun:"updated_at,notnull,default:current_timestamp"`
}

// Validate checks a new tenant's slug and name. It returns an invalid error with per-field keys.
func (t *Tenant) Validate() error {
	fields := map[string]string{}
	if key := slugError(t.Slug); key != "" {
		fields["slug"] = key
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(t.Name)); n == 0 || n > 100 {
		fields["name"] = "tenant.name.invalid"
	}
	if len(fields) > 0 {
		return &Error{Code: Invalid, Key: "error.invalid", Fields: fields}
	}
	return nil
}

// slugError returns the message key of a slug that cannot be a city's host label: not a DNS
// label of 3–32 lower-case letters, digits and hyphens starting with a letter and not ending
// with a hyphen, or one with "--" in its third and fourth places (tenant.slug.invalid), or a
// reserved name (tenant.slug.reserved); "" for a good one.
func slugError(slug string) string {
	switch {
	case !slugRE.MatchString(slug) || (len(slug) >= 4 && slug[2:4] == "--"):
		// "xn--…" and the like would be read by browsers as an internationalised name.
		return "tenant.slug.invalid"
	case isReserved(slug):
		return "tenant.slug.reserved"
	}
	return ""
}

// Training reports whether t is a training copy of a city (研修用).
func (t *Tenant) Training() bool { return t != nil && t.TrainingOf != nil }

// SendsFrom reports whether the city may send mail From addr: its domain is one the vendor
// allowed (MailDomains). Any other sender address is not used; mail goes from the platform's
// default sender instead.
func (t *Tenant) SendsFrom(addr string) bool {
	_, domain, ok := strings.Cut(addr, "@")
	return ok && slices.Contains(t.MailDomains, strings.ToLower(domain))
}

func isReserved(slug string) bool {
	for _, r := range ReservedSlugs {
		if slug == r {
			return true
		}
	}
	return false
}

// Service manages tenants. Tenants and their domains are global tables: they are read before a
// request's tenant is known, so they are not tenant-scoped. The vendor's actions on a city
// (onboarding, support) are its methods too, each audited in the city's own log.
type Service struct {
	db         bun.IDB
	now        func() time.Time
	baseDomain string
}

// ServiceOption configures a Service.
type ServiceOption func(*Service)

// WithClock sets the clock the service reads (issued passwords expire 72 hours after it); nil
// keeps the default, time.Now.
func WithClock(now func() time.Time) ServiceOption {
	return func(s *Service) {
		if now != nil {
			s.now = now
		}
	}
}

// WithBaseDomain names the domain cities are served under ({slug}.{base}), which no custom domain
// may be or end with. Without it that check is skipped.
func WithBaseDomain(base string) ServiceOption {
	return func(s *Service) { s.baseDomain = strings.TrimSuffix(strings.ToLower(base), ".") }
}

// NewService returns a Service on db.
func NewService(db bun.IDB, opts ...ServiceOption) *Service {
	s := &Service{db: db, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Create inserts a bare tenant: no code, no administrator, the default banner, nothing audited.
// It is for tests and benchmarks; a city is onboarded with Onboard. It returns
// invalid for a bad slug or name and conflict when the slug is taken.
func (s *Service) Create(ctx context.Context, slug, name string) (_ *Tenant, err error) {
	defer Wrap(&err, "tenant.Create(%q)", slug)
	t := &Tenant{Slug: strings.ToLower(strings.TrimSpace(slug)), Name: strings.TrimSpace(name), Status: Active,
		BannerColor: DefaultBannerColor, MailDomains: []string{}}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if _, err := s.db.NewInsert().Model(t).Returning("*").Exec(ctx); err != nil {
		if ErrorCode(DBError(err)) == Conflict {
			return nil, &Error{Code: Conflict, Key: "tenant.slug.taken", Fields: map[string]string{"slug": "tenant.slug.taken"}, Err: err}
		}
		return nil, DBError(err)
	}
	return t, nil
}

// List returns every tenant ordered by slug.
func (s *Service) List(ctx context.Context) (_ []Tenant, err error) {
	defer Wrap(&err, "tenant.List()")
	var ts []Tenant
	err = s.db.NewSelect().Model(&ts).Order("slug").Scan(ctx)
	return ts, DBError(err)
}

// BySlug returns the tenant with slug, or a not_found error.
func (s *Service) BySlug(ctx context.Context, slug string) (_ *Tenant, err error) {
	defer Wrap(&err, "tenant.BySlug(%q)", slug)
	t := new(Tenant)
	if err := s.db.NewSelect().Model(t).Where("slug = ?", slug).Scan(ctx); err != nil {
		return nil, DBError(err)
	}
	return t, nil
}

// UpdateSettings replaces the tenant's settings.
func (s *Service) UpdateSettings(ctx context.Context, id uuid.UUID, st Settings) (err error) {
	defer Wrap(&err, "tenant.UpdateSettings(%s)", id)
	_, err = s.db.NewUpdate().Model((*Tenant)(nil)).
		Set("settings = ?", st).Set("updated_at = now()").
		Where("id = ?", id).Exec(ctx)
	return DBError(err)
}
