package ui

import (
	"html/template"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// LocationsPage is the data of citizen/locations.html.
type LocationsPage struct {
	BasePage
	Locations []booking.Location
	Party     int
	Changing  bool
}

func (u *UI) citizenLocations(c *fiber.Ctx) error {
	sess := citizenOf(c)
	locs, err := u.deps.Booking.Locations(c.UserContext(), web.TenantOf(c).ID, true)
	if err != nil {
		return err
	}
	if len(locs) == 1 { // one place: skip the question (UX rule 2)
		return c.Redirect("/calendar?location="+locs[0].ID.String(), fiber.StatusSeeOther)
	}
	return u.render(c, "citizen/locations", &LocationsPage{BasePage: u.base(c), Locations: locs,
		Party: len(sess.Cards()), Changing: sess.Changing != uuid.Nil})
}

// CalendarPage is the data of citizen/calendar.html.
type CalendarPage struct {
	BasePage
	Location   *booking.Location
	Month      booking.Date // first of the month
	Weeks      [][]*booking.DayAvailability
	Prev, Next string // "2026-12", "" when outside the booking window
	Party      int
	List       bool
	Days       []booking.DayAvailability
	Today      booking.Date
	// Body is the rendered "calendar-body" block (calendarMemo), set before the page renders.
	Body template.HTML
}

// citizenCalendar shows a month of availability for the party size. With X-Partial it returns
// only the calendar fragment (month navigation without a full reload).
func (u *UI) citizenCalendar(c *fiber.Ctx) error {
	sess := citizenOf(c)
	t := web.TenantOf(c)
	loc, err := u.location(c, c.Query("location"))
	if err != nil {
		return err
	}
	today := booking.DateOf(u.now())
	first := booking.Date{Year: today.Year, Month: today.Month, Day: 1}
	last := today.AddDays(booking.HorizonDays(t))
	month := first
	if m, err := time.Parse("2006-01", c.Query("month")); err == nil {
		month = booking.Date{Year: m.Year(), Month: m.Month(), Day: 1}
	}
	if month.Before(first) || last.Before(month) {
		month = first
	}
	end := booking.DateOf(month.Time(12, 0).AddDate(0, 1, -1))
	days, err := u.deps.Booking.Availability(c.UserContext(), t, loc.ID, month, end, len(sess.Cards()), tenant.Citizen(""))
	if err != nil {
		return err
	}
	p := &CalendarPage{BasePage: u.base(c), Location: loc, Month: month, Party: len(sess.Cards()),
		List: c.Query("view") == "list", Days: days, Today: today}
	p.Weeks = weeks(days)
	if prev := booking.DateOf(month.Time(12, 0).AddDate(0, -1, 0)); !prev.Before(first) {
		p.Prev = prev.Time(12, 0).Format("2006-01")
	}
	if next := booking.DateOf(month.Time(12, 0).AddDate(0, 1, 0)); !last.Before(next) {
		p.Next = next.Time(12, 0).Format("2006-01")
	}
	k := calendarKey{tenant: t.ID, location: loc.ID, month: month, today: today, party: p.Party, list: p.List,
		lang: p.Lang, prev: p.Prev, next: p.Next}
	body, ok := u.calendars.get(k, days)
	if !ok {
		b, err := u.views.Fragment("citizen/calendar", "calendar-body", p)
		if err != nil {
			return err
		}
		body = template.HTML(b) // html/template's own output, escaped as it rendered
		u.calendars.put(k, days, body)
	}
	if c.Get("X-Partial") == "calendar" {
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return c.SendString(string(body))
	}
	p.Body = body
	return u.render(c, "citizen/calendar", p)
}

// weeks lays a month out in rows of Sunday..Saturday; nil cells pad the edges.
func weeks(days []booking.DayAvailability) [][]*booking.DayAvailability {
	var out [][]*booking.DayAvailability
	var row []*booking.DayAvailability
	for i := range days {
		if i == 0 {
			row = make([]*booking.DayAvailability, int(days[0].Day.Weekday()))
		}
		row = append(row, &days[i])
		if len(row) == 7 {
			out, row = append(out, row), nil
		}
	}
	if len(row) > 0 {
		out = append(out, append(row, make([]*booking.DayAvailability, 7-len(row))...))
	}
	return out
}

// location parses a location id from the query and loads it (not_found for another tenant's).
func (u *UI) location(c *fiber.Ctx, raw string) (*booking.Location, error) {
	id, err := uuid.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	l, err := u.deps.Booking.LocationByID(c.UserContext(), web.TenantOf(c).ID, id)
	if err != nil {
		return nil, err
	}
	if !l.Active {
		return nil, tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	return l, nil
}
