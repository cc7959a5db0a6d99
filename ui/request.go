package ui

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
)

// Request helpers: what the middleware put into the request (its id, the host's tenant, the
// session), what the request itself says (a bearer token, an API path), and the one-time flash
// messages of the citizen and staff sessions. The middleware that fills these in is in
// middleware_*.go; the routes that use it are in routes.go.

// Keys of the values the middleware keeps in c.Locals.
const (
	localRequestID = "request_id" // set by requestID (middleware_security.go)
	localTenant    = "tenant"     // set by resolveTenant (middleware_tenant.go)
	localSession   = "session"    // set by withSession/session (citizens) or staffSession (staff)
)

// requestIDOf is the request's random id (X-Request-Id), shown in logs and error pages.
func requestIDOf(c *fiber.Ctx) string {
	s, _ := c.Locals(localRequestID).(string)
	return s
}

// tenantOf is the city of the request's host; nil off a city host (probes, unknown hosts).
func tenantOf(c *fiber.Ctx) *tenant.Tenant {
	t, _ := c.Locals(localTenant).(*tenant.Tenant)
	return t
}

// tenantSlug is the slug of the request's city, or "" off a city host (for logs).
func tenantSlug(c *fiber.Ctx) string {
	if t := tenantOf(c); t != nil {
		return t.Slug
	}
	return ""
}

// sessionOf is the session the route's guard loaded (withSession for citizen pages, staffSession
// for staff pages; see middleware_guards.go): handlers behind a guard read it here rather than
// loading it again. It is nil only on a route without a session guard.
func sessionOf(c *fiber.Ctx) *Session {
	s, _ := c.Locals(localSession).(*Session)
	return s
}

// staffActorOf is the logged-in staff member as the domain and the audit log record them (the
// address is copied out of Fiber's buffer, which is reused after the handler returns).
func staffActorOf(c *fiber.Ctx) tenant.Actor {
	s := sessionOf(c)
	return tenant.Staff(s.StaffID, s.StaffLogin, strings.Clone(c.IP()))
}

// bearer is the token of an "Authorization: Bearer <token>" header, or "".
func bearer(c *fiber.Ctx) string {
	const p = "Bearer "
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) > len(p) && h[:len(p)] == p {
		return h[len(p):]
	}
	return ""
}

// isAPI reports whether the request is for the JSON API (/api/...).
func isAPI(c *fiber.Ctx) bool { return len(c.Path()) >= 5 && c.Path()[:5] == "/api/" }

// flash stores a one-time message key shown on the citizen's next page.
func (u *UI) flash(c *fiber.Ctx, sess *Session, key string) error {
	sess.Flash = key
	return u.sess.save(c, sess)
}

// takeFlash returns and clears the citizen session's flash message key.
func (u *UI) takeFlash(c *fiber.Ctx, sess *Session) (string, error) {
	f := sess.Flash
	if f == "" {
		return "", nil
	}
	sess.Flash = ""
	return f, u.sess.save(c, sess)
}

// staffTakeFlash moves the staff session's one-time message into the page and clears it.
func (u *UI) staffTakeFlash(c *fiber.Ctx, b *BasePage) error {
	s := sessionOf(c)
	if s == nil || s.Flash == "" {
		return nil
	}
	b.Flash, s.Flash = s.Flash, ""
	return u.staffSess.save(c, s)
}

// staffSetFlash stores a one-time message for the staff member's next page.
func (u *UI) staffSetFlash(c *fiber.Ctx, key string) error {
	s := sessionOf(c)
	s.Flash = key
	return u.staffSess.save(c, s)
}

// staffFlashRedirect stores a one-time message and redirects (POST/redirect/GET).
func (u *UI) staffFlashRedirect(c *fiber.Ctx, key, to string) error {
	if err := u.staffSetFlash(c, key); err != nil {
		return err
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}
