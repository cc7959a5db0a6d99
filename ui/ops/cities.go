package ops

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
)

// citiesShown is how many cities the list shows at once; a search narrows it.
const citiesShown = 200

// CitiesPage is the data of cities.html.
type CitiesPage struct {
	Page
	Q      string // the search as typed
	Cities []tenant.City
	Total  int // how many match in all (the list shows at most citiesShown)
}

// cities lists the cities, or those matching the search (tenant.Service.Cities).
func (u *UI) cities(c *fiber.Ctx) error {
	q := strings.Clone(c.Query("q"))
	list, total, err := u.deps.Cities.Cities(c.UserContext(), q, citiesShown)
	if err != nil {
		return err
	}
	p := &CitiesPage{Page: u.Page(c), Q: q, Cities: list, Total: total}
	if err := u.TakeFlash(c, &p.Page); err != nil {
		return err
	}
	return u.Render(c, "cities", p)
}

// cityURL is the address of path on a city's own host, as the member's browser reaches this
// console: https unless cookies are not secure (local use), and the port of this request.
func (u *UI) cityURL(c *fiber.Ctx, slug, path string) string {
	scheme := "https"
	if !u.deps.SecureCookies {
		scheme = "http"
	}
	host := slug + "." + u.deps.BaseDomain
	if _, port, ok := strings.Cut(string(c.Request().Host()), ":"); ok && port != "" && strings.Trim(port, "0123456789") == "" {
		host += ":" + port // the Host header's: only digits are taken from it
	}
	return scheme + "://" + host + path
}
