package ops

import (
	"github.com/gofiber/fiber/v2"
)

// cityAllowListShow is the check page before clearing the city's /admin IP allow-list: the
// entries that would go.
func (u *UI) cityAllowListShow(c *fiber.Ctx) error { return u.showCity(c, "city_allow_list") }

// cityAllowListClear removes the list (tenant.Service.ClearAdminAllowList), for a city whose
// admins locked themselves out.
func (u *UI) cityAllowListClear(c *fiber.Ctx) error {
	removed, err := u.deps.Cities.ClearAdminAllowList(c.UserContext(), slugOf(c), actorOf(c))
	if err != nil {
		return err
	}
	if len(removed) == 0 {
		return u.doneCity(c, "ops.city_allow.none", "")
	}
	return u.doneCity(c, "ops.city_allow.cleared", "")
}
