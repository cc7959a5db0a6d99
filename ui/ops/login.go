package ops

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
	"staff.login.locked":  "ops.login.locked",
	"staff.login.expired": "ops.login.password_expired",
}

func messageKey(key string) string {
	if k, ok := vendorWording[key]; ok {
		return k
	}
	return key
}

func (u *UI) loginShow(c *fiber.Ctx) error {
	return u.render(c, "login", &LoginPage{Page: u.page(c)})
}

// loginSubmit checks the password (tenant.OpsAccounts.Authenticate). Right, the session is not
// logged in yet: it moves to a new id and on to the code, or at a first login to the new password
// and the TOTP enrolment.
func (u *UI) loginSubmit(c *fiber.Ctx) error {
	login, pw := strings.Clone(c.FormValue("login_id")), strings.Clone(c.FormValue("password"))
	acc, err := u.deps.Ops.Authenticate(c.UserContext(), login, pw, c.IP())
	if e := tenant.AsError(err); e != nil && (e.Code == tenant.Unauthorized || e.Code == tenant.Throttled) {
		c.Status(web.StatusOf(e.Code))
		return u.render(c, "login", &LoginPage{Page: u.page(c), LoginID: login, ErrorKey: messageKey(e.Key)})
	}
	if err != nil {
		return err
	}
	s := sessionOf(c)
	*s = Session{Session: web.Session{ID: s.ID, Scope: s.Scope}, Pending: acc.ID, PendingAt: u.now()}
	if err := u.sess.Renew(c, s); err != nil {
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
func (u *UI) loggedIn(c *fiber.Ctx, acc *tenant.OpsAccount) error {
	s := sessionOf(c)
	*s = Session{Session: web.Session{ID: s.ID, Scope: s.Scope}, AccountID: acc.ID, Login: acc.LoginID, AuthAt: u.now()}
	if err := u.sess.Renew(c, s); err != nil {
		return err
	}
	return c.Redirect("/", fiber.StatusSeeOther)
}

// loginAgain forgets a login in progress and shows the login form with a message (401).
func (u *UI) loginAgain(c *fiber.Ctx, key string) error {
	s := sessionOf(c)
	if s.Pending != uuid.Nil || s.MFASecret != "" {
		s.Pending, s.MFASecret = uuid.Nil, ""
		if err := u.sess.Save(c, s); err != nil {
			return err
		}
	}
	c.Status(fiber.StatusUnauthorized)
	return u.render(c, "login", &LoginPage{Page: u.page(c), ErrorKey: key})
}

func (u *UI) logout(c *fiber.Ctx) error { return u.signOut(c) }

// signOut ends the session and opens the login form.
func (u *UI) signOut(c *fiber.Ctx) error {
	if err := u.sess.Destroy(c, sessionOf(c)); err != nil {
		return err
	}
	return c.Redirect("/login", fiber.StatusSeeOther)
}
