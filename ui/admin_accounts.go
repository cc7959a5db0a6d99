package ui

import (
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// AdminAccountRow is one staff account as the admin pages show it.
type AdminAccountRow struct {
	tenant.Account
	Locked  bool // failed logins: locked for now or until unlocked
	Expired bool // the initial password's 72 hours are over
}

// StateKey names the account's state for the list: disabled, locked, initial password expired,
// initial password not yet changed, or active.
func (r AdminAccountRow) StateKey() string {
	switch {
	case r.Disabled:
		return "admin.state.disabled"
	case r.Locked:
		return "admin.state.locked"
	case r.Expired:
		return "admin.state.expired"
	case r.MustChange:
		return "admin.state.initial"
	}
	return "admin.state.active"
}

// Attention reports whether the state needs an admin's action (it is shown in bold).
func (r AdminAccountRow) Attention() bool { return r.Disabled || r.Locked || r.Expired }

// AdminAccountsPage is the data of admin/accounts.html.
type AdminAccountsPage struct {
	BasePage
	Accounts []AdminAccountRow
}

// AdminAccountNewPage is the data of admin/account_new.html.
type AdminAccountNewPage struct {
	BasePage
	LoginID, Name, Role string
}

// AdminAccountPage is the data of admin/account.html and admin/account_issued.html.
type AdminAccountPage struct {
	BasePage
	Acc      AdminAccountRow
	Self     bool   // the admin's own account: no disable, no role change
	Password string // a new initial password, shown once (account_issued only)
	Created  bool   // account_issued after creating rather than resetting
}

func (u *UI) adminRow(acc *tenant.Account) AdminAccountRow {
	return AdminAccountRow{Account: *acc, Locked: u.deps.Accounts.Locked(acc), Expired: u.deps.Accounts.InitialExpired(acc)}
}

func (u *UI) adminAccounts(c *fiber.Ctx) error {
	accs, err := u.deps.Accounts.List(c.UserContext(), web.TenantOf(c))
	if err != nil {
		return err
	}
	p := &AdminAccountsPage{BasePage: u.base(c)}
	for i := range accs {
		p.Accounts = append(p.Accounts, u.adminRow(&accs[i]))
	}
	if err := u.staffTakeFlash(c, &p.BasePage); err != nil {
		return err
	}
	return u.render(c, "admin/accounts", p)
}

func (u *UI) adminAccountNew(c *fiber.Ctx) error {
	return u.render(c, "admin/account_new", &AdminAccountNewPage{BasePage: u.base(c), Role: string(tenant.RoleStaff)})
}

// adminAccountCreate adds an account and shows its random initial password once: it is not
// stored anywhere but as a hash, and not logged.
func (u *UI) adminAccountCreate(c *fiber.Ctx) error {
	p := &AdminAccountNewPage{BasePage: u.base(c), LoginID: strings.TrimSpace(strings.Clone(c.FormValue("login_id"))),
		Name: strings.TrimSpace(strings.Clone(c.FormValue("display_name"))), Role: strings.Clone(c.FormValue("role"))}
	fields := map[string]string{}
	if n := utf8.RuneCountInString(p.Name); n == 0 || n > 100 {
		fields["display_name"] = "admin.accounts.name.invalid"
	}
	if p.Role != string(tenant.RoleAdmin) && p.Role != string(tenant.RoleStaff) {
		fields["role"] = "staff.role.invalid"
	}
	var acc *tenant.Account
	var err error
	initial := tenant.RandomPassword()
	if len(fields) > 0 {
		err = &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: fields}
	} else {
		acc, err = u.deps.Accounts.Create(c.UserContext(), web.TenantOf(c), p.LoginID, p.Name, tenant.Role(p.Role), initial, staffOf(c).StaffLogin)
	}
	if e := tenant.AsError(err); e != nil && (e.Code == tenant.Invalid || e.Code == tenant.Conflict) {
		p.Errors = e.Fields
		c.Status(web.StatusOf(e.Code))
		return u.render(c, "admin/account_new", p)
	}
	if err != nil {
		return err
	}
	return u.render(c, "admin/account_issued", &AdminAccountPage{BasePage: u.base(c), Acc: u.adminRow(acc), Password: initial, Created: true})
}

// adminLoad returns the account named in the URL; a malformed id or another city's is 404.
func (u *UI) adminLoad(c *fiber.Ctx) (*tenant.Account, error) {
	id, err := admParamID(c)
	if err != nil {
		return nil, err
	}
	return u.deps.Accounts.ByID(c.UserContext(), web.TenantOf(c), id)
}

func (u *UI) adminAccount(c *fiber.Ctx) error {
	acc, err := u.adminLoad(c)
	if err != nil {
		return err
	}
	p := &AdminAccountPage{BasePage: u.base(c), Acc: u.adminRow(acc), Self: acc.ID == staffOf(c).StaffID}
	if err := u.staffTakeFlash(c, &p.BasePage); err != nil {
		return err
	}
	return u.render(c, "admin/account", p)
}

// adminAccountReset issues a new initial password (shown once, 72 hours, change at login) and
// ends the account's sessions.
func (u *UI) adminAccountReset(c *fiber.Ctx) error {
	id, err := admParamID(c)
	if err != nil {
		return err
	}
	initial := tenant.RandomPassword()
	acc, err := u.deps.Accounts.ResetPassword(c.UserContext(), web.TenantOf(c), id, initial, staffActorOf(c))
	if err != nil {
		return err
	}
	if err := u.adminEndSessions(c, acc.ID); err != nil {
		return err
	}
	return u.render(c, "admin/account_issued", &AdminAccountPage{BasePage: u.base(c), Acc: u.adminRow(acc), Password: initial})
}

// adminEndSessions ends every session of the account (never the acting admin's own: the domain
// refuses to disable, demote or reset oneself).
func (u *UI) adminEndSessions(c *fiber.Ctx, id uuid.UUID) error {
	n, err := u.endStaffSessions(c.UserContext(), web.TenantOf(c).ID, id)
	if err != nil {
		return tenant.Errorf(tenant.Unavailable, "error.unavailable").Wrap(err)
	}
	if n > 0 {
		u.log.Info("staff sessions ended", "request_id", web.RequestIDOf(c), "tenant", web.TenantSlug(c), "account", id, "sessions", n)
	}
	return nil
}

func (u *UI) adminDone(c *fiber.Ctx, id uuid.UUID, flash string) error {
	if err := u.staffSetFlash(c, flash); err != nil {
		return err
	}
	return c.Redirect("/admin/accounts/"+id.String(), fiber.StatusSeeOther)
}

func (u *UI) adminAccountUnlock(c *fiber.Ctx) error {
	id, err := admParamID(c)
	if err != nil {
		return err
	}
	if _, err := u.deps.Accounts.Unlock(c.UserContext(), web.TenantOf(c), id, staffActorOf(c)); err != nil {
		return err
	}
	return u.adminDone(c, id, "admin.accounts.unlocked")
}

func (u *UI) adminAccountDisable(c *fiber.Ctx) error { return u.adminSetDisabled(c, true) }
func (u *UI) adminAccountEnable(c *fiber.Ctx) error  { return u.adminSetDisabled(c, false) }

// adminSetDisabled disables (and ends every session of) or re-enables an account.
func (u *UI) adminSetDisabled(c *fiber.Ctx, disabled bool) error {
	id, err := admParamID(c)
	if err != nil {
		return err
	}
	if _, err := u.deps.Accounts.SetDisabled(c.UserContext(), web.TenantOf(c), id, disabled, staffActorOf(c)); err != nil {
		return err
	}
	if !disabled {
		return u.adminDone(c, id, "admin.accounts.enabled")
	}
	if err := u.adminEndSessions(c, id); err != nil {
		return err
	}
	return u.adminDone(c, id, "admin.accounts.disabled")
}

// adminAccountRole changes the role and ends the account's sessions, so the new role applies
// from its next login.
func (u *UI) adminAccountRole(c *fiber.Ctx) error {
	id, err := admParamID(c)
	if err != nil {
		return err
	}
	if _, err := u.deps.Accounts.SetRole(c.UserContext(), web.TenantOf(c), id, tenant.Role(c.FormValue("role")), staffActorOf(c)); err != nil {
		return err
	}
	if err := u.adminEndSessions(c, id); err != nil {
		return err
	}
	return u.adminDone(c, id, "admin.accounts.role_changed")
}
