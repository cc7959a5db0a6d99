package ui

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// mfaPendingLife is how long the code page waits after a correct password.
const mfaPendingLife = 5 * time.Minute

// StaffLoginCodePage is the data of staff/login_code.html.
type StaffLoginCodePage struct {
	BasePage
	ErrorKey string
}

// staffMFAPending remembers that acc's password was right and asks for the code. The session
// stays anonymous (no StaffID) until the code is right.
func (u *UI) staffMFAPending(c *fiber.Ctx, acc *tenant.Account) error {
	s := staffOf(c)
	s.MFAPending, s.MFAPendingAt = acc.ID, u.now()
	if err := u.staffSess.Save(c, s); err != nil {
		return err
	}
	return c.Redirect("/admin/login/code", fiber.StatusSeeOther)
}

// mfaPendingOf returns the account waiting for its code, or uuid.Nil (and forgets it) when there
// is none or its five minutes are over.
func (u *UI) mfaPendingOf(c *fiber.Ctx) (uuid.UUID, error) {
	s := staffOf(c)
	if s.MFAPending == uuid.Nil || u.now().Sub(s.MFAPendingAt) <= mfaPendingLife {
		return s.MFAPending, nil
	}
	s.MFAPending, s.MFAPendingAt = uuid.Nil, time.Time{}
	return uuid.Nil, u.staffSess.Save(c, s)
}

// staffLoginAgain shows the login form with a message (the code step expired or was refused).
func (u *UI) staffLoginAgain(c *fiber.Ctx, key string) error {
	c.Status(fiber.StatusUnauthorized)
	return u.render(c, "staff/login", &StaffLoginPage{BasePage: u.base(c), ErrorKey: key})
}

func (u *UI) staffLoginCodeShow(c *fiber.Ctx) error {
	id, err := u.mfaPendingOf(c)
	if err != nil {
		return err
	}
	if id == uuid.Nil {
		return u.staffLoginAgain(c, "mfa.login.expired")
	}
	return u.render(c, "staff/login_code", &StaffLoginCodePage{BasePage: u.base(c)})
}

// staffLoginCodeSubmit checks the code; right, the member is logged in under a new session id.
func (u *UI) staffLoginCodeSubmit(c *fiber.Ctx) error {
	id, err := u.mfaPendingOf(c)
	if err != nil {
		return err
	}
	if id == uuid.Nil {
		return u.staffLoginAgain(c, "mfa.login.expired")
	}
	acc, err := u.deps.Accounts.VerifyLoginCode(c.UserContext(), web.TenantOf(c), id, strings.Clone(c.FormValue("code")), c.IP())
	if e := tenant.AsError(err); e != nil && e.Key == "staff.login.failed" {
		return u.staffLoginAgain(c, e.Key) // disabled, or TOTP reset meanwhile: start again
	}
	if e := tenant.AsError(err); e != nil && (e.Code == tenant.Unauthorized || e.Code == tenant.Throttled) {
		c.Status(web.StatusOf(e.Code))
		return u.render(c, "staff/login_code", &StaffLoginCodePage{BasePage: u.base(c), ErrorKey: e.Key})
	}
	if err != nil {
		return err
	}
	return u.staffLoggedIn(c, acc)
}
