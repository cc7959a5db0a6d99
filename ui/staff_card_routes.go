package ui

import "github.com/gofiber/fiber/v2"

// staffCardRoutes registers its pages; mw wraps a handler with the session, CSRF and role checks.
// Cards (交付進捗) are daily work: every staff member and admin may use them. Every read is
// audit-logged by the domain (card.search, card.view), every change too (card.status,
// card.unlock).
func (u *UI) staffCardRoutes(city fiber.Router, mw func(fiber.Handler) []fiber.Handler) {
	city.Get("/admin/cards", mw(u.staffCards)...)                   // staff, admin: search, counts, list
	city.Post("/admin/cards/status", mw(u.staffCardsBulkStatus)...) // staff, admin: bulk change, all or nothing
	city.Get("/admin/cards/:id", mw(u.staffCard)...)                // staff, admin: record, history, booking
	city.Post("/admin/cards/:id/status", mw(u.staffCardStatus)...)  // staff, admin: change one card
	city.Post("/admin/cards/:id/unlock", mw(u.staffCardUnlock)...)  // staff, admin: lift the login lock
}
