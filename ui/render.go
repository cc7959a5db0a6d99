package ui

import (
	"embed"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/ui/web"
)

//go:embed templates
var templatesFS embed.FS

// BasePage is embedded in every page's data of the city console: the shared page data, who is
// logged in, and the city.
type BasePage struct {
	web.Page
	LoggedIn   bool   // a citizen's card is logged in
	StaffRole  string // "admin" or "staff" on /admin pages
	CityName   string
	TenantSlug string
	Training   bool     // the city is a training copy (研修用): every page says so
	Notices    []Notice // the city's planned maintenance, announced and not ended (notice.go)
}

// render executes a city page (web.Views.Render: a template error never sends half a page).
func (u *UI) render(c *fiber.Ctx, page string, data any) error {
	return u.views.Render(c, page, data)
}

// base fills the common page data from the request.
func (u *UI) base(c *fiber.Ctx) BasePage {
	b := BasePage{Page: u.core.Page(c)}
	if s := citizenOf(c); s != nil {
		b.LoggedIn = s.LoggedIn()
	}
	if s := staffOf(c); s != nil {
		b.StaffRole = s.StaffRole
	}
	if t := web.TenantOf(c); t != nil {
		b.CityName, b.TenantSlug, b.Training = t.Name, t.Slug, t.Training()
		b.Notices = u.noticesOf(c)
	}
	return b
}

// ErrorPage is the data of errors/error.html.
type ErrorPage struct {
	BasePage
	web.ErrorPage
}

// RenderError renders the city console's error page (web.ErrorPages).
func (u *UI) RenderError(c *fiber.Ctx, p web.ErrorPage) error {
	return u.render(c, "errors/error", &ErrorPage{BasePage: u.base(c), ErrorPage: p})
}
