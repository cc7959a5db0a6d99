package ops

import (
	"github.com/gofiber/fiber/v2"
)

// routes registers every route of the ops host. Each line names who may use it by its guard
// (guards.go); every guard starts with the console's IP allow-list, the ops session and CSRF:
//
//	open   anyone from an allowed address: logging in and out
//	enrol  an account finishing its first login (new password, TOTP enrolment), or a logged-in
//	       member changing their own password
//	ops    a logged-in member of the ops team (password changed, TOTP enrolled); operators: 403
//
// A literal segment ("new") is registered before the ":slug" or ":id" that would also match it.
// Every change is made by one domain method, which writes it to the vendor's log and, when it
// touches a city, to that city's own audit log as the vendor.
func (u *UI) routes(app *fiber.App) {
	// Every request, unknown paths included: from outside the allow-list, a 403 page and nothing else.
	app.Use(u.allowList)

	// Logging in: the password, then the code; at the first login, a new password and the TOTP
	// enrolment instead of the code.
	app.Get("/login", u.open(u.loginShow)...)             // anyone (allowed address)
	app.Post("/login", u.open(u.loginSubmit)...)          // anyone; wrong passwords count toward the account's lockout
	app.Get("/login/code", u.open(u.loginCodeShow)...)    // an account whose password was right (5 minutes)
	app.Post("/login/code", u.open(u.loginCodeSubmit)...) // same; a wrong code counts toward the lockout
	app.Post("/logout", u.open(u.logout)...)              // anyone (ends the ops session it has)
	app.Get("/password", u.enrol(u.passwordShow)...)      // first login (forced), or oneself
	app.Post("/password", u.enrol(u.passwordSubmit)...)   // same; needs the current password
	app.Get("/mfa", u.enrol(u.mfaShow)...)                // first login: TOTP enrolment (QR code, key)
	app.Post("/mfa", u.enrol(u.mfaEnable)...)             // same; a right code finishes the login

	// The top page and the manual.
	app.Get("/", u.ops(u.home)...)     // ops
	app.Get("/help", u.ops(u.help)...) // ops: 運用マニュアル

	// Cities: the list, onboarding, one city and the support actions, each behind a check page
	// or a confirm form. Onboarding and resets show a one-time password once (no-store).
	app.Get("/cities", u.ops(u.cities)...)                                     // ops: list and search
	app.Get("/cities/new", u.ops(u.cityNew)...)                                // ops: onboarding form
	app.Post("/cities", u.ops(u.cityCreate)...)                                // ops: onboard; the admin's initial password, once
	app.Get("/cities/:slug", u.ops(u.city)...)                                 // ops: one city, its support actions
	app.Get("/cities/:slug/status", u.ops(u.cityStatusShow)...)                // ops: check page (disable / enable)
	app.Post("/cities/:slug/status", u.ops(u.cityStatus)...)                   // ops: disable / enable
	app.Get("/cities/:slug/admin-reset", u.ops(u.cityAdminResetShow)...)       // ops: confirm form (which 市管理者)
	app.Post("/cities/:slug/admin-reset", u.ops(u.cityAdminReset)...)          // ops: new initial password, once; ends its sessions
	app.Get("/cities/:slug/domains", u.ops(u.cityDomains)...)                  // ops: custom domains, add form
	app.Post("/cities/:slug/domains", u.ops(u.cityDomainAdd)...)               // ops: add one
	app.Get("/cities/:slug/domains/remove", u.ops(u.cityDomainRemoveShow)...)  // ops: check page
	app.Post("/cities/:slug/domains/remove", u.ops(u.cityDomainRemove)...)     // ops: remove one
	app.Get("/cities/:slug/allow-list", u.ops(u.cityAllowListShow)...)         // ops: check page (the city's /admin list)
	app.Post("/cities/:slug/allow-list/clear", u.ops(u.cityAllowListClear)...) // ops: clear it
	app.Get("/cities/:slug/mail-domains", u.ops(u.cityMailDomainsShow)...)     // ops: form
	app.Post("/cities/:slug/mail-domains", u.ops(u.cityMailDomainsSave)...)    // ops: replace the list

	// The vendor's accounts (ops team and call-center operators) and the operators' cities.
	app.Get("/accounts", u.ops(u.accounts)...)                         // ops: list
	app.Get("/accounts/new", u.ops(u.accountNew)...)                   // ops: form
	app.Post("/accounts", u.ops(u.accountCreate)...)                   // ops: create; the initial password, once
	app.Get("/accounts/:id", u.ops(u.account)...)                      // ops: one account, its confirm forms
	app.Post("/accounts/:id/reset", u.ops(u.accountReset)...)          // ops (not oneself): new initial password, once; ends its sessions
	app.Post("/accounts/:id/disable", u.ops(u.accountDisable)...)      // ops (not oneself): ends its sessions
	app.Post("/accounts/:id/enable", u.ops(u.accountEnable)...)        // ops (not oneself)
	app.Get("/accounts/:id/grants", u.ops(u.accountGrants)...)         // ops: an operator's cities
	app.Post("/accounts/:id/grants", u.ops(u.accountGrant)...)         // ops: grant one
	app.Post("/accounts/:id/grants/revoke", u.ops(u.accountRevoke)...) // ops: revoke one

	// The escalation chain's pages (outage paging): the list, one page with its timeline,
	// acknowledge (stops the calls) and resolve by hand (all-clear to the contacts notified).
	app.Get("/pages", u.ops(u.pagesList)...)                // ops: newest first
	app.Get("/pages/:id", u.ops(u.pageShow)...)             // ops: one page, its timeline
	app.Post("/pages/:id/ack", u.ops(u.pageAck)...)         // ops: acknowledge
	app.Post("/pages/:id/resolve", u.ops(u.pageResolve)...) // ops: resolve by hand

	// The consoles' IP allow-lists (this console's and the call center's).
	app.Get("/allow-list", u.ops(u.allowPage)...)              // ops: both lists, add form
	app.Post("/allow-list", u.ops(u.allowAdd)...)              // ops: add a network
	app.Get("/allow-list/remove", u.ops(u.allowRemoveShow)...) // ops: check page
	app.Post("/allow-list/remove", u.ops(u.allowRemove)...)    // ops: not the last entry covering oneself
}
