package ops

import (
	"github.com/gofiber/fiber/v2"
)

// routes registers every route of the ops host. Each line names who may use it by its guard
// (package vendor); every guard starts with the console's IP allow-list, the ops session and CSRF:
//
//	Open    anyone from an allowed address: logging in and out
//	Enrol   an account finishing its first login (new password, TOTP enrolment), or a logged-in
//	        member changing their own password
//	Member  a logged-in member of the ops team (password changed, TOTP enrolled); operators: 403
//
// A literal segment ("new") is registered before the ":slug" or ":id" that would also match it.
// Every change is made by one domain method, which writes it to the vendor's log and, when it
// touches a city, to that city's own audit log as the vendor.
func (u *UI) routes(app *fiber.App) {
	// Every request, unknown paths included: from outside the allow-list, a 403 page and nothing else.
	app.Use(u.AllowList)

	// Logging in (the password, then the code; at the first login, a new password and the TOTP
	// enrolment instead of the code), the password change and logging out: package vendor.
	u.SignInRoutes(app)

	// The top page and the manual.
	app.Get("/", u.Member(u.home)...)     // ops
	app.Get("/help", u.Member(u.help)...) // ops: 運用マニュアル

	// Cities: the list, onboarding, one city and the support actions, each behind a check page
	// or a confirm form. Onboarding and resets show a one-time password once (no-store).
	app.Get("/cities", u.Member(u.cities)...)                                     // ops: list and search
	app.Get("/cities/new", u.Member(u.cityNew)...)                                // ops: onboarding form
	app.Post("/cities", u.Member(u.cityCreate)...)                                // ops: onboard; the admin's initial password, once
	app.Get("/cities/:slug", u.Member(u.city)...)                                 // ops: one city, its support actions
	app.Get("/cities/:slug/status", u.Member(u.cityStatusShow)...)                // ops: check page (disable / enable)
	app.Post("/cities/:slug/status", u.Member(u.cityStatus)...)                   // ops: disable / enable
	app.Get("/cities/:slug/admin-reset", u.Member(u.cityAdminResetShow)...)       // ops: confirm form (which 市管理者)
	app.Post("/cities/:slug/admin-reset", u.Member(u.cityAdminReset)...)          // ops: new initial password, once; ends its sessions
	app.Get("/cities/:slug/domains", u.Member(u.cityDomains)...)                  // ops: custom domains, add form
	app.Post("/cities/:slug/domains", u.Member(u.cityDomainAdd)...)               // ops: add one
	app.Get("/cities/:slug/domains/remove", u.Member(u.cityDomainRemoveShow)...)  // ops: check page
	app.Post("/cities/:slug/domains/remove", u.Member(u.cityDomainRemove)...)     // ops: remove one
	app.Get("/cities/:slug/allow-list", u.Member(u.cityAllowListShow)...)         // ops: check page (the city's /admin list)
	app.Post("/cities/:slug/allow-list/clear", u.Member(u.cityAllowListClear)...) // ops: clear it
	app.Get("/cities/:slug/mail-domains", u.Member(u.cityMailDomainsShow)...)     // ops: form
	app.Post("/cities/:slug/mail-domains", u.Member(u.cityMailDomainsSave)...)    // ops: replace the list
	if u.deps.Training != nil {
		// The city's training copy (研修用): open it (its admin's initial password, once), and
		// put a training city back to its fresh state now, as the nightly job does.
		app.Get("/cities/:slug/training", u.Member(u.cityTrainingShow)...)            // ops: check page
		app.Post("/cities/:slug/training", u.Member(u.cityTrainingCreate)...)         // ops: open it; the admin's initial password, once
		app.Get("/cities/:slug/training/reset", u.Member(u.cityTrainingResetShow)...) // ops: check page (a training city)
		app.Post("/cities/:slug/training/reset", u.Member(u.cityTrainingReset)...)    // ops: reset now
	}

	// The vendor's accounts (ops team and call-center operators) and the operators' cities.
	app.Get("/accounts", u.Member(u.accounts)...)                         // ops: list
	app.Get("/accounts/new", u.Member(u.accountNew)...)                   // ops: form
	app.Post("/accounts", u.Member(u.accountCreate)...)                   // ops: create; the initial password, once
	app.Get("/accounts/:id", u.Member(u.account)...)                      // ops: one account, its confirm forms
	app.Post("/accounts/:id/reset", u.Member(u.accountReset)...)          // ops (not oneself): new initial password, once; ends its sessions
	app.Post("/accounts/:id/disable", u.Member(u.accountDisable)...)      // ops (not oneself): ends its sessions
	app.Post("/accounts/:id/enable", u.Member(u.accountEnable)...)        // ops (not oneself)
	app.Get("/accounts/:id/grants", u.Member(u.accountGrants)...)         // ops: an operator's cities
	app.Post("/accounts/:id/grants", u.Member(u.accountGrant)...)         // ops: grant one
	app.Post("/accounts/:id/grants/revoke", u.Member(u.accountRevoke)...) // ops: revoke one

	// The escalation chain's pages (outage paging): the list, one page with its timeline,
	// acknowledge (stops the calls) and resolve by hand (all-clear to the contacts notified).
	app.Get("/pages", u.Member(u.pagesList)...)                // ops: newest first
	app.Get("/pages/:id", u.Member(u.pageShow)...)             // ops: one page, its timeline
	app.Post("/pages/:id/ack", u.Member(u.pageAck)...)         // ops: acknowledge
	app.Post("/pages/:id/resolve", u.Member(u.pageResolve)...) // ops: resolve by hand

	// The consoles' IP allow-lists (this console's and the call center's).
	app.Get("/allow-list", u.Member(u.allowPage)...)              // ops: both lists, add form
	app.Post("/allow-list", u.Member(u.allowAdd)...)              // ops: add a network
	app.Get("/allow-list/remove", u.Member(u.allowRemoveShow)...) // ops: check page
	app.Post("/allow-list/remove", u.Member(u.allowRemove)...)    // ops: not the last entry covering oneself

	// The status page (status.{BASE_DOMAIN}): incidents and planned maintenance (status.go).
	if u.deps.Status != nil {
		app.Get("/status", u.Member(u.statusList)...)                                // ops: incidents and maintenance
		app.Get("/status/incidents/new", u.Member(u.incidentNew)...)                 // ops: form
		app.Post("/status/incidents", u.Member(u.incidentCreate)...)                 // ops: post an incident with its first update
		app.Get("/status/incidents/:id", u.Member(u.incident)...)                    // ops: timeline, update form
		app.Post("/status/incidents/:id", u.Member(u.incidentUpdate)...)             // ops: post an update (or resolve)
		app.Get("/status/maintenance/new", u.Member(u.maintenanceNew)...)            // ops: form
		app.Post("/status/maintenance", u.Member(u.maintenanceCreate)...)            // ops: schedule (30 days' notice)
		app.Get("/status/maintenance/:id", u.Member(u.maintenance)...)               // ops: edit form, cancel button
		app.Post("/status/maintenance/:id", u.Member(u.maintenanceEdit)...)          // ops: edit
		app.Post("/status/maintenance/:id/cancel", u.Member(u.maintenanceCancel)...) // ops: cancel
	}
}
