package vendor

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// codePending returns the account waiting for its code, or uuid.Nil when there is none or its
// five minutes are over.
func (u *Base) codePending(c *fiber.Ctx) uuid.UUID {
	s := SessionOf(c)
	if s.LoggedIn() || s.Pending == uuid.Nil || u.Now().Sub(s.PendingAt) > codeLife {
		return uuid.Nil
	}
	return s.Pending
}

func (u *Base) loginCodeShow(c *fiber.Ctx) error {
	if u.codePending(c) == uuid.Nil {
		return u.loginAgain(c, "ops.login.expired")
	}
	return u.Render(c, "login_code", &LoginPage{Page: u.Page(c)})
}

// loginCodeSubmit checks the code (tenant.OpsAccounts.VerifyLoginCode); right, the member is
// logged in under a new session id.
func (u *Base) loginCodeSubmit(c *fiber.Ctx) error {
	id := u.codePending(c)
	if id == uuid.Nil {
		return u.loginAgain(c, "ops.login.expired")
	}
	acc, err := u.Ops.VerifyLoginCode(c.UserContext(), id, strings.Clone(c.FormValue("code")), c.IP())
	if e := tenant.AsError(err); e != nil && e.Key == "staff.login.failed" {
		return u.loginAgain(c, e.Key) // disabled, or TOTP reset meanwhile: start again
	}
	if e := tenant.AsError(err); e != nil && (e.Code == tenant.Unauthorized || e.Code == tenant.Throttled) {
		c.Status(web.StatusOf(e.Code))
		return u.Render(c, "login_code", &LoginPage{Page: u.Page(c), ErrorKey: messageKey(e.Key)})
	}
	if err != nil {
		return err
	}
	return u.loggedIn(c, acc)
}
