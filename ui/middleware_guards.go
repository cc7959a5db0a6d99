package ui

import (
	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/ui/web"
)

// Guards: the middleware chain in front of a handler, named for who may use the route. Every line
// of routes.go wraps its handler in one of them, so the line says who may use it. Middleware is
// attached per route (not with Use), so an unknown path still falls through to the 404 page.

// public: anyone, no session and no CSRF (probes, static files, the city's home page, the API
// description).
func public(h fiber.Handler) []fiber.Handler { return []fiber.Handler{h} }

// limited puts a per-client-IP flood limiter (middleware_flood.go) in front of a chain.
func limited(flood fiber.Handler, chain []fiber.Handler) []fiber.Handler {
	return append([]fiber.Handler{flood}, chain...)
}

// visitor: a citizen page that needs no login. It has a session (anonymous until login, so its
// forms carry a CSRF token bound to it) and CSRF on every form.
func (u *UI) visitor(h fiber.Handler) []fiber.Handler {
	return []fiber.Handler{u.withSession, u.core.CSRF, h}
}

// citizen: a logged-in card (a visitor page that also needs the login); others go to /login.
func (u *UI) citizen(h fiber.Handler) []fiber.Handler {
	return []fiber.Handler{u.withSession, u.core.CSRF, u.requireCitizen, h}
}

// open: a staff page before (or without) a login: the login form, the TOTP code, logout. It has
// the staff session and CSRF, but no account check.
func (u *UI) open(h fiber.Handler) []fiber.Handler {
	return []fiber.Handler{u.staffSession, u.core.CSRF, h}
}

// staff: any logged-in, enabled staff account, of either role (職員 or 市管理者). A form with
// control characters in any field is refused (web.RefuseControlChars) before the handler. requireStaff
// re-reads the account on every request, so a disabled or demoted account loses the page at
// once, and sends it to the password or TOTP enrolment page first when that is due.
func (u *UI) staff(h fiber.Handler) []fiber.Handler {
	return []fiber.Handler{u.staffSession, u.core.CSRF, u.requireStaff, web.RefuseControlChars, h}
}

// admin: the city's administrators (市管理者) only; a staff check first, then the role.
func (u *UI) admin(h fiber.Handler) []fiber.Handler {
	return []fiber.Handler{u.staffSession, u.core.CSRF, u.requireStaff, u.requireAdmin, web.RefuseControlChars, h}
}

// apiOpen: the JSON API without a token, behind a flood limiter and the city's waiting room
// (429 with Retry-After when it is full). apiEdge shapes the errors for API clients. There is no
// session and no CSRF: the API honours no cookie.
func (u *UI) apiOpen(flood, h fiber.Handler) []fiber.Handler {
	return []fiber.Handler{u.apiEdge, flood, u.waitingRoom, h}
}

// apiCitizen: the JSON API for a logged-in card, by "Authorization: Bearer <token>" only (the
// session cookie is ignored, so there is no ambient credential to forge requests with and no
// CSRF token to send). The city's waiting room comes before the token is looked up.
func (u *UI) apiCitizen(h fiber.Handler) []fiber.Handler {
	return []fiber.Handler{u.apiEdge, u.waitingRoom, u.apiAuth, h}
}

// The ops console's guards (ops.{BASE_DOMAIN}) are in ui/ops/guards.go; the operator guard
// (callcenter.{BASE_DOMAIN}) comes with its console: see the comment on the hosts in routes.go.
