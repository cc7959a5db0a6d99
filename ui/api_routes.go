package ui

import "github.com/gofiber/fiber/v2"

// apiRoutes registers the citizen JSON API under /api/v1 on city hosts (described in
// openapi.json, served at /api/v1/openapi.json). Authentication is only by
// "Authorization: Bearer <token>" from POST /api/v1/session; the session cookie is ignored, so
// there is no ambient credential to forge requests with and no CSRF token to send. Errors are
// JSON from the one error handler.
func (u *UI) apiRoutes(city fiber.Router) {
	v1 := city.Group("/api/v1")
	loginLimit, readLimit := floodLimiter(apiLoginPerMinute), floodLimiter(apiReadPerMinute)
	public := func(h fiber.Handler) []fiber.Handler { return []fiber.Handler{u.apiEdge, readLimit, h} }
	citizen := func(h fiber.Handler) []fiber.Handler { return []fiber.Handler{u.apiEdge, u.apiAuth, h} }

	v1.Get("/openapi.json", u.apiOpenAPI)                                  // anyone
	v1.Post("/session", u.apiEdge, loginLimit, u.apiSessionCreate)         // anyone (login: lockout counters + 30/min per IP)
	v1.Delete("/session", citizen(u.apiSessionDelete)...)                  // citizen (bearer)
	v1.Get("/locations", public(u.apiLocations)...)                        // anyone
	v1.Get("/availability", public(u.apiAvailability)...)                  // anyone (not personal)
	v1.Post("/reservations", citizen(u.apiReservationCreate)...)           // citizen (bearer; family verified like a login)
	v1.Get("/reservations/current", citizen(u.apiReservationCurrent)...)   // citizen (bearer)
	v1.Patch("/reservations/current", citizen(u.apiReservationChange)...)  // citizen (bearer)
	v1.Delete("/reservations/current", citizen(u.apiReservationCancel)...) // citizen (bearer)
}
