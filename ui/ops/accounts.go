package ops

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/tenant"
)

// AccountRow is one vendor account as the pages show it.
type AccountRow struct {
	tenant.OpsAccount
	Locked  bool // failed logins: locked for now or until reset
	Expired bool // an issued password whose 72 hours are over
}

// StateKey names the account's state: disabled, locked, issued password expired, issued password
// not yet changed, or active.
func (r AccountRow) StateKey() string {
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

// Attention reports whether the state needs a colleague's action (shown in bold).
func (r AccountRow) Attention() bool { return r.Disabled || r.Locked || r.Expired }

func (u *UI) row(acc *tenant.OpsAccount) AccountRow {
	return AccountRow{OpsAccount: *acc, Locked: u.deps.Ops.Locked(acc),
		Expired: acc.MustChange && acc.PasswordExpiresAt != nil && u.now().After(*acc.PasswordExpiresAt)}
}

// AccountsPage is the data of accounts.html.
type AccountsPage struct {
	Page
	Accounts []AccountRow
}

// accounts lists the vendor's accounts (tenant.OpsAccounts.List).
func (u *UI) accounts(c *fiber.Ctx) error {
	list, err := u.deps.Ops.List(c.UserContext())
	if err != nil {
		return err
	}
	p := &AccountsPage{Page: u.Page(c)}
	for i := range list {
		p.Accounts = append(p.Accounts, u.row(&list[i]))
	}
	if err := u.TakeFlash(c, &p.Page); err != nil {
		return err
	}
	return u.Render(c, "accounts", p)
}

// idOf is the account named in the URL; a malformed id is 404.
func idOf(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	return id, nil
}
