// Package tenant holds the municipalities that run on madoguchi, resolves a request's host to
// one of them, and provides InTx, the row-level-security scope through which all tenant data is
// read and written. It also owns the domain error type shared by the domain packages.
package tenant

import (
	"context"
	"regexp"
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

// ReservedSlugs are host names taken by the shared consoles; no city may use them.
var ReservedSlugs = []string{"callcenter", "ops", "status", "www", "admin", "api", "static"}

var slugRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,30}[a-z0-9]$`)

// Settings are the per-tenant options a city's admin changes without the vendor. Zero values
// mean "use the default"; read them through the methods, which apply the defaults.
type Settings struct {
	CallCenterPhone     string `json:"call_center_phone,omitempty"`
	BookingDeadlineDays *int   `json:"booking_deadline_days,omitempty"`
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

	ID        uuid.UUID `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	Slug      string    `bun:"slug,notnull"`
	Name      string    `bun:"name,notnull"`
	Status    Status    `bun:"status,notnull"`
	Settings  Settings  `bun:"settings,type:jsonb,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull,default:current_timestamp"`
	UpdatedAt time.Time `bun:"updated_at,notnull,default:current_timestamp"`
}

// Validate checks a new tenant's slug and name. It returns an invalid error with per-field keys.
func (t *Tenant) Validate() error {
	fields := map[string]string{}
	switch {
	case !slugRE.MatchString(t.Slug):
		fields["slug"] = "tenant.slug.invalid"
	case isReserved(t.Slug):
		fields["slug"] = "tenant.slug.reserved"
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(t.Name)); n == 0 || n > 100 {
		fields["name"] = "tenant.name.invalid"
	}
	if len(fields) > 0 {
		return &Error{Code: Invalid, Key: "error.invalid", Fields: fields}
	}
	return nil
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
// request's tenant is known, so they are not tenant-scoped.
type Service struct {
	db bun.IDB
}

// NewService returns a Service on db.
func NewService(db bun.IDB) *Service { return &Service{db: db} }

// Create inserts a tenant. It returns invalid for a bad slug or name and conflict when the slug
// is taken.
func (s *Service) Create(ctx context.Context, slug, name string) (*Tenant, error) {
	t := &Tenant{Slug: strings.ToLower(strings.TrimSpace(slug)), Name: strings.TrimSpace(name), Status: Active}
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
func (s *Service) List(ctx context.Context) ([]Tenant, error) {
	var ts []Tenant
	err := s.db.NewSelect().Model(&ts).Order("slug").Scan(ctx)
	return ts, DBError(err)
}

// BySlug returns the tenant with slug, or a not_found error.
func (s *Service) BySlug(ctx context.Context, slug string) (*Tenant, error) {
	t := new(Tenant)
	if err := s.db.NewSelect().Model(t).Where("slug = ?", slug).Scan(ctx); err != nil {
		return nil, DBError(err)
	}
	return t, nil
}

// SetStatus enables or disables the tenant with slug. It returns not_found for an unknown slug.
func (s *Service) SetStatus(ctx context.Context, slug string, st Status) error {
	res, err := s.db.NewUpdate().Model((*Tenant)(nil)).
		Set("status = ?", st).Set("updated_at = now()").
		Where("slug = ?", slug).Exec(ctx)
	if err != nil {
		return DBError(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Errorf(NotFound, "error.not_found")
	}
	return nil
}

// UpdateSettings replaces the tenant's settings.
func (s *Service) UpdateSettings(ctx context.Context, id uuid.UUID, st Settings) error {
	_, err := s.db.NewUpdate().Model((*Tenant)(nil)).
		Set("settings = ?", st).Set("updated_at = now()").
		Where("id = ?", id).Exec(ctx)
	return DBError(err)
}

// ClearAdminAllowList removes the /admin IP allow-list of the tenant with slug, for the vendor's
// ops when a city has locked every administrator out (the admin settings page cannot be reached
// from outside the list). The change and the list it removed are written to the city's audit log
// as actor. It returns the removed entries (none when there was no list) and not_found for an
// unknown slug.
func (s *Service) ClearAdminAllowList(ctx context.Context, slug, actor string) ([]string, error) {
	t, err := s.BySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	var removed []string
	err = InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var cur Tenant
		if err := tx.NewSelect().Model(&cur).Where("id = ?", t.ID).For("UPDATE").Scan(ctx); err != nil {
			return DBError(err)
		}
		removed = cur.Settings.AdminAllowList
		if len(removed) == 0 {
			return nil
		}
		if _, err := tx.NewUpdate().Model((*Tenant)(nil)).Set("settings = settings - 'admin_allow_list'").
			Set("updated_at = now()").Where("id = ?", t.ID).Exec(ctx); err != nil {
			return DBError(err)
		}
		return Audit(ctx, tx, t.ID, AuditEntry{Actor: actor, Action: "settings.allow_list_cleared",
			Before: map[string]any{"admin_allow_list": removed}, After: map[string]any{"admin_allow_list": []string{}}})
	})
	return removed, err
}

// AddDomain maps a custom host name (e.g. yoyaku.city.example.lg.jp) to the tenant.
func (s *Service) AddDomain(ctx context.Context, id uuid.UUID, domain string) error {
	domain = strings.ToLower(strings.TrimSpace(domain))
	_, err := s.db.ExecContext(ctx, "INSERT INTO tenant_domains (domain, tenant) VALUES (?, ?)", domain, id)
	return DBError(err)
}
