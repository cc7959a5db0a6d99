package tenant

import (
	"context"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// This file is the vendor's support actions on a city (the ops console and the madoguchi command
// call the same methods): enable or disable it, reset its administrator, map custom domains,
// clear its /admin allow-list and set the domains it may send mail From. Each takes the city by
// slug, runs in one transaction in the city's scope with the tenants row locked, and writes what
// it changed to the city's own audit log as the vendor (auditVendor: actor "vendor:<login>",
// action "vendor.…" or, for the allow-list, the action the city's log has always used) and to
// the vendor's log. An action that changes nothing writes nothing. Every method returns
// forbidden for an actor who is not the vendor (or the system), not_found ("tenant.not_found")
// for an unknown slug, and the errors listed on it.

// support loads the tenant with slug, then runs fn in its scope on the row locked for update.
func (s *Service) support(ctx context.Context, slug string, by Actor, fn func(ctx context.Context, tx bun.Tx, t *Tenant) error) (*Tenant, error) {
	if err := platformOnly(by); err != nil {
		return nil, err
	}
	t, err := s.BySlug(ctx, strings.ToLower(strings.TrimSpace(slug)))
	if ErrorCode(err) == NotFound {
		return nil, &Error{Code: NotFound, Key: "tenant.not_found", Err: err}
	}
	if err != nil {
		return nil, err
	}
	var cur Tenant
	err = InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(&cur).Where("id = ?", t.ID).For("UPDATE").Scan(ctx); err != nil {
			return err
		}
		return fn(ctx, tx, &cur)
	})
	if err != nil {
		return nil, err
	}
	return &cur, nil
}

// SetStatus enables or disables the city with slug. A disabled city's hosts answer 404 (within
// the host cache's few seconds) and its jobs stop; its data stays. Audit:
// "vendor.tenant.disable" / "vendor.tenant.enable".
func (s *Service) SetStatus(ctx context.Context, slug string, st Status, by Actor) (err error) {
	defer Wrap(&err, "tenant.SetStatus(%s)", st)
	if st != Active && st != Disabled {
		return &Error{Code: Invalid, Key: "error.invalid", Fields: map[string]string{"status": "error.invalid"}}
	}
	_, err = s.support(ctx, slug, by, func(ctx context.Context, tx bun.Tx, t *Tenant) error {
		if t.Status == st {
			return nil
		}
		before := map[string]any{"status": t.Status}
		t.Status, t.UpdatedAt = st, s.now()
		if _, err := tx.NewUpdate().Model(t).Column("status", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		action := "vendor.tenant.enable"
		if st == Disabled {
			action = "vendor.tenant.disable"
		}
		return auditVendor(ctx, tx, t.ID, by, action, t.Slug, before, map[string]any{"status": st})
	})
	return err
}

// AdminReset gives the city's administrator (市管理者) loginID a new issued password, returned
// once: it must be changed at the next login and expires after 72 hours; the account's failures
// and lock are cleared (the password rules and lockouts are the staff ones, ResetPassword's). For
// a city whose admins are all locked out or have forgotten their passwords; a city's admins reset
// their own staff. The caller ends the account's sessions. It returns not_found
// ("tenant.admin.not_found") when the city has no account loginID, forbidden
// ("tenant.admin.not_admin") for a 職員 account and conflict ("tenant.admin.disabled") for an
// account the city disabled (whether to enable it again is the city's call). Audit:
// "vendor.account.reset_password".
func (s *Service) AdminReset(ctx context.Context, slug, loginID string, by Actor) (_ *Account, initial string, err error) {
	defer Wrap(&err, "tenant.AdminReset")
	var acc Account
	initial = RandomPassword()
	_, err = s.support(ctx, slug, by, func(ctx context.Context, tx bun.Tx, t *Tenant) error {
		err := tx.NewSelect().Model(&acc).Where("login_id = ?", strings.ToLower(strings.TrimSpace(loginID))).For("UPDATE").Scan(ctx)
		if ErrorCode(DBError(err)) == NotFound {
			return &Error{Code: NotFound, Key: "tenant.admin.not_found", Fields: map[string]string{"login_id": "tenant.admin.not_found"}, Err: err}
		}
		if err != nil {
			return err
		}
		switch {
		case acc.Role != RoleAdmin:
			return &Error{Code: Forbidden, Key: "tenant.admin.not_admin", Fields: map[string]string{"login_id": "tenant.admin.not_admin"}}
		case acc.Disabled:
			return &Error{Code: Conflict, Key: "tenant.admin.disabled", Fields: map[string]string{"login_id": "tenant.admin.disabled"}}
		}
		before := map[string]any{"failed_count": acc.FailedCount, "locked": lockedAt(acc.FailedCount, acc.LockedUntil, s.now())}
		cols, after := resetPassword(&acc, initial, s.now())
		after["failed_count"], after["locked"] = 0, false
		acc.UpdatedAt = s.now()
		if _, err := tx.NewUpdate().Model(&acc).Column(append(cols, "updated_at")...).WherePK().Exec(ctx); err != nil {
			return err
		}
		return auditVendor(ctx, tx, t.ID, by, "vendor.account.reset_password", acc.LoginID, before, after)
	})
	if err != nil {
		return nil, "", err
	}
	return &acc, initial, nil
}

// Domains returns the custom host names of the city with slug, sorted. It returns not_found
// ("tenant.not_found") for an unknown slug.
func (s *Service) Domains(ctx context.Context, slug string) (_ []string, err error) {
	defer Wrap(&err, "tenant.Domains(%q)", slug)
	t, err := s.BySlug(ctx, strings.ToLower(strings.TrimSpace(slug)))
	if ErrorCode(err) == NotFound {
		return nil, &Error{Code: NotFound, Key: "tenant.not_found", Err: err}
	}
	if err != nil {
		return nil, err
	}
	var out []string
	err = s.db.NewSelect().Table("tenant_domains").Column("domain").Where("tenant = ?", t.ID).Order("domain").Scan(ctx, &out)
	return out, DBError(err)
}

// AddDomain maps a custom host name (e.g. yoyaku.city.example.lg.jp) to the city with slug and
// returns it as stored (lower case). The ingress host and its TLS certificate remain a deployment
// step. It returns invalid (field "domain": "tenant.domain.invalid" for a name that is not a
// host name, "tenant.domain.reserved" for the base domain or a name under it) and conflict
// ("tenant.domain.taken") when the name is already mapped, to this city or another. Audit:
// "vendor.domain.add".
func (s *Service) AddDomain(ctx context.Context, slug, host string, by Actor) (_ string, err error) {
	defer Wrap(&err, "tenant.AddDomain")
	h, err := s.customHost(host)
	if err != nil {
		return "", err
	}
	_, err = s.support(ctx, slug, by, func(ctx context.Context, tx bun.Tx, t *Tenant) error {
		if err := insertDomain(ctx, tx, t.ID, h); err != nil {
			return err
		}
		return auditVendor(ctx, tx, t.ID, by, "vendor.domain.add", h, nil, map[string]any{"domain": h})
	})
	if err != nil {
		return "", err
	}
	return h, nil
}

// RemoveDomain unmaps a custom host name of the city with slug; the host stops answering within
// the host cache's few seconds. It returns not_found ("tenant.domain.not_found") when the city
// has no such domain. Audit: "vendor.domain.remove".
func (s *Service) RemoveDomain(ctx context.Context, slug, host string, by Actor) (err error) {
	defer Wrap(&err, "tenant.RemoveDomain")
	h := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	_, err = s.support(ctx, slug, by, func(ctx context.Context, tx bun.Tx, t *Tenant) error {
		res, err := tx.NewDelete().Table("tenant_domains").Where("domain = ? AND tenant = ?", h, t.ID).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &Error{Code: NotFound, Key: "tenant.domain.not_found", Fields: map[string]string{"domain": "tenant.domain.not_found"}}
		}
		return auditVendor(ctx, tx, t.ID, by, "vendor.domain.remove", h, map[string]any{"domain": h}, nil)
	})
	return err
}

// customHost normalises a custom host name and checks it may be one (see AddDomain).
func (s *Service) customHost(host string) (string, error) {
	h, key := normalizeHostName(host)
	if key == "" {
		key = checkCustomHost(h, s.baseDomain)
	}
	if key != "" {
		return "", &Error{Code: Invalid, Key: key, Fields: map[string]string{"domain": key}}
	}
	return h, nil
}

// insertDomain maps h to the tenant in tx; a name already mapped (to any city) is conflict
// "tenant.domain.taken".
func insertDomain(ctx context.Context, tx bun.IDB, tenantID uuid.UUID, h string) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO tenant_domains (domain, tenant) VALUES (?, ?)", h, tenantID)
	if ErrorCode(DBError(err)) == Conflict {
		return &Error{Code: Conflict, Key: "tenant.domain.taken", Fields: map[string]string{"domain": "tenant.domain.taken"}, Err: err}
	}
	return err
}

// ClearAdminAllowList removes the /admin IP allow-list of the city with slug, for when a city has
// locked every administrator out (the admin settings page cannot be reached from outside the
// list). It returns the removed entries (none when there was no list). Audit:
// "settings.allow_list_cleared" with the list it removed.
func (s *Service) ClearAdminAllowList(ctx context.Context, slug string, by Actor) (_ []string, err error) {
	defer Wrap(&err, "tenant.ClearAdminAllowList")
	var removed []string
	_, err = s.support(ctx, slug, by, func(ctx context.Context, tx bun.Tx, t *Tenant) error {
		removed = t.Settings.AdminAllowList
		if len(removed) == 0 {
			return nil
		}
		if _, err := tx.NewUpdate().Model((*Tenant)(nil)).Set("settings = settings - 'admin_allow_list'").
			Set("updated_at = ?", s.now()).Where("id = ?", t.ID).Exec(ctx); err != nil {
			return err
		}
		return auditVendor(ctx, tx, t.ID, by, "settings.allow_list_cleared", t.Slug,
			map[string]any{"admin_allow_list": removed}, map[string]any{"admin_allow_list": []string{}})
	})
	return removed, err
}

// SetMailDomains replaces the domains the city with slug may send mail From (the vendor's relay
// must be set up to send for them: SPF, DKIM) and returns them as stored: lower case, without
// duplicates, sorted. None means the city's mail goes from the platform's default sender, and so
// does mail while the city's sender address is on a domain not in the list. It returns invalid
// (field "mail_domains": "tenant.mail_domains.invalid" naming no host, "tenant.mail_domains.too_many"
// over 20). Audit: "vendor.mail_domains.set".
func (s *Service) SetMailDomains(ctx context.Context, slug string, domains []string, by Actor) (_ []string, err error) {
	defer Wrap(&err, "tenant.SetMailDomains")
	list := []string{}
	for _, d := range domains {
		h, key := normalizeHostName(d)
		if key != "" {
			return nil, &Error{Code: Invalid, Key: "tenant.mail_domains.invalid", Fields: map[string]string{"mail_domains": "tenant.mail_domains.invalid"}}
		}
		list = append(list, h)
	}
	slices.Sort(list)
	list = slices.Compact(list)
	if len(list) > maxMailDomains {
		return nil, &Error{Code: Invalid, Key: "tenant.mail_domains.too_many", Fields: map[string]string{"mail_domains": "tenant.mail_domains.too_many"}}
	}
	_, err = s.support(ctx, slug, by, func(ctx context.Context, tx bun.Tx, t *Tenant) error {
		if slices.Equal(t.MailDomains, list) {
			return nil
		}
		before := map[string]any{"mail_domains": t.MailDomains}
		t.MailDomains, t.UpdatedAt = list, s.now()
		if _, err := tx.NewUpdate().Model(t).Column("mail_domains", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		return auditVendor(ctx, tx, t.ID, by, "vendor.mail_domains.set", t.Slug, before, map[string]any{"mail_domains": list})
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}
