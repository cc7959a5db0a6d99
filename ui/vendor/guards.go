package vendor

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// Guards: the middleware chain in front of a handler, named for who may use the route; every line
// of a console's routes wraps its handler in one of them. Each chain starts with the console's
// allow-list (AllowList, which the console also runs first for every request, so an unknown path
// from outside the list is refused too), then the console's session (its own cookie, bound to its
// host), the CSRF check of every form and the refusal of control characters in any form field
// (web.RefuseControlChars: 422, nothing changed).

// Open: before (or without) a login: the login form, the code page, logout.
func (u *Base) Open(h fiber.Handler) []fiber.Handler {
	return []fiber.Handler{u.AllowList, u.withSession, u.Core.CSRF, web.RefuseControlChars, h}
}

// Enrol: an account finishing its first login after a correct password (the forced password
// change, the TOTP enrolment), or a logged-in member changing their own password. An account
// that has TOTP and has not given its code in this session never gets here.
func (u *Base) Enrol(h fiber.Handler) []fiber.Handler {
	return []fiber.Handler{u.AllowList, u.withSession, u.Core.CSRF, u.requireEnrolling, web.RefuseControlChars, h}
}

// Member: a logged-in account of one of the console's roles, re-read on every request (ended
// when disabled, sent to the password change or the TOTP enrolment when due; another role is
// refused with a 403: the ops team and the operators each have their own console).
func (u *Base) Member(h ...fiber.Handler) []fiber.Handler {
	return append([]fiber.Handler{u.AllowList, u.withSession, u.Core.CSRF, u.requireMember, web.RefuseControlChars}, h...)
}

// localAllowed marks a request the allow-list let in, so the check runs once per request.
const localAllowed = "vendor_allowed"

// DeniedPage is the data of denied.html.
type DeniedPage struct {
	Page
	IP string // the address the request came from, to give whoever keeps the list
}

// AllowList answers a request from an address outside the console's allow-list with a 403 page
// that names nothing but that address, and logs it. An empty list lets nobody in. The client
// address is c.IP(), which believes X-Real-IP only from the trusted proxies (the outer app's
// settings).
func (u *Base) AllowList(c *fiber.Ctx) error {
	if ok, _ := c.Locals(localAllowed).(bool); ok {
		return c.Next()
	}
	ip := c.IP()
	ok, err := u.Ops.ConsoleAllowed(c.UserContext(), u.cfg.Console, ip)
	if err != nil {
		return err
	}
	if !ok {
		u.Log.Warn("vendor console refused by allow-list", "console", u.cfg.Console, "request_id", web.RequestIDOf(c), "ip", ip, "method", c.Method(), "path", c.Path())
		c.Set(fiber.HeaderCacheControl, "no-store")
		return u.Render(c.Status(fiber.StatusForbidden), "denied", &DeniedPage{Page: u.Page(c), IP: ip})
	}
	c.Locals(localAllowed, true)
	return c.Next()
}

// withSession loads the console's session into the request, starting an anonymous one (stored
// once a page is served, so the login form's CSRF token is bound to it). No authenticated page
// may be cached.
func (u *Base) withSession(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	s, err := u.Sess.Load(c, u.cfg.Host)
	if err != nil {
		return err
	}
	if s == nil {
		s = u.Sess.New(u.cfg.Host)
	}
	web.SetSession(c, s)
	return web.NextThenKeep(c, s, func() error { return u.Sess.Save(c, s) })
}

// localAccount holds the account the guard read for this request.
const localAccount = "vendor_account"

// AccountOf is the logged-in member's account as the guard read it (nil before a login).
func AccountOf(c *fiber.Ctx) *tenant.OpsAccount {
	a, _ := c.Locals(localAccount).(*tenant.OpsAccount)
	return a
}

// current re-reads the session's account; a deleted or disabled one ends the session (nil, nil).
func (u *Base) current(c *fiber.Ctx, id uuid.UUID) (*tenant.OpsAccount, error) {
	acc, err := u.Ops.ByID(c.UserContext(), id)
	if tenant.ErrorCode(err) == tenant.NotFound || (err == nil && acc.Disabled) {
		return nil, u.Sess.Destroy(c, SessionOf(c))
	}
	return acc, err
}

// requireMember lets through only a logged-in, enabled account of the console's roles whose
// password was changed and whose TOTP is enrolled; it re-reads the account on every request.
func (u *Base) requireMember(c *fiber.Ctx) error {
	s := SessionOf(c)
	if !s.LoggedIn() {
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	acc, err := u.current(c, s.AccountID)
	if err != nil {
		return err
	}
	switch {
	case acc == nil:
		return c.Redirect("/login", fiber.StatusSeeOther)
	case !u.member(acc):
		u.Log.Warn("vendor console refused another role", "console", u.cfg.Console, "request_id", web.RequestIDOf(c), "account", acc.LoginID, "role", acc.Role, "path", c.Path())
		return tenant.Errorf(tenant.Forbidden, u.cfg.Refused)
	case acc.MustChange:
		return c.Redirect("/password", fiber.StatusSeeOther)
	case !acc.TOTPEnabled:
		return c.Redirect("/mfa", fiber.StatusSeeOther)
	}
	c.Locals(localAccount, acc)
	return c.Next()
}

// requireEnrolling lets through a logged-in member (re-read: ended when disabled), or an account
// whose password was right within enrolLife and that has no TOTP yet: the first login's steps.
func (u *Base) requireEnrolling(c *fiber.Ctx) error {
	s := SessionOf(c)
	id := s.account()
	if id == uuid.Nil {
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	if !s.LoggedIn() && u.Now().Sub(s.PendingAt) > enrolLife {
		return u.loginAgain(c, "ops.login.expired")
	}
	acc, err := u.current(c, id)
	if err != nil {
		return err
	}
	if acc == nil {
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	if !s.LoggedIn() && acc.TOTPEnabled {
		return c.Redirect("/login/code", fiber.StatusSeeOther) // the code first: a password alone changes nothing
	}
	c.Locals(localAccount, acc)
	return c.Next()
}
