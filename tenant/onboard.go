package tenant

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
)

// OnboardInput is a new city as the vendor types it (the ops console's form or the madoguchi
// command's arguments). Field errors are keyed by the names in the comments.
type OnboardInput struct {
	Slug        string // "slug": the host label, {slug}.{BASE_DOMAIN}
	Name        string // "name": 自治体名, e.g. 津市
	Code        string // "code": 全国地方公共団体コード, required (full-width digits are accepted)
	NameKana    string // "name_kana": optional; stored in full-width katakana
	BannerColor string // "banner_color": optional #rrggbb; DefaultBannerColor when empty
	Domain      string // "domain": optional custom host name (AddDomain's rules)
	AdminLogin  string // "admin_login": the first 市管理者's login id
	AdminName   string // "admin_name": their display name; "<Name> 管理者" when empty
}

// onboardFields is the order of OnboardInput's fields on the form; an error's Key is the message
// of the first field in error.
var onboardFields = []string{"slug", "name", "code", "name_kana", "banner_color", "domain", "admin_login", "admin_name"}

// Onboard opens a new city: the tenants row with its code, kana and banner colour, the optional
// custom domain, and the first administrator (市管理者) with an issued password, returned once,
// which expires after 72 hours and must be changed at the first login (the staff rules:
// insertAccount). A new city needs nothing else to open booking the same day: its settings start
// empty, which means the defaults booking applies (booking until the day before, 90 days ahead,
// reminders at 9:00, the default retention periods, no /admin allow-list), and its mail is
// worded by the built-in templates until its admin writes its own; the admin adds places and
// opening hours, and slots follow. No mail domain is allowed yet (SetMailDomains): mail goes from
// the platform's sender.
//
// Everything is one transaction, audited in the new city's log as the vendor ("account.create"
// and "vendor.tenant.create"), so a refusal leaves nothing behind. It returns invalid with a
// field per problem — slug (tenant.slug.invalid: not a DNS label, tenant.slug.reserved), name,
// code (tenant.code.required and ValidateMunicipalityCode's keys), name_kana (tenant.kana.invalid),
// banner_color (tenant.color.invalid, tenant.color.contrast), domain (tenant.domain.invalid,
// tenant.domain.reserved), admin_login (staff.login_id.invalid), admin_name
// (admin.accounts.name.invalid) — conflict with a field per name already in use (slug:
// tenant.slug.taken, code: tenant.code.taken, domain: tenant.domain.taken; admin_login:
// staff.login_id.taken, which a new city's empty account table cannot raise, since logins are
// per city), and forbidden for an actor who is not the vendor (or the system).
func (s *Service) Onboard(ctx context.Context, in OnboardInput, by Actor) (_ *Tenant, initial string, err error) {
	defer Wrap(&err, "tenant.Onboard")
	if err := platformOnly(by); err != nil {
		return nil, "", err
	}
	t, domain, adminLogin, adminName, err := in.check(s)
	if err != nil {
		return nil, "", err
	}
	t.ID = uuid.New()
	initial = RandomPassword()
	now := s.now()
	err = InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := checkNamesFree(ctx, tx, t, domain); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(t).Returning("*").Exec(ctx); err != nil {
			return tenantConflict(err)
		}
		if domain != "" {
			if err := insertDomain(ctx, tx, t.ID, domain); err != nil {
				return err
			}
		}
		acc, err := insertAccount(ctx, tx, now, t, adminLogin, adminName, RoleAdmin, initial, AuditEntry{Actor: by.Name(), IP: by.IP})
		if err != nil {
			return renameFields(err, map[string]string{"login_id": "admin_login", "display_name": "admin_name"})
		}
		return auditVendor(ctx, tx, t.ID, by, "vendor.tenant.create", t.Slug, nil, map[string]any{
			"slug": t.Slug, "name": t.Name, "code": t.Code, "name_kana": t.NameKana, "banner_color": t.BannerColor,
			"domain": domain, "admin": acc.LoginID})
	})
	if err != nil {
		return nil, "", err
	}
	return t, initial, nil
}

// check normalises the input and returns the tenant row to insert, the custom domain and the
// admin's login and name, or an invalid error with every field in error.
func (in OnboardInput) check(s *Service) (t *Tenant, domain, login, name string, err error) {
	t = &Tenant{Slug: strings.ToLower(strings.TrimSpace(in.Slug)), Name: strings.TrimSpace(in.Name), Status: Active,
		Code: normalizeCode(in.Code), MailDomains: []string{}}
	fields := map[string]string{}
	if e := AsError(t.Validate()); e != nil {
		for k, v := range e.Fields {
			fields[k] = v
		}
	}
	switch {
	case t.Code == "":
		fields["code"] = "tenant.code.required"
	default:
		if e := AsError(ValidateMunicipalityCode(t.Code)); e != nil {
			fields["code"] = e.Key
		}
	}
	var ok bool
	if t.NameKana, ok = normalizeKana(in.NameKana); !ok {
		fields["name_kana"] = "tenant.kana.invalid"
	}
	var key string
	if t.BannerColor, key = normalizeBannerColor(in.BannerColor); key != "" {
		fields["banner_color"] = key
	}
	if strings.TrimSpace(in.Domain) != "" {
		if domain, err = s.customHost(in.Domain); err != nil {
			fields["domain"] = AsError(err).Key
		}
	}
	login, name = strings.ToLower(strings.TrimSpace(in.AdminLogin)), strings.TrimSpace(in.AdminName)
	if name == "" && t.Name != "" {
		name = t.Name + " 管理者"
	}
	for k, v := range checkNewLogin(login, name) {
		if k == "display_name" && name == "" {
			continue // the city's name is missing, and said so
		}
		fields[map[string]string{"login_id": "admin_login", "display_name": "admin_name"}[k]] = v
	}
	if len(fields) > 0 {
		return nil, "", "", "", fieldsError(Invalid, fields)
	}
	return t, domain, login, name, nil
}

// checkNamesFree returns a conflict error naming every one of t's slug and code and domain that
// another city already uses (read in tx; a concurrent onboarding that wins the race is caught
// by the unique constraints, tenantConflict).
func checkNamesFree(ctx context.Context, tx bun.IDB, t *Tenant, domain string) error {
	var used []Tenant
	if err := tx.NewSelect().Model(&used).Column("slug", "code").Where("slug = ? OR code = ?", t.Slug, t.Code).Scan(ctx); err != nil {
		return err
	}
	fields := map[string]string{}
	for _, u := range used {
		if u.Slug == t.Slug {
			fields["slug"] = "tenant.slug.taken"
		}
		if u.Code == t.Code {
			fields["code"] = "tenant.code.taken"
		}
	}
	if domain != "" {
		n, err := tx.NewSelect().Table("tenant_domains").Where("domain = ?", domain).Count(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			fields["domain"] = "tenant.domain.taken"
		}
	}
	if len(fields) > 0 {
		return fieldsError(Conflict, fields)
	}
	return nil
}

// tenantConflict names the field of a unique violation inserting a tenants row.
func tenantConflict(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		switch pe.ConstraintName {
		case "tenants_slug_key":
			return &Error{Code: Conflict, Key: "tenant.slug.taken", Fields: map[string]string{"slug": "tenant.slug.taken"}, Err: err}
		case "tenants_code_key":
			return &Error{Code: Conflict, Key: "tenant.code.taken", Fields: map[string]string{"code": "tenant.code.taken"}, Err: err}
		case "tenants_training_of_key": // a training copy opened at the same moment
			return trainingConflict("tenant.training.exists").Wrap(err)
		}
	}
	return err
}

// fieldsError is an error of code with fields, whose Key is the message of the first field in
// form order.
func fieldsError(code Code, fields map[string]string) *Error {
	e := &Error{Code: code, Key: "error." + string(code), Fields: fields}
	for _, f := range onboardFields {
		if k, ok := fields[f]; ok {
			e.Key = k
			break
		}
	}
	return e
}

// renameFields returns err with its field names renamed (an account's "login_id" is the
// onboarding form's "admin_login").
func renameFields(err error, names map[string]string) error {
	e := AsError(err)
	if e == nil || len(e.Fields) == 0 {
		return err
	}
	f := make(map[string]string, len(e.Fields))
	for k, v := range e.Fields {
		if n, ok := names[k]; ok {
			k = n
		}
		f[k] = v
	}
	out := *e
	out.Fields, out.Err = f, err
	return &out
}
