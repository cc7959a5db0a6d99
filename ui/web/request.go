package web

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
)

// Request helpers: what the middleware put into the request (its id, the tenant it acts for, the
// session its route's guard loaded) and what the request itself says (a bearer token, an API
// path, the visitor's language).

// Keys of the values the middleware keeps in c.Locals.
const (
	localRequestID  = "request_id"  // set by RequestID
	localTenant     = "tenant"      // set by SetTenant
	localSession    = "session"     // set by a console's session guard (SetSession)
	localErrorPages = "error_pages" // set by UseErrorPages
	localRoute      = "route"       // the route pattern a console's app matched (Console)
)

// RequestIDOf is the request's random id (X-Request-Id), shown in logs and error pages.
func RequestIDOf(c *fiber.Ctx) string {
	s, _ := c.Locals(localRequestID).(string)
	return s
}

// SetTenant records the city the request acts for (the city of the host, or the city a
// console's user chose).
func SetTenant(c *fiber.Ctx, t *tenant.Tenant) { c.Locals(localTenant, t) }

// TenantOf is the city the request acts for; nil when there is none (probes, unknown hosts).
func TenantOf(c *fiber.Ctx) *tenant.Tenant {
	t, _ := c.Locals(localTenant).(*tenant.Tenant)
	return t
}

// TenantSlug is the slug of the request's city, or "" when there is none (for logs).
func TenantSlug(c *fiber.Ctx) string {
	if t := TenantOf(c); t != nil {
		return t.Slug
	}
	return ""
}

// Bearer is the token of an "Authorization: Bearer <token>" header, or "".
func Bearer(c *fiber.Ctx) string {
	const p = "Bearer "
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) > len(p) && h[:len(p)] == p {
		return h[len(p):]
	}
	return ""
}

// IsAPI reports whether the request is for the JSON API (/api/...).
func IsAPI(c *fiber.Ctx) bool { return len(c.Path()) >= 5 && c.Path()[:5] == "/api/" }

// LangOf returns "en" when the visitor chose English (cookie), else Japanese.
func LangOf(c *fiber.Ctx) string {
	if c.Cookies("lang") == "en" {
		return "en"
	}
	return "ja"
}

// RandomID returns n random bytes, base64url-encoded.
func RandomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
