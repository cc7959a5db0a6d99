package ui

import (
	"github.com/gofiber/fiber/v2"
)

// healthz answers 200 while the process runs.
func (u *UI) healthz(c *fiber.Ctx) error {
	return c.SendString("ok")
}

// draining reports whether the process drains before its shutdown (Deps.Draining).
func (u *UI) draining() bool { return u.deps.Draining != nil && u.deps.Draining() }

// closeWhileDraining closes each connection after its response once the process drains, so a
// proxy's kept-alive connections end with an answered request instead of a reset at shutdown.
func (u *UI) closeWhileDraining(c *fiber.Ctx) error {
	if u.draining() {
		c.Context().SetConnectionClose()
	}
	return c.Next()
}

// readyz answers 200 when this process can serve requests: its templates loaded (New fails
// otherwise), it listens, it does not drain (503 "draining" after SIGTERM), and the status page
// has a snapshot to serve. PostgreSQL and Redis being down does not make it fail: their state
// is in the body ("down") and in the metrics and alerts, because a probe failing on them would
// take every web pod out of the Service at once, and with them the status page and the cities'
// error pages (see README, "Probes").
func (u *UI) readyz(c *fiber.Ctx) error {
	res := map[string]string{}
	status := fiber.StatusOK
	for name, err := range u.ready(c.UserContext()) {
		res[name] = "ok"
		if err != nil {
			res[name] = "down"
		}
	}
	if u.status != nil {
		res["status_snapshot"] = "ok"
		if u.status.Snapshot() == nil {
			res["status_snapshot"] = "missing"
			status = fiber.StatusServiceUnavailable
		}
	}
	if u.draining() {
		res["status"] = "draining"
		status = fiber.StatusServiceUnavailable
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).JSON(res)
}
