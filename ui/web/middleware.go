package web

import (
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
)

const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// SecurityHeaders sets the headers every response carries. The Referrer-Policy is same-origin,
// not no-referrer, so same-origin form posts keep their Referer.
//
// TRACE and CONNECT are refused by the router, like every method a path has no route for: no
// app (the city's or a console's) registers them, so Fiber answers 405 with the Allow header of
// the methods the path has (RFC 9110 15.5.6), and a path that exists for no method gets 404.
// Refusing them here, before routing, gave a 405 without Allow.
func SecurityHeaders(c *fiber.Ctx) error {
	h := &c.Response().Header
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	return c.Next()
}

// RequestID gives every request a random id, echoed in X-Request-Id, logs and error pages. An id
// sent by the client is ignored: it could be forged to confuse the logs.
func RequestID(c *fiber.Ctx) error {
	id := RandomID(12)
	c.Locals(localRequestID, id)
	c.Set("X-Request-Id", id)
	return c.Next()
}

// HasControlChars reports whether s holds a character no text field takes: a C0 control other
// than tab, CR and LF, DEL, a C1 control, or bytes that are not UTF-8. Such characters reach
// mail headers, .ics files and CSV exports, and no keyboard types them.
func HasControlChars(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if (r < 0x20 && r != '\t' && r != '\r' && r != '\n') || (r >= 0x7f && r <= 0x9f) {
			return true
		}
	}
	return false
}

// RefuseControlChars refuses (422, error.control_chars) a state-changing form whose fields hold
// control characters (HasControlChars), before the handler changes anything.
func RefuseControlChars(c *fiber.Ctx) error {
	if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
		return c.Next()
	}
	bad := false
	for k, v := range c.Request().PostArgs().All() {
		bad = bad || HasControlChars(string(k)) || HasControlChars(string(v))
	}
	if form, err := c.MultipartForm(); err == nil {
		for k, vs := range form.Value {
			for _, v := range vs {
				bad = bad || HasControlChars(k) || HasControlChars(v)
			}
		}
	}
	if bad {
		return tenant.Errorf(tenant.Invalid, "error.control_chars")
	}
	return c.Next()
}
