package web

import (
	"github.com/gofiber/fiber/v2"
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
