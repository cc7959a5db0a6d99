package ui

import (
	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// resolveTenant puts the host's tenant in Locals. An unknown or disabled host, and the reserved
// console hosts until their consoles exist, get a 404 page that names no tenant.
func (u *UI) resolveTenant(c *fiber.Ctx) error {
	kind, t, err := u.deps.Tenants.Resolve(c.UserContext(), c.Hostname())
	if err != nil {
		return err
	}
	if kind != tenant.HostCity {
		return web.ErrUnknownHost
	}
	web.SetTenant(c, t)
	return c.Next()
}
