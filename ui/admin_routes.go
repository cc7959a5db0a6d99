package ui

import "github.com/gofiber/fiber/v2"

// adminRoutes registers its pages; mw wraps a handler with the session, CSRF and role checks.
// Everything here is for the city's admins (市管理者) only: staff accounts and the audit log.
// Every change and every export is audit-logged; no password is ever logged.
func (u *UI) adminRoutes(city fiber.Router, mw func(fiber.Handler) []fiber.Handler) {
	city.Get("/admin/accounts", mw(u.adminAccounts)...)                    // admin: list
	city.Get("/admin/accounts/new", mw(u.adminAccountNew)...)              // admin: create form
	city.Post("/admin/accounts", mw(u.adminAccountCreate)...)              // admin: create, shows the initial password once
	city.Get("/admin/accounts/:id", mw(u.adminAccount)...)                 // admin: one account and its actions
	city.Post("/admin/accounts/:id/reset", mw(u.adminAccountReset)...)     // admin: new initial password, shown once; ends sessions
	city.Post("/admin/accounts/:id/unlock", mw(u.adminAccountUnlock)...)   // admin: clear failures and lock
	city.Post("/admin/accounts/:id/disable", mw(u.adminAccountDisable)...) // admin (not oneself): ends sessions
	city.Post("/admin/accounts/:id/enable", mw(u.adminAccountEnable)...)   // admin (not oneself)
	city.Post("/admin/accounts/:id/role", mw(u.adminAccountRole)...)       // admin (not oneself): ends sessions
	city.Get("/admin/audit", mw(u.adminAudit)...)                          // admin: filtered, paginated
	city.Post("/admin/audit/export", mw(u.adminAuditExport)...)            // admin: CSV, itself audit-logged
}
