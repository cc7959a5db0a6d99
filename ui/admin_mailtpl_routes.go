package ui

import "github.com/gofiber/fiber/v2"

// adminMailTemplateRoutes registers the 市管理者's pages for the wording of the citizen mails
// (spec 3(3)エ・オ・ク②). adm wraps a handler with the session, CSRF and admin-role checks; every
// save and reset is audit-logged by the domain.
func (u *UI) adminMailTemplateRoutes(city fiber.Router, adm func(fiber.Handler) []fiber.Handler) {
	city.Get("/admin/settings/mail", adm(u.adminMailTemplateList)...)                           // admin
	city.Get("/admin/settings/mail/:kind/:lang", adm(u.adminMailTemplateEdit)...)               // admin
	city.Post("/admin/settings/mail/:kind/:lang", adm(u.adminMailTemplateSave)...)              // admin
	city.Post("/admin/settings/mail/:kind/:lang/preview", adm(u.adminMailTemplatePreview)...)   // admin: nothing saved
	city.Get("/admin/settings/mail/:kind/:lang/reset", adm(u.adminMailTemplateResetConfirm)...) // admin
	city.Post("/admin/settings/mail/:kind/:lang/reset", adm(u.adminMailTemplateReset)...)       // admin
}
