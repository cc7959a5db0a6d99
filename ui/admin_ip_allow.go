package ui

import (
	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/ui/web"
)

// IPDeniedPage is the data of staff/ip_denied.html.
type IPDeniedPage struct {
	BasePage
	IP string // the address the request came from, for the city's IT desk
}

// adminIPAllow answers every /admin request from outside the city's allow-list (if it set one)
// with a 403 page that shows no data and no login form. The client address is c.IP(), which
// believes X-Real-IP only from the configured trusted proxies (ui/app.go).
func (u *UI) adminIPAllow(c *fiber.Ctx) error {
	t := web.TenantOf(c)
	ip := c.IP()
	if t == nil || t.Settings.AdminAllowed(ip) {
		return c.Next()
	}
	u.log.Warn("admin refused by allow-list", "request_id", web.RequestIDOf(c), "tenant", t.Slug, "ip", ip, "path", c.Path())
	c.Set(fiber.HeaderCacheControl, "no-store")
	return u.render(c.Status(fiber.StatusForbidden), "staff/ip_denied", &IPDeniedPage{BasePage: u.base(c), IP: ip})
}
