package callcenter

import (
	"github.com/gofiber/fiber/v2"
)

// routes registers every route of the call-center host. Each line names who may use it by its
// guard; every guard starts with the console's IP allow-list, the console's session and CSRF:
//
//	Open, Enrol  logging in and out, the first login's steps, the password (package vendor)
//	Member       a logged-in operator or supervisor (password changed, TOTP enrolled); the ops
//	             team: 403
//	Supervisor   a logged-in supervisor
//	City         a logged-in operator or supervisor granted the city named in the address, an
//	             active city; anyone else: 403, written to the city's audit log
//
// Every page of a city has its slug in the address; the call in progress (the checked cards)
// belongs to one city and is never read by another city's pages.
func (u *UI) routes(app *fiber.App) {
	// Every request, unknown paths included: from outside the allow-list, a 403 page and nothing else.
	app.Use(u.AllowList)
	u.SignInRoutes(app)

	app.Get("/", u.Member(u.cities)...)                   // Member: pick the caller's city (search; recent first)
	app.Get("/help", u.Member(u.help)...)                 // Member: the operator manual
	app.Get("/supervisor", u.Supervisor(u.supervisor)...) // Supervisor: calls handled today per operator and city

	app.Get("/c/:slug", u.City(u.cityHome)...)             // City: check a caller; the call in progress
	app.Post("/c/:slug/verify", u.City(u.verify)...)       // City: check a caller's card and birthday
	app.Post("/c/:slug/family", u.City(u.family)...)       // City: check a family member's card (same call)
	app.Post("/c/:slug/end", u.City(u.endCall)...)         // City: end the call (forget the checked cards)
	app.Get("/c/:slug/caller", u.City(u.caller)...)        // City: the checked caller's card, booking, family
	app.Get("/c/:slug/board", u.City(u.board)...)          // City: every place's times for two weeks, live
	app.Get("/c/:slug/board/live", u.City(u.boardLive)...) // City: the board's updates (Server-Sent Events)
	app.Get("/c/:slug/book", u.City(u.bookShow)...)        // City: confirm a time for the call (holds it)
	app.Post("/c/:slug/book", u.City(u.bookSubmit)...)     // City: book, or move the caller's booking
	app.Get("/c/:slug/done/:id", u.City(u.done)...)        // City: the read-back script of a booking (the read is logged)
	app.Get("/c/:slug/cancel", u.City(u.cancelShow)...)    // City: confirm the cancellation
	app.Post("/c/:slug/cancel", u.City(u.cancelSubmit)...) // City: cancel the caller's booking
}
