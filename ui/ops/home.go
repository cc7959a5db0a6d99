package ops

import (
	"github.com/gofiber/fiber/v2"
)

// HomePage is the data of home.html: the top page, which links the console's pages.
//
// The fleet at a glance (per city: today's bookings and visits, fill rate, mail backlog, import
// jobs, login locks) is being built on another branch; its figures will be this page's own data
// and its section takes the place marked "fleet-overview" in home.html.
type HomePage struct {
	Page
}

func (u *UI) home(c *fiber.Ctx) error {
	p := &HomePage{Page: u.page(c)}
	if err := u.takeFlash(c, &p.Page); err != nil {
		return err
	}
	return u.render(c, "home", p)
}
