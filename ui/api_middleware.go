package ui

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// apiEdge shapes the errors of API handlers for clients: a field-level validation error takes
// the code and message of its main field, a 401 names the Bearer scheme (RFC 6750), and a login
// lock carries the real wait in Retry-After.
func (u *UI) apiEdge(c *fiber.Ctx) error {
	err := c.Next()
	e := tenant.AsError(err)
	if e == nil {
		return err
	}
	switch e.Code {
	case tenant.Invalid:
		return apiPromoteField(e)
	case tenant.Unauthorized:
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="madoguchi"`)
	case tenant.Throttled:
		if m, ok := e.Args["minutes"].(int); ok && m > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(m*60))
		}
	}
	return err
}

// apiAuth lets through only a request whose Authorization: Bearer token is a logged-in session
// of this host's tenant. The session cookie is ignored on the API: a browser sends it on its own
// (an ambient credential), so honouring it would let another site ride it; a bearer token must
// be added by the client's code. Each authenticated request renews the session's idle timeout.
func (u *UI) apiAuth(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	if web.Bearer(c) == "" {
		return tenant.Errorf(tenant.Unauthorized, "error.unauthorized")
	}
	c.Request().Header.DelCookie(u.sess.CookieName())
	sess, err := u.session(c)
	if err != nil {
		return err
	}
	if !sess.LoggedIn() {
		return tenant.Errorf(tenant.Unauthorized, "error.unauthorized")
	}
	if err := u.sess.Touch(c, sess); err != nil {
		return err
	}
	return c.Next()
}

// apiNoCookie removes a session cookie that the sessions store set on this response: API
// clients get their token in the body, never as a cookie.
func (u *UI) apiNoCookie(c *fiber.Ctx) {
	c.Response().Header.DelCookie(u.sess.CookieName())
}
