package ops

import (
	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/ui/vendor"
)

// AccountPage is the data of account.html: one vendor account and its confirm forms.
type AccountPage struct {
	Page
	Acc  AccountRow
	Self bool // the member's own account: no reset, no disable
}

// account shows one vendor account (tenant.OpsAccounts.ByID; an unknown id is 404).
func (u *UI) account(c *fiber.Ctx) error {
	id, err := idOf(c)
	if err != nil {
		return err
	}
	acc, err := u.deps.Ops.ByID(c.UserContext(), id)
	if err != nil {
		return err
	}
	p := &AccountPage{Page: u.Page(c), Acc: u.row(acc), Self: acc.ID == vendor.AccountOf(c).ID}
	if err := u.TakeFlash(c, &p.Page); err != nil {
		return err
	}
	return u.Render(c, "account", p)
}

// accountReset gives the account a new issued password, unlocked, and with "totp" its TOTP
// enrolled again at the next login (tenant.OpsAccounts.Reset); ends its sessions on this console
// and shows the password once.
func (u *UI) accountReset(c *fiber.Ctx) error {
	id, err := idOf(c)
	if err != nil {
		return err
	}
	totp := c.FormValue("totp") == "1"
	acc, initial, err := u.deps.Ops.Reset(c.UserContext(), id, totp, actorOf(c))
	if err != nil {
		return err
	}
	p := &AccountIssuedPage{Page: u.Page(c), Acc: u.row(acc), Password: initial, TOTP: totp}
	if err := u.EndSessions(c, acc.ID); err != nil {
		// The password is reset: show it. Sessions Redis could not end fail at their next request,
		// which re-reads the account and finds its password must be changed.
		u.Log.Warn("ops sessions not ended after a reset", "account", acc.ID, "err", err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return u.Render(c, "account_issued", p)
}

func (u *UI) accountDisable(c *fiber.Ctx) error { return u.setDisabled(c, true) }
func (u *UI) accountEnable(c *fiber.Ctx) error  { return u.setDisabled(c, false) }

// setDisabled disables (and ends the sessions of) or enables the account
// (tenant.OpsAccounts.SetDisabled).
func (u *UI) setDisabled(c *fiber.Ctx, disabled bool) error {
	id, err := idOf(c)
	if err != nil {
		return err
	}
	if _, err := u.deps.Ops.SetDisabled(c.UserContext(), id, disabled, actorOf(c)); err != nil {
		return err
	}
	flash := "ops.accounts.enabled"
	if disabled {
		flash = "ops.accounts.disabled"
		if err := u.EndSessions(c, id); err != nil {
			// Disabled already; its sessions end at their next request (requireOps re-reads it).
			u.Log.Warn("ops sessions not ended after a disable", "account", id, "err", err)
		}
	}
	return u.FlashRedirect(c, flash, "/accounts/"+id.String())
}
