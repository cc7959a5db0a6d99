package ui

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
)

// staffMFARoutes registers the TOTP (認証アプリ) pages: the second login step, a member's own
// enrolment page and the admin's reset for a lost phone. open, staff and adm wrap a handler
// with the session, CSRF and role checks (ui/staff_routes.go).
func (u *UI) staffMFARoutes(city fiber.Router, open, staff, adm func(fiber.Handler) []fiber.Handler) {
	city.Get("/admin/login/code", open(u.staffLoginCodeShow)...)               // anyone whose password was right (5 minutes)
	city.Post("/admin/login/code", open(u.staffLoginCodeSubmit)...)            // same; a wrong code counts toward the lockout
	city.Get("/admin/mfa", staff(u.staffMFAShow)...)                           // staff, admin: enrol, or turn off
	city.Post("/admin/mfa/enable", staff(u.staffMFAEnable)...)                 // staff, admin
	city.Post("/admin/mfa/disable", staff(u.staffMFADisable)...)               // staff, admin: password + code
	city.Post("/admin/accounts/:id/mfa/reset", adm(u.adminAccountMFAReset)...) // admin (not oneself): ends sessions
}

// mfaEnrolmentDue reports whether the city requires TOTP and acc has none yet, on a page other
// than the enrolment page itself: requireStaff then sends the member there first.
func (u *UI) mfaEnrolmentDue(c *fiber.Ctx, acc *tenant.Account) bool {
	t := tenantOf(c)
	return t != nil && t.Settings.TOTPRequired && !acc.TOTPEnabled && !strings.HasPrefix(c.Path(), "/admin/mfa")
}
