package ui

import (
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// staffBookingNewPlace asks where the citizen will collect the cards; with one place it is
// skipped (UX rule 2).
func (u *UI) staffBookingNewPlace(c *fiber.Ctx) error {
	p, err := u.newBookingPage(c, c.Query("cards"))
	if err != nil {
		return err
	}
	if p.Locations, err = u.deps.Booking.Locations(c.UserContext(), web.TenantOf(c).ID, true); err != nil {
		return err
	}
	if len(p.Locations) == 1 {
		return c.Redirect("/admin/bookings/new/calendar?"+url.Values{"cards": {p.CardsParam}, "location": {p.Locations[0].ID.String()}}.Encode(), fiber.StatusSeeOther)
	}
	return u.render(c, "staff/bookings_new_place", p)
}

// newBookingAt loads the cards and the chosen location (another city's, or an inactive one, is
// not found).
func (u *UI) newBookingAt(c *fiber.Ctx, cards, location string) (*NewBookingPage, error) {
	p, err := u.newBookingPage(c, cards)
	if err != nil {
		return nil, err
	}
	if p.Location, err = u.location(c, location); err != nil {
		return nil, err
	}
	locs, err := u.deps.Booking.Locations(c.UserContext(), web.TenantOf(c).ID, true)
	if err != nil {
		return nil, err
	}
	p.OneLoc = len(locs) == 1
	return p, nil
}

// staffBookingNewCalendar shows a month of availability for the party, as citizens see it but
// from today on: staff may book inside the citizens' deadline. Closed and full days are text.
func (u *UI) staffBookingNewCalendar(c *fiber.Ctx) error {
	p, err := u.newBookingAt(c, c.Query("cards"), c.Query("location"))
	if err != nil {
		return err
	}
	first := booking.Date{Year: p.Today.Year, Month: p.Today.Month, Day: 1}
	last := p.Today.AddDays(booking.HorizonDays(web.TenantOf(c)))
	p.Month = first
	if m, err := time.Parse("2006-01", c.Query("month")); err == nil {
		p.Month = booking.Date{Year: m.Year(), Month: m.Month(), Day: 1}
	}
	if p.Month.Before(first) || last.Before(p.Month) {
		p.Month = first
	}
	end := booking.DateOf(p.Month.Time(12, 0).AddDate(0, 1, -1))
	days, err := u.deps.Booking.Availability(c.UserContext(), web.TenantOf(c), p.Location.ID, p.Month, end, p.Party(), staffActorOf(c))
	if err != nil {
		return err
	}
	p.Weeks = weeks(days)
	if prev := booking.DateOf(p.Month.Time(12, 0).AddDate(0, -1, 0)); !prev.Before(first) {
		p.Prev = prev.Time(12, 0).Format("2006-01")
	}
	if next := booking.DateOf(p.Month.Time(12, 0).AddDate(0, 1, 0)); !last.Before(next) {
		p.Next = next.Time(12, 0).Format("2006-01")
	}
	return u.render(c, "staff/bookings_new_calendar", p)
}

// staffBookingNewTimes lists the day's times that have not started; full ones as text.
func (u *UI) staffBookingNewTimes(c *fiber.Ctx) error {
	p, err := u.newBookingAt(c, c.Query("cards"), c.Query("location"))
	if err != nil {
		return err
	}
	d, ok := parseDay(strings.Clone(c.Query("day")))
	if !ok || d == (booking.Date{}) {
		return tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	p.Day = d
	if p.Slots, err = u.deps.Booking.SlotsOn(c.UserContext(), web.TenantOf(c), p.Location.ID, d, staffActorOf(c)); err != nil {
		return err
	}
	if err := u.staffTakeFlash(c, &p.BasePage); err != nil {
		return err
	}
	if c.Query("error") == "slot" {
		p.Errors = map[string]string{"slot": "behalf.slot.required"}
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return u.render(c, "staff/bookings_new_times", p)
}
