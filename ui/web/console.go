package web

import (
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// A console other than the city's (ops.{BASE_DOMAIN}, callcenter.{BASE_DOMAIN}, status.{BASE_DOMAIN})
// is a Fiber app of its own, so its routes exist on its host only and a path of one console can
// never answer on another's host. The app that serves every host (package ui) runs the shared
// middleware — request id, security headers, access log, body limit — and hands the request to
// the console by host (Console.Serve).

// Console is one host's own Fiber app.
type Console struct {
	App     *fiber.App
	once    sync.Once
	handler fasthttp.RequestHandler
}

// NewConsole returns an empty console app with the outer app's settings (the trusted proxies
// that make c.IP() the client's address, limits, timeouts) and the one error handler with the
// console's error pages. Register its routes on App; Serve answers with it.
func (w *Core) NewConsole(outer *fiber.App, name string, pages ErrorPages) *Console {
	cfg := outer.Config()
	cfg.AppName = name
	cfg.ErrorHandler = func(c *fiber.Ctx, err error) error {
		if unmatched(err) {
			c.Locals(localRoute, "unmatched")
		}
		return w.ErrorHandler(c, err)
	}
	app := fiber.New(cfg)
	app.Use(func(c *fiber.Ctx) error {
		c.Locals(localErrorPages, pages)
		err := c.Next()
		if _, set := c.Locals(localRoute).(string); !set && err == nil {
			c.Locals(localRoute, c.Route().Path)
		}
		return err
	})
	return &Console{App: app}
}

// Serve answers the request with the console's app (on the same connection and request: the
// request id, the client address and the body were read by the outer app).
func (k *Console) Serve(c *fiber.Ctx) error {
	k.once.Do(func() { k.handler = k.App.Handler() })
	k.handler(c.Context())
	return nil
}
