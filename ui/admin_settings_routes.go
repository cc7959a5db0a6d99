package ui

import (
	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// adminSettingsRoutes registers the 市管理者's settings, 交付場所 and schedule pages and the in-app
// manuals. staff and admin wrap a handler with the session, CSRF and role checks; the admin
// pages also pass settingsAdminOnly, which rechecks the account's role in the database on every
// request, so a demoted account loses the pages at once.
func (u *UI) adminSettingsRoutes(city fiber.Router, staff, admin func(fiber.Handler) []fiber.Handler) {
	adm := func(h fiber.Handler) []fiber.Handler { return append(admin(u.settingsAdminOnly), h) }
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

// settingsAdminOnly lets only a 市管理者 through; a 職員 gets 403.
func (u *UI) settingsAdminOnly(c *fiber.Ctx) error {
	s := staffOf(c)
	if s == nil {
		return c.Redirect("/admin/login", fiber.StatusSeeOther)
	}
	acc, err := u.deps.Accounts.ByID(c.UserContext(), tenantOf(c), s.StaffID)
	if err != nil {
		return err
	}
	if acc.Role != tenant.RoleAdmin {
		return tenant.Errorf(tenant.Forbidden, "error.forbidden")
	}
	return c.Next()
}

// settingsEditor is the logged-in staff member as the audit log records them.
func settingsEditor(c *fiber.Ctx) booking.Editor {
	return booking.Editor{Login: staffOf(c).StaffLogin, IP: c.IP()}
}

// settingsTakeFlash moves the session's flash message into the page and clears it.
func (u *UI) settingsTakeFlash(c *fiber.Ctx, b *BasePage) error {
	s := staffOf(c)
	if s == nil || s.Flash == "" {
		return nil
	}
	b.Flash, s.Flash = s.Flash, ""
	return u.staff.save(c, s)
}

// settingsRedirect stores a flash message in the staff session and redirects (POST/redirect/GET).
func (u *UI) settingsRedirect(c *fiber.Ctx, to, flash string) error {
	s := staffOf(c)
	s.Flash = flash
	if err := u.staff.save(c, s); err != nil {
		return err
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}
