package ui

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
)

// routes lists every route of every host, with who may use it.
func (u *UI) routes(app *fiber.App) {
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: u.logPanic}))
	app.Use(u.requestID, u.securityHeaders, u.accessLog, u.bodyLimit)

	// Probes and metrics: any host, no tenant. The ingress must not route /metrics publicly.
	app.Get("/healthz", u.healthz)          // anyone
	app.Get("/readyz", u.readyz)            // anyone
	app.Get("/metrics", u.metricsHandler()) // scraper (cluster network only)
	app.Get("/static/:hash/+", u.static)    // anyone
	app.Get("/favicon.ico", func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) })

	// City hosts: {slug}.{BASE_DOMAIN} or a registered custom domain.
	city := app.Group("/", u.resolveTenant)
	city.Get("/", u.citizenHome)     // citizen (no login)
	city.Get("/lang", u.citizenLang) // citizen (no login)
	u.apiRoutes(city)                // citizen JSON API (ui/api_routes.go)
	u.staffRoutes(city)              // city staff under /admin (ui/staff_routes.go)

	// Citizen pages: a session (anonymous until login) and CSRF on every form; "me" pages need a
	// logged-in card. Middleware is attached per route so unknown paths still fall through to 404.
	web := func(h fiber.Handler) []fiber.Handler { return []fiber.Handler{u.withSession, u.csrfProtect, h} }
	me := func(h fiber.Handler) []fiber.Handler {
		return []fiber.Handler{u.withSession, u.csrfProtect, u.requireCitizen, h}
	}
	flood := floodLimiter(u.deps.LoginPerMinute)                                         // per client IP, shared by the two routes below
	city.Get("/login", web(u.citizenLoginShow)...)                                       // citizen (no login)
	city.Post("/login", append([]fiber.Handler{flood}, web(u.citizenLoginSubmit)...)...) // citizen (no login)
	city.Post("/logout", web(u.citizenLogout)...)                                        // citizen
	city.Get("/menu", me(u.citizenMenu)...)                                              // citizen
	city.Get("/family", me(u.citizenFamilyShow)...)                                      // citizen
	city.Post("/family", append([]fiber.Handler{flood}, me(u.citizenFamilyAdd)...)...)   // citizen (same lockout as login)
	city.Post("/family/remove", me(u.citizenFamilyRemove)...)                            // citizen
	city.Get("/locations", me(u.citizenLocations)...)                                    // citizen
	city.Get("/calendar", me(u.citizenCalendar)...)                                      // citizen
	city.Get("/times", me(u.citizenTimes)...)                                            // citizen
	city.Post("/hold", me(u.citizenHold)...)                                             // citizen
	city.Post("/hold/release", me(u.citizenHoldRelease)...)                              // citizen
	city.Post("/hold/extend", me(u.citizenHoldExtend)...)                                // citizen (WCAG 2.2.1: keep the time longer)
	city.Get("/confirm", me(u.citizenConfirmShow)...)                                    // citizen
	city.Post("/reserve", me(u.citizenReserve)...)                                       // citizen
	city.Get("/done", me(u.citizenDone)...)                                              // citizen
	city.Get("/reservation", me(u.citizenReservation)...)                                // citizen
	city.Get("/reservation/cancel", me(u.citizenReservation)...)                         // citizen (check page)
	city.Post("/reservation/cancel", me(u.citizenCancel)...)                             // citizen
	city.Post("/reservation/change", me(u.citizenChangeStart)...)                        // citizen
	city.Post("/reservation/change/abort", me(u.citizenChangeAbort)...)                  // citizen
}
