package ui

import (
	"github.com/gofiber/fiber/v2"
)

// healthz answers 200 while the process runs.
func (u *UI) healthz(c *fiber.Ctx) error {
	return c.SendString("ok")
}

// readyz answers 200 when this process can serve requests: its templates loaded (New fails
// otherwise), it listens, and the status page has a snapshot to serve. PostgreSQL and Redis
// being down does not make it fail: their state is in the body ("down") and in the metrics and
// alerts, because a probe failing on them would take every web pod out of the Service at once,
// and with them the status page and the cities' error pages (see README, "Probes").
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
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).JSON(res)
}
