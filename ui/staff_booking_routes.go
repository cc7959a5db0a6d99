package ui

import "github.com/gofiber/fiber/v2"

// staffBookingRoutes registers its pages; mw wraps a handler with the session, CSRF and role checks.
func (u *UI) staffBookingRoutes(city fiber.Router, mw func(fiber.Handler) []fiber.Handler) {
	// Bookings: list with filters (GET form), detail, cancel and change on the citizen's behalf.
	city.Get("/admin/bookings", mw(u.staffBookings)...)                                // staff, admin
	city.Get("/admin/bookings/:id", mw(u.staffBookingDetail)...)                       // staff, admin (audited read)
	city.Get("/admin/bookings/:id/cancel", mw(u.staffBookingCancelShow)...)            // staff, admin (check page)
	city.Post("/admin/bookings/:id/cancel", mw(u.staffBookingCancel)...)               // staff, admin
	city.Get("/admin/bookings/:id/change", mw(u.staffBookingChangeShow)...)            // staff, admin (day and time)
	city.Get("/admin/bookings/:id/change/confirm", mw(u.staffBookingChangeConfirm)...) // staff, admin (check page)
	city.Post("/admin/bookings/:id/change", mw(u.staffBookingChange)...)               // staff, admin
	city.Get("/admin/export", mw(u.staffExportShow)...)                                // staff, admin
	city.Get("/admin/export.csv", mw(u.staffExportCSV)...)                             // staff, admin (streamed, audited)
	city.Get("/admin/print/day", mw(u.staffPrintDay)...)                               // staff, admin (A4, audited)
	city.Get("/admin/print/picklist", mw(u.staffPrintPickList)...)                     // staff, admin (A4, audited)
	city.Get("/admin/print/summary", mw(u.staffPrintSummary)...)                       // staff, admin (A4, counts only)
	city.Get("/admin/print/page.css", mw(u.staffPrintPageCSS)...)                      // staff, admin (margin boxes)
}
