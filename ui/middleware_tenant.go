package ui

import (
	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// resolveTenant sorts requests by host: a city host gets its tenant in Locals and the city
// routes; a console host (ops., callcenter., status.) is answered by that console's own app; an
// unknown or disabled host, and a console host whose console is not built, get a 404 page that
// names no tenant.
func (u *UI) resolveTenant(c *fiber.Ctx) error {
	kind, t, err := u.deps.Tenants.Resolve(c.UserContext(), c.Hostname())
	if err != nil {
		return err
	}
	if kind == tenant.HostCity {
		web.SetTenant(c, t)
		return c.Next()
	}
	if k := u.consoles[kind]; k != nil {
		return k.Serve(c)
	}
	return web.ErrUnknownHost
}
