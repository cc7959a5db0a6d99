package ui

import "github.com/gofiber/fiber/v2"

// staffBookingNewRoutes registers booking on a citizen's behalf and the 「来庁なし」 mark; mw wraps a handler with the
// session, CSRF and role checks. Registered before /admin/bookings/:id so "new" is not an id.
func (u *UI) staffBookingNewRoutes(city fiber.Router, mw func(fiber.Handler) []fiber.Handler) {
	city.Get("/admin/bookings/new", mw(u.staffBookingNewShow)...)              // staff, admin (card numbers)
	city.Post("/admin/bookings/new", mw(u.staffBookingNewCards)...)            // staff, admin (audited lookup)
	city.Get("/admin/bookings/new/place", mw(u.staffBookingNewPlace)...)       // staff, admin
	city.Get("/admin/bookings/new/calendar", mw(u.staffBookingNewCalendar)...) // staff, admin
	city.Get("/admin/bookings/new/times", mw(u.staffBookingNewTimes)...)       // staff, admin
	city.Post("/admin/bookings/new/hold", mw(u.staffBookingNewHold)...)        // staff, admin
	city.Post("/admin/bookings/new/release", mw(u.staffBookingNewRelease)...)  // staff, admin
	city.Get("/admin/bookings/new/confirm", mw(u.staffBookingNewConfirm)...)   // staff, admin (check page)
	city.Post("/admin/bookings/new/reserve", mw(u.staffBookingNewReserve)...)  // staff, admin (audited)
	city.Get("/admin/bookings/:id/no-show", mw(u.staffBookingNoShowShow)...)   // staff, admin (check page)
	city.Post("/admin/bookings/:id/no-show", mw(u.staffBookingNoShow)...)      // staff, admin (audited)
}
