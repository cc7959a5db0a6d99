package callcenter

import (
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/vendor"
)

// Supervisor: a logged-in supervisor (an operator gets a 403).
func (u *UI) Supervisor(h fiber.Handler) []fiber.Handler {
	return u.Member(u.requireSupervisor, h)
}

// City: a logged-in operator or supervisor granted the city the address names (cityScope).
func (u *UI) City(h fiber.Handler) []fiber.Handler {
	return u.Member(u.cityScope, h)
}

func (u *UI) requireSupervisor(c *fiber.Ctx) error {
	if vendor.AccountOf(c).Role != tenant.OpsRoleSupervisor {
		return tenant.Errorf(tenant.Forbidden, "callcenter.supervisor.only")
	}
	return c.Next()
}

// localCity holds the city a request acts for, as cityScope found it.
const localCity = "cc_city"

// cityOf is the city the request acts for (nil outside a city's pages).
func cityOf(c *fiber.Ctx) *tenant.Tenant {
	t, _ := c.Locals(localCity).(*tenant.Tenant)
	return t
}

// cityScope finds the city of the address (404 for none) and lets the request through only when
// the operator is granted it and it is active (tenant.OpsAccounts.CheckGrant, which writes a
// refusal to the city's audit log and the vendor's): a 403 otherwise, whatever the route.
func (u *UI) cityScope(c *fiber.Ctx) error {
	t, err := u.deps.Dir.BySlug(ctx(c), c.Params("slug"))
	if err != nil {
		return err
	}
	if err := u.deps.Ops.CheckGrant(ctx(c), vendor.AccountOf(c).ID, t.ID, c.IP()); err != nil {
		u.Log.Warn("call center refused a city", "account", vendor.AccountOf(c).LoginID, "city", t.Slug, "path", c.Path())
		return err
	}
	c.Locals(localCity, t)
	return c.Next()
}

// decorate puts the city's banner on every page of a city.
func (u *UI) decorate(c *fiber.Ctx, p *Page) {
	if t := cityOf(c); t != nil {
		p.City = &vendor.Banner{Slug: t.Slug, Name: t.Name, Kana: t.NameKana, Colour: t.BannerColor, Training: t.Training()}
	}
}

// maxRecent is how many cities the picker shows first, the latest first.
const maxRecent = 5

// served records that the operator is serving the city now: it goes first among the recent ones.
func (u *UI) served(c *fiber.Ctx, slug string) error {
	s := vendor.SessionOf(c)
	if len(s.Recent) > 0 && s.Recent[0] == slug {
		return nil
	}
	s.Recent = append([]string{slug}, slices.DeleteFunc(s.Recent, func(r string) bool { return r == slug })...)
	s.Recent = s.Recent[:min(len(s.Recent), maxRecent)]
	return u.Sess.Save(c, s)
}

// call is the call in progress for the city of the request, or nil (none, or one of another city).
func call(c *fiber.Ctx) *vendor.Call {
	s, t := vendor.SessionOf(c), cityOf(c)
	if s == nil || t == nil || s.Call == nil || s.Call.Slug != t.Slug || len(s.Call.Cards) == 0 {
		return nil
	}
	return s.Call
}
