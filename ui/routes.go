package ui

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
)

// routes lists every route of every host, with who may use it.
func (u *UI) routes(app *fiber.App) {
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: u.logPanic}))
	app.Use(u.requestID, u.securityHeaders, u.accessLog)

	// Probes and metrics: any host, no tenant. The ingress must not route /metrics publicly.
	app.Get("/healthz", u.healthz)          // anyone
	app.Get("/readyz", u.readyz)            // anyone
	app.Get("/metrics", u.metricsHandler()) // scraper (cluster network only)
	app.Get("/static/:hash/+", u.static)    // anyone
	app.Get("/favicon.ico", func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) })

	// City hosts: {slug}.{BASE_DOMAIN} or a registered custom domain.
	city := app.Group("/", u.resolveTenant)
	city.Get("/", u.citizenHome) // citizen (no login)
}
