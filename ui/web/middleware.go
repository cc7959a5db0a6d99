package web

import (
	"github.com/gofiber/fiber/v2"
)

const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// SecurityHeaders sets the headers every response carries and refuses TRACE and CONNECT. The
// Referrer-Policy is same-origin, not no-referrer, so same-origin form posts keep their Referer.
func SecurityHeaders(c *fiber.Ctx) error {
	h := &c.Response().Header
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if c.Method() == fiber.MethodTrace || c.Method() == fiber.MethodConnect {
		return fiber.ErrMethodNotAllowed
	}
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
