package ops

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
)

// CityPage is the data of city.html and of the support actions' pages (city_*.html): the city and
// its addresses, and what each action's form was given.
type CityPage struct {
	Page
	City          *tenant.City
	URL           string // the citizens' site
	AdminURL      string // the staff pages
	Value         string // the action's field as typed (a login id, a host name, the mail domains)
	TrainingOn    bool   // the console opens and resets training copies (Deps.Training)
	bookingsChart        // the city page: its bookings per day
}

// slugOf is the city named in the URL.
func slugOf(c *fiber.Ctx) string { return strings.Clone(c.Params("slug")) }

// cityPage loads the city named in the URL (tenant.Service.City; an unknown slug is 404).
func (u *UI) cityPage(c *fiber.Ctx) (*CityPage, error) {
	city, err := u.deps.Cities.City(c.UserContext(), slugOf(c))
	if err != nil {
		return nil, err
	}
	return &CityPage{Page: u.Page(c), City: city, URL: u.cityURL(c, city.Slug, "/"), AdminURL: u.cityURL(c, city.Slug, "/admin"),
		TrainingOn: u.deps.Training != nil}, nil
}

// showCity renders one of the city's pages, with the session's one-time message.
func (u *UI) showCity(c *fiber.Ctx, page string) error {
	p, err := u.cityPage(c)
	if err != nil {
		return err
	}
	if err := u.TakeFlash(c, &p.Page); err != nil {
		return err
	}
	return u.Render(c, page, p)
}

// refuseCity re-renders one of the city's forms with a domain refusal beside its field (422).
func (u *UI) refuseCity(c *fiber.Ctx, page, value string, fields map[string]string) error {
	p, err := u.cityPage(c)
	if err != nil {
		return err
	}
	p.Value = value
	p.Fail(fields)
	return u.RenderForm(c, page, p)
}

// doneCity stores a one-time message and returns to one of the city's pages.
func (u *UI) doneCity(c *fiber.Ctx, flash, sub string) error {
	return u.FlashRedirect(c, flash, "/cities/"+strings.ToLower(strings.TrimSpace(slugOf(c)))+sub)
}

// city is the city's page: its addresses and settings, its bookings per day, and the support
// actions.
func (u *UI) city(c *fiber.Ctx) error {
	p, err := u.cityPage(c)
	if err != nil {
		return err
	}
	if p.bookingsChart, err = u.bookingsChart(c, &p.City.ID, p.City.Name); err != nil {
		return err
	}
	if err := u.TakeFlash(c, &p.Page); err != nil {
		return err
	}
	return u.Render(c, "city", p)
}

// cityStatusShow is the check page before disabling (or enabling again) a city.
func (u *UI) cityStatusShow(c *fiber.Ctx) error { return u.showCity(c, "city_status") }

// cityStatus disables or enables the city (tenant.Service.SetStatus).
func (u *UI) cityStatus(c *fiber.Ctx) error {
	st := tenant.Status(strings.Clone(c.FormValue("status")))
	if err := u.deps.Cities.SetStatus(c.UserContext(), slugOf(c), st, actorOf(c)); err != nil {
		return err
	}
	return u.doneCity(c, "ops.city.status."+string(st), "")
}
