package ui

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// staffBookingNewHold holds the chosen time for the party, as a citizen's choice is held, so
// nobody can take the places while the clerk asks for the e-mail address. A time that filled up
// or started meanwhile sends the clerk back to the day with a notice.
func (u *UI) staffBookingNewHold(c *fiber.Ctx) error {
	p, err := u.newBookingAt(c, c.FormValue("cards"), c.FormValue("location"))
	if err != nil {
		return err
	}
	d, ok := parseDay(strings.Clone(c.FormValue("day")))
	if !ok || d == (booking.Date{}) {
		return tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	back := "/admin/bookings/new/times?" + p.Q() + "&day=" + d.String()
	slotID, err := uuid.Parse(c.FormValue("slot"))
	if err != nil {
		return c.Redirect(back+"&error=slot", fiber.StatusSeeOther)
	}
	release, _ := uuid.Parse(c.FormValue("release"))
	h, err := u.deps.Booking.HoldSlot(c.UserContext(), web.TenantOf(c), slotID, p.Party(), release, staffActorOf(c))
	if e := tenant.AsError(err); e != nil && (e.Key == "slot.full" || e.Key == "slot.closed") {
		return u.staffFlashRedirect(c, "behalf.slot.taken", back)
	}
	if err != nil {
		return err
	}
	return c.Redirect("/admin/bookings/new/confirm?"+url.Values{"cards": {p.CardsParam}, "hold": {h.ID.String()}}.Encode(), fiber.StatusSeeOther)
}

// staffBookingNewRelease gives the held places back: "back" returns to the day's times, anything
// else abandons the booking and returns to an empty first step for the next caller.
func (u *UI) staffBookingNewRelease(c *fiber.Ctx) error {
	p, err := u.newBookingPage(c, c.FormValue("cards"))
	if err != nil {
		return err
	}
	holdID, err := uuid.Parse(c.FormValue("hold"))
	if err != nil {
		return tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	t := web.TenantOf(c)
	back := "/admin/bookings/new/place?" + url.Values{"cards": {p.CardsParam}}.Encode()
	if h, err := u.deps.Booking.HoldByID(c.UserContext(), t, holdID); err == nil {
		if s, err := u.deps.Booking.SlotByID(c.UserContext(), t, h.SlotID); err == nil {
			back = "/admin/bookings/new/times?" + url.Values{"cards": {p.CardsParam}, "location": {s.LocationID.String()},
				"day": {booking.DateFromDB(s.Day).String()}}.Encode()
		}
	}
	if err := u.deps.Booking.ReleaseHold(c.UserContext(), t, holdID); err != nil {
		return err
	}
	if c.FormValue("to") == "back" {
		return c.Redirect(back, fiber.StatusSeeOther)
	}
	return u.staffFlashRedirect(c, "behalf.abandoned", "/admin/bookings/new")
}
