package vendor

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// LoginPage is the data of login.html and login_code.html.
type LoginPage struct {
	Page
	LoginID  string
	ErrorKey string
}

// vendorWording replaces the domain's staff messages that send a city's clerk to their 市管理者
// with the vendor's own wording (a locked or expired vendor account is reset by a colleague).
var vendorWording = map[string]string{
	"staff.login.failed":  "ops.login.failed",
	"staff.login.locked":  "ops.login.locked",
	"staff.login.expired": "ops.login.password_expired",
}

func messageKey(key string) string {
	if k, ok := vendorWording[key]; ok {
		return k
	}
	return key
}

func (u *Base) loginShow(c *fiber.Ctx) error {
	return u.Render(c, "login", &LoginPage{Page: u.Page(c)})
}

// loginSubmit checks the password (tenant.OpsAccounts.Authenticate). Right, the session is not
// logged in yet: it moves to a new id and on to the code, or at a first login to the new password
// and the TOTP enrolment.
func (u *Base) loginSubmit(c *fiber.Ctx) error {
	login, pw := strings.Clone(c.FormValue("login_id")), strings.Clone(c.FormValue("password"))
	acc, err := u.Ops.Authenticate(c.UserContext(), login, pw, c.IP())
	if e := tenant.AsError(err); e != nil && (e.Code == tenant.Unauthorized || e.Code == tenant.Throttled) {
		c.Status(web.StatusOf(e.Code))
		return u.Render(c, "login", &LoginPage{Page: u.Page(c), LoginID: login, ErrorKey: messageKey(e.Key)})
	}
	if err != nil {
		return err
	}
	s := SessionOf(c)
	*s = Session{Session: web.Session{ID: s.ID, Scope: s.Scope}, Pending: acc.ID, PendingAt: u.Now()}
	if err := u.Sess.Renew(c, s); err != nil {
		return err
	}
	switch {
	case acc.TOTPEnabled:
		return c.Redirect("/login/code", fiber.StatusSeeOther)
	case acc.MustChange:
		return c.Redirect("/password", fiber.StatusSeeOther)
	}
	return c.Redirect("/mfa", fiber.StatusSeeOther)
}

// loggedIn finishes the login of acc (its code, or its enrolment, was accepted): the session moves
// to a new id and opens the top page.
func (u *Base) loggedIn(c *fiber.Ctx, acc *tenant.OpsAccount) error {
	s := SessionOf(c)
	*s = Session{Session: web.Session{ID: s.ID, Scope: s.Scope}, AccountID: acc.ID, Login: acc.LoginID, AuthAt: u.Now()}
	if err := u.Sess.Renew(c, s); err != nil {
		return err
	}
	return c.Redirect("/", fiber.StatusSeeOther)
}

// loginAgain forgets a login in progress and shows the login form with a message (401).
func (u *Base) loginAgain(c *fiber.Ctx, key string) error {
	s := SessionOf(c)
	if s.Pending != uuid.Nil || s.MFASecret != "" {
		s.Pending, s.MFASecret = uuid.Nil, ""
		if err := u.Sess.Save(c, s); err != nil {
			return err
		}
	}
	c.Status(fiber.StatusUnauthorized)
	return u.Render(c, "login", &LoginPage{Page: u.Page(c), ErrorKey: key})
}

func (u *Base) logout(c *fiber.Ctx) error { return u.signOut(c) }

// signOut ends the session and opens the login form.
func (u *Base) signOut(c *fiber.Ctx) error {
	if err := u.Sess.Destroy(c, SessionOf(c)); err != nil {
		return err
	}
	return c.Redirect("/login", fiber.StatusSeeOther)
}
