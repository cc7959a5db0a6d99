package ui

import (
	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/ui/web"
)

// HomePage is the data of citizen/home.html.
type HomePage struct {
	BasePage
	Locations []booking.Location
}

// citizenHome shows the city's top page with its pickup locations.
func (u *UI) citizenHome(c *fiber.Ctx) error {
	t := web.TenantOf(c)
	locs, err := u.deps.Booking.Locations(c.UserContext(), t.ID, true)
	if err != nil {
		return err
	}
	return u.render(c, "citizen/home", &HomePage{BasePage: u.base(c), Locations: locs})
}
