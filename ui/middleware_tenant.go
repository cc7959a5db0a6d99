package ui

import (
	"strings"

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

// trainingDownloads names every file a training city's staff download "kensyu_…" (研修用), so a
// practice CSV or print-out is never taken for the city's own: after the handler, the file name
// of an attachment gets the prefix, in both its plain and its UTF-8 form.
func trainingDownloads(c *fiber.Ctx) error {
	err := c.Next()
	if t := web.TenantOf(c); t == nil || !t.Training() {
		return err
	}
	if cd := string(c.Response().Header.Peek(fiber.HeaderContentDisposition)); strings.HasPrefix(cd, "attachment") {
		cd = strings.Replace(cd, `filename="`, `filename="`+trainingFilePrefix, 1)
		cd = strings.Replace(cd, `filename*=UTF-8''`, `filename*=UTF-8''`+trainingFilePrefix, 1)
		c.Set(fiber.HeaderContentDisposition, cd)
	}
	return err
}

// trainingFilePrefix starts the name of every file a training city's staff download.
const trainingFilePrefix = "kensyu_"
