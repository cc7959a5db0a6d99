package ops

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// Guards: the middleware chain in front of a handler, named for who may use the route; every line
// of routes.go wraps its handler in one of them. Each chain starts with the console's allow-list
// (allowList, which the console also runs first for every request, so an unknown path from outside
// the list is refused too), then the ops session (its own cookie, bound to the ops host) and the
// CSRF check of every form.

// open: before (or without) a login: the login form, the code page, logout.
func (u *UI) open(h fiber.Handler) []fiber.Handler {
	return []fiber.Handler{u.allowList, u.withSession, u.core.CSRF, h}
}

// enrol: an account finishing its first login after a correct password (the forced password
// change, the TOTP enrolment), or a logged-in member changing their own password. An account
// that has TOTP and has not given its code in this session never gets here.
func (u *UI) enrol(h fiber.Handler) []fiber.Handler {
	return []fiber.Handler{u.allowList, u.withSession, u.core.CSRF, u.requireEnrolling, h}
}

// ops: a logged-in member of the ops team, whose account is re-read on every request (ended when
// disabled, sent to the password change or the TOTP enrolment when due; an operator is refused:
// operators use the call-center console).
func (u *UI) ops(h fiber.Handler) []fiber.Handler {
	return []fiber.Handler{u.allowList, u.withSession, u.core.CSRF, u.requireOps, h}
}

// localAllowed marks a request the allow-list let in, so the check runs once per request.
const localAllowed = "ops_allowed"

// DeniedPage is the data of denied.html.
type DeniedPage struct {
	Page
	IP string // the address the request came from, to give whoever keeps the list
}

// allowList answers a request from an address outside the ops console's allow-list with a 403
// page that names nothing but that address, and logs it. An empty list lets nobody in. The client
// address is c.IP(), which believes X-Real-IP only from the trusted proxies (the outer app's
// settings).
func (u *UI) allowList(c *fiber.Ctx) error {
	if ok, _ := c.Locals(localAllowed).(bool); ok {
		return c.Next()
	}
	ip := c.IP()
	ok, err := u.deps.Ops.ConsoleAllowed(c.UserContext(), tenant.ConsoleOps, ip)
	if err != nil {
		return err
	}
	if !ok {
		u.log.Warn("ops console refused by allow-list", "request_id", web.RequestIDOf(c), "ip", ip, "method", c.Method(), "path", c.Path())
		c.Set(fiber.HeaderCacheControl, "no-store")
		return u.render(c.Status(fiber.StatusForbidden), "denied", &DeniedPage{Page: u.page(c), IP: ip})
	}
	c.Locals(localAllowed, true)
	return c.Next()
}

// withSession loads the ops session into the request, starting an anonymous one (saved on a GET,
// so the login form's CSRF token is bound to it). No authenticated page may be cached.
func (u *UI) withSession(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	s, err := u.sess.Load(c, u.scope)
	if err != nil {
		return err
	}
	if s == nil {
		s = u.sess.New(u.scope)
		if c.Method() == fiber.MethodGet {
			if err := u.sess.Save(c, s); err != nil {
				return err
			}
		}
	}
	web.SetSession(c, s)
	return c.Next()
}

// localAccount holds the account requireOps read for this request.
const localAccount = "ops_account"

// accountOf is the logged-in member's account as requireOps read it.
func accountOf(c *fiber.Ctx) *tenant.OpsAccount {
	a, _ := c.Locals(localAccount).(*tenant.OpsAccount)
	return a
}

// actorOf is the logged-in member as the domain's audit logs name them.
func actorOf(c *fiber.Ctx) tenant.Actor {
	a := accountOf(c)
	return tenant.Vendor(a.ID, a.LoginID, c.IP())
}

// current re-reads the session's account; a deleted or disabled one ends the session (nil, nil).
func (u *UI) current(c *fiber.Ctx, id uuid.UUID) (*tenant.OpsAccount, error) {
	acc, err := u.deps.Ops.ByID(c.UserContext(), id)
	if tenant.ErrorCode(err) == tenant.NotFound || (err == nil && acc.Disabled) {
		return nil, u.sess.Destroy(c, sessionOf(c))
	}
	return acc, err
}

// requireOps lets through only a logged-in, enabled account of the ops team whose password was
// changed and whose TOTP is enrolled; it re-reads the account on every request.
func (u *UI) requireOps(c *fiber.Ctx) error {
	s := sessionOf(c)
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
	case acc.Role != tenant.OpsRoleOps:
		u.log.Warn("ops console refused an operator", "request_id", web.RequestIDOf(c), "account", acc.LoginID, "path", c.Path())
		return tenant.Errorf(tenant.Forbidden, "ops.console.operator")
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
func (u *UI) requireEnrolling(c *fiber.Ctx) error {
	s := sessionOf(c)
	id := s.account()
	if id == uuid.Nil {
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	if !s.LoggedIn() && u.now().Sub(s.PendingAt) > enrolLife {
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
