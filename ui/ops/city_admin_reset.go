package ops

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/vendor"
	"github.com/madoguchi/madoguchi/ui/web"
)

// cityAdminResetShow is the confirm form: which 市管理者 to give a new initial password.
func (u *UI) cityAdminResetShow(c *fiber.Ctx) error { return u.showCity(c, "city_admin_reset") }

// CityAdminIssuedPage is the data of city_admin_issued.html: the new initial password, once.
type CityAdminIssuedPage struct {
	CityPage
	Account  *tenant.Account
	Password string
	Ended    int  // sessions of the account that were ended
	EndError bool // they could not be ended now; they expire by themselves
}

// cityAdminReset gives a city's administrator a new initial password, unlocked
// (tenant.Service.AdminReset), ends the account's sessions and shows the password once.
func (u *UI) cityAdminReset(c *fiber.Ctx) error {
	// The city is read first: once the password is reset, nothing may fail before it is shown.
	cp, err := u.cityPage(c)
	if err != nil {
		return err
	}
	login := strings.Clone(c.FormValue("login_id"))
	acc, initial, err := u.deps.Cities.AdminReset(c.UserContext(), cp.City.Slug, login, actorOf(c))
	if f := vendor.FormError(err); f != nil {
		cp.Value = login
		cp.Fail(f)
		return u.RenderForm(c, "city_admin_reset", cp)
	}
	if err != nil {
		return err
	}
	p := &CityAdminIssuedPage{CityPage: *cp, Account: acc, Password: initial}
	if u.deps.EndStaffSessions != nil {
		// The password is reset already; sessions Redis could not end now expire by themselves.
		n, err := u.deps.EndStaffSessions(c.UserContext(), acc.TenantID, acc.ID)
		if err != nil {
			u.Log.Warn("staff sessions not ended after an admin reset", "request_id", web.RequestIDOf(c), "account", acc.ID, "err", err)
		}
		p.Ended, p.EndError = n, err != nil
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return u.Render(c, "city_admin_issued", p)
}
