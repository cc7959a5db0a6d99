package ui

import (
	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/ui/web"
)

// staffBookingNoShowShow is the check page before recording 「来庁なし」 for a booking whose time
// has started (UX rule 12). Anything else goes back to the booking.
func (u *UI) staffBookingNoShowShow(c *fiber.Ctx) error {
	p, err := u.loadBookingPage(c)
	if err != nil {
		return err
	}
	if !p.CanNoShow {
		return c.Redirect("/admin/bookings/"+p.R.ID.String(), fiber.StatusSeeOther)
	}
	return u.render(c, "staff/bookings_noshow", p)
}

// staffBookingNoShow records that nobody came; the cards are free to be booked again.
func (u *UI) staffBookingNoShow(c *fiber.Ctx) error {
	id, err := bookingParam(c)
	if err != nil {
		return err
	}
	if err := u.deps.Booking.MarkNoShow(c.UserContext(), web.TenantOf(c), id, staffActorOf(c)); err != nil {
		return err
	}
	return u.staffFlashRedirect(c, "behalf.noshow.done", "/admin/bookings/"+id.String())
}
