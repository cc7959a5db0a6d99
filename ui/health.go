package ui

import (
	"github.com/gofiber/fiber/v2"
)

// healthz answers 200 while the process runs.
func (u *UI) healthz(c *fiber.Ctx) error {
	return c.SendString("ok")
}

// readyz answers 200 when PostgreSQL and Redis both answer, else 503 naming what is down.
func (u *UI) readyz(c *fiber.Ctx) error {
	res := map[string]string{}
	status := fiber.StatusOK
	for name, err := range u.ready(c.UserContext()) {
		res[name] = "ok"
		if err != nil {
			res[name] = "down"
			status = fiber.StatusServiceUnavailable
		}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).JSON(res)
}
