package ui

import (
	"github.com/gofiber/fiber/v2"
)

// adminSettingsRoutes registers the 市管理者's settings, 交付場所 and schedule pages and the in-app
// manuals. staff and admin wrap a handler with the session, CSRF and role checks (requireStaff
// re-reads the account's role on every request, so a demoted account loses the pages at once).
func (u *UI) adminSettingsRoutes(city fiber.Router, staff, adm func(fiber.Handler) []fiber.Handler) {
	city.Get("/admin/settings", adm(u.adminSettingsShow)...)                                     // admin
	city.Post("/admin/settings", adm(u.adminSettingsSave)...)                                    // admin
	city.Get("/admin/locations", adm(u.adminLocationsList)...)                                   // admin
	city.Get("/admin/locations/new", adm(u.adminLocationNew)...)                                 // admin
	city.Post("/admin/locations", adm(u.adminLocationCreate)...)                                 // admin
	city.Get("/admin/locations/:id/edit", adm(u.adminLocationEdit)...)                           // admin
	city.Post("/admin/locations/:id/edit", adm(u.adminLocationUpdate)...)                        // admin
	city.Get("/admin/locations/:id/schedule", adm(u.adminScheduleShow)...)                       // admin
	city.Post("/admin/locations/:id/schedule", adm(u.adminScheduleSaveWeekly)...)                // admin
	city.Post("/admin/locations/:id/overrides", adm(u.adminScheduleAddOverride)...)              // admin
	city.Get("/admin/locations/:id/overrides/:oid/delete", adm(u.adminScheduleDeleteConfirm)...) // admin
	city.Post("/admin/locations/:id/overrides/:oid/delete", adm(u.adminScheduleDeleteOverride)...)
	city.Get("/admin/help", staff(u.helpManual)...)                // staff, admin
	city.Get("/admin/help/operations", staff(u.helpOperations)...) // staff, admin
}
