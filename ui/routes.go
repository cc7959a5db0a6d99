package ui

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/madoguchi/madoguchi/ui/web"
)

// routes registers every route of every host. Each line names who may use it by its guard
// (ui/middleware_guards.go):
//
//	public      anyone; no session
//	visitor     a citizen before login: session and CSRF
//	citizen     a logged-in card: session, CSRF, login
//	open        staff before login: staff session and CSRF
//	staff       a logged-in staff member of either role
//	admin       the city's administrators (市管理者) only
//	apiOpen     the JSON API without a token, behind a flood limiter
//	apiCitizen  the JSON API with a citizen's bearer token
//
// limited(flood, …) puts a per-client-IP flood limiter in front of a chain, and queued(…) the
// city's waiting room (ui/middleware_waiting.go; the API guards include it). Registration order
// matters where two patterns match the same path: a literal segment ("new", "profile") is
// registered before the ":id" that would also match it.
// Flood limits per client IP and process (web.FloodLimiter). They are coarse, like any per-process
// limiter behind several replicas; login guessing is stopped by the guard's counters in Redis, not
// by these. They are set high enough for a mobile carrier's shared address (CGNAT) in a rush, and
// are not applied to the staff login: a city's LGWAN egress is one address for every clerk. The
// citizen login's limit is configuration (MADOGUCHI_CITIZEN_LOGIN_PER_MINUTE, Deps.LoginPerMinute).
const (
	apiLoginPerMinute = 30  // POST /api/v1/session, and (counted apart) POST /api/v1/reservations with family members, whatever the result
	apiReadPerMinute  = 300 // the public reads (locations, availability)
)

func (u *UI) routes(app *fiber.App) {
	// Every request, any host: panic recovery, Connection: close while the process drains,
	// request id, security headers, access log and metrics, and the 1 MiB body limit (the card
	// CSV upload excepted; ui/middleware_body.go).
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: u.core.LogPanic}))
	app.Use(u.closeWhileDraining, web.RequestID, web.SecurityHeaders, u.core.AccessLog, u.bodyLimit)

	// Probes: any host, no tenant. /metrics is not here: the internal listener (ui/probe) serves
	// it, with the probes Kubernetes uses, on its own address.
	app.Get("/healthz", public(u.healthz)...)                  // anyone
	app.Get("/readyz", public(u.readyz)...)                    // anyone
	app.Get("/static/:hash/+", public(u.core.Assets.Serve)...) // anyone
	app.Get("/favicon.ico", public(func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) })...)

	// Console hosts are answered by their own apps, which resolveTenant below hands the request
	// to (each lists its routes with their guards in its own routes.go):
	//   ops.{BASE_DOMAIN}:        the vendor's ops team (ui/ops/routes.go), guards open/enrol/ops
	// Consoles still to come (until then resolveTenant answers 404 on their hosts):
	//   callcenter.{BASE_DOMAIN}: the call center, guard operator()

	// City hosts: {slug}.{BASE_DOMAIN} or a registered custom domain. Everything below has the
	// host's tenant; any other host gets the 404 page.
	city := app.Group("/", u.resolveTenant, web.UseErrorPages(u))
	u.citizenRoutes(city)
	u.apiRoutes(city)
	u.staffRoutes(city)
	u.adminRoutes(city)
}

// citizenRoutes registers the citizens' booking pages of a city host.
func (u *UI) citizenRoutes(city fiber.Router) {
	// Citizens (web): the home page and language switch need no session; the booking pages have a
	// session (anonymous until login) and CSRF on every form, and all but login need a logged-in
	// card. One flood limiter per client IP guards the two posts that verify a card (login,
	// adding a family member). In a rush the booking pages, the login form (the door to them)
	// included, pass the city's waiting room; the home page, the language switch and logout
	// never queue.
	login := web.FloodLimiter(u.deps.LoginPerMinute)
	city.Get("/", public(u.citizenHome)...)                                              // citizen (no login)
	city.Get("/lang", public(u.citizenLang)...)                                          // citizen (no login)
	city.Get("/login", u.queued(u.visitor(u.citizenLoginShow))...)                       // citizen (no login)
	city.Post("/login", limited(login, u.queued(u.visitor(u.citizenLoginSubmit)))...)    // citizen (no login)
	city.Post("/logout", u.visitor(u.citizenLogout)...)                                  // citizen
	city.Get("/menu", u.queued(u.citizen(u.citizenMenu))...)                             // citizen
	city.Get("/family", u.queued(u.citizen(u.citizenFamilyShow))...)                     // citizen
	city.Post("/family", limited(login, u.queued(u.citizen(u.citizenFamilyAdd)))...)     // citizen (same lockout as login)
	city.Post("/family/remove", u.queued(u.citizen(u.citizenFamilyRemove))...)           // citizen
	city.Get("/locations", u.queued(u.citizen(u.citizenLocations))...)                   // citizen
	city.Get("/calendar", u.queued(u.citizen(u.citizenCalendar))...)                     // citizen
	city.Get("/times", u.queued(u.citizen(u.citizenTimes))...)                           // citizen
	city.Post("/hold", u.queued(u.citizen(u.citizenHold))...)                            // citizen
	city.Post("/hold/release", u.queued(u.citizen(u.citizenHoldRelease))...)             // citizen
	city.Post("/hold/extend", u.queued(u.citizen(u.citizenHoldExtend))...)               // citizen (WCAG 2.2.1: keep the time longer)
	city.Get("/confirm", u.queued(u.citizen(u.citizenConfirmShow))...)                   // citizen
	city.Post("/reserve", u.queued(u.citizen(u.citizenReserve))...)                      // citizen
	city.Get("/done", u.queued(u.citizen(u.citizenDone))...)                             // citizen
	city.Get("/reservation", u.queued(u.citizen(u.citizenReservation))...)               // citizen
	city.Get("/reservation/cancel", u.queued(u.citizen(u.citizenReservation))...)        // citizen (check page)
	city.Post("/reservation/cancel", u.queued(u.citizen(u.citizenCancel))...)            // citizen
	city.Post("/reservation/change", u.queued(u.citizen(u.citizenChangeStart))...)       // citizen
	city.Post("/reservation/change/abort", u.queued(u.citizen(u.citizenChangeAbort))...) // citizen
}

// apiRoutes registers the citizens' JSON API of a city host.
func (u *UI) apiRoutes(city fiber.Router) {
	// Citizens (JSON API) under /api/v1, described in openapi.json. Authentication is only by
	// "Authorization: Bearer <token>" from POST /api/v1/session; the session cookie is ignored, so
	// there is no ambient credential to forge requests with and no CSRF token to send. Errors are
	// JSON from the one error handler. Every operation but the description passes the city's
	// waiting room (in the apiOpen and apiCitizen guards): when it is full, 429 with Retry-After.
	u.apiFamily = web.NewFlood(apiLoginPerMinute)
	apiLogin, apiRead := web.FloodLimiter(apiLoginPerMinute), web.FloodLimiter(apiReadPerMinute)
	v1 := city.Group("/api/v1")
	v1.Get("/openapi.json", public(u.apiOpenAPI)...)                            // anyone
	v1.Post("/session", u.apiOpen(apiLogin, u.apiSessionCreate)...)             // anyone (login: lockout counters + 30/min per IP)
	v1.Delete("/session", u.apiCitizen(u.apiSessionDelete)...)                  // citizen (bearer)
	v1.Get("/locations", u.apiOpen(apiRead, u.apiLocations)...)                 // anyone
	v1.Get("/availability", u.apiOpen(apiRead, u.apiAvailability)...)           // anyone (not personal)
	v1.Post("/reservations", u.apiCitizen(u.apiReservationCreate)...)           // citizen (bearer; family verified like a login, with its flood limit)
	v1.Get("/reservations/current", u.apiCitizen(u.apiReservationCurrent)...)   // citizen (bearer)
	v1.Patch("/reservations/current", u.apiCitizen(u.apiReservationChange)...)  // citizen (bearer)
	v1.Delete("/reservations/current", u.apiCitizen(u.apiReservationCancel)...) // citizen (bearer)
}

// staffRoutes registers the pages of every staff member under /admin of a city host.
func (u *UI) staffRoutes(city fiber.Router) {
	// City staff under /admin (reached over LGWAN). Every /admin request, the login included,
	// must come from the city's allow-list if it set one (ui/admin_ip_allow.go).
	city.Use("/admin", u.adminIPAllow)
	// A training city's downloads (CSV, the handover archive) are named 研修用 (kensyu_…).
	city.Use("/admin", trainingDownloads)

	// Staff: logging in and out, and one's own password and TOTP (認証アプリ).
	city.Get("/admin/login", u.open(u.staffLoginShow)...)             // anyone
	city.Post("/admin/login", u.open(u.staffLoginSubmit)...)          // anyone (throttled per account)
	city.Get("/admin/login/code", u.open(u.staffLoginCodeShow)...)    // anyone whose password was right (5 minutes)
	city.Post("/admin/login/code", u.open(u.staffLoginCodeSubmit)...) // same; a wrong code counts toward the lockout
	city.Post("/admin/logout", u.open(u.staffLogout)...)              // anyone (ends the staff session it has)
	city.Get("/admin/password", u.staff(u.staffPasswordShow)...)      // staff, admin (also when a change is forced)
	city.Post("/admin/password", u.staff(u.staffPasswordSubmit)...)   // staff, admin
	city.Get("/admin/mfa", u.staff(u.staffMFAShow)...)                // staff, admin: enrol, or turn off
	city.Post("/admin/mfa/enable", u.staff(u.staffMFAEnable)...)      // staff, admin
	city.Post("/admin/mfa/disable", u.staff(u.staffMFADisable)...)    // staff, admin: password + code

	// Staff: the counter's daily work, for every staff member and admin.
	city.Get("/admin", u.staff(u.staffDashboard)...)                    // staff, admin
	city.Get("/admin/live/dashboard", u.staff(u.staffDashboardLive)...) // staff, admin (SSE; ends with the session)
	city.Get("/admin/checkin", u.staff(u.staffCheckinShow)...)          // staff, admin
	city.Post("/admin/checkin", u.staff(u.staffCheckinScan)...)         // staff, admin
	city.Post("/admin/checkin/issue", u.staff(u.staffCheckinIssue)...)  // staff, admin

	// Staff: booking on a citizen's behalf and the 「来庁なし」 mark ("new" before /admin/bookings/:id).
	city.Get("/admin/bookings/new", u.staff(u.staffBookingNewShow)...)              // staff, admin (card numbers)
	city.Post("/admin/bookings/new", u.staff(u.staffBookingNewCards)...)            // staff, admin (audited lookup)
	city.Get("/admin/bookings/new/place", u.staff(u.staffBookingNewPlace)...)       // staff, admin
	city.Get("/admin/bookings/new/calendar", u.staff(u.staffBookingNewCalendar)...) // staff, admin
	city.Get("/admin/bookings/new/times", u.staff(u.staffBookingNewTimes)...)       // staff, admin
	city.Post("/admin/bookings/new/hold", u.staff(u.staffBookingNewHold)...)        // staff, admin
	city.Post("/admin/bookings/new/release", u.staff(u.staffBookingNewRelease)...)  // staff, admin
	city.Get("/admin/bookings/new/confirm", u.staff(u.staffBookingNewConfirm)...)   // staff, admin (check page)
	city.Post("/admin/bookings/new/reserve", u.staff(u.staffBookingNewReserve)...)  // staff, admin (audited)
	city.Get("/admin/bookings/:id/no-show", u.staff(u.staffBookingNoShowShow)...)   // staff, admin (check page)
	city.Post("/admin/bookings/:id/no-show", u.staff(u.staffBookingNoShow)...)      // staff, admin (audited)

	// Staff: bookings (list with filters as a GET form, detail, cancel and change on the citizen's
	// behalf), exports and print views.
	city.Get("/admin/bookings", u.staff(u.staffBookings)...)                                // staff, admin
	city.Get("/admin/live/bookings", u.staff(u.staffBookingsLive)...)                       // staff, admin (SSE, audited reads; ends with the session)
	city.Get("/admin/bookings/:id", u.staff(u.staffBookingDetail)...)                       // staff, admin (audited read)
	city.Get("/admin/bookings/:id/cancel", u.staff(u.staffBookingCancelShow)...)            // staff, admin (check page)
	city.Post("/admin/bookings/:id/cancel", u.staff(u.staffBookingCancel)...)               // staff, admin
	city.Get("/admin/bookings/:id/change", u.staff(u.staffBookingChangeShow)...)            // staff, admin (day and time)
	city.Get("/admin/bookings/:id/change/confirm", u.staff(u.staffBookingChangeConfirm)...) // staff, admin (check page)
	city.Post("/admin/bookings/:id/change", u.staff(u.staffBookingChange)...)               // staff, admin
	city.Get("/admin/export", u.staff(u.staffExportShow)...)                                // staff, admin
	city.Get("/admin/export.csv", u.staff(u.staffExportCSV)...)                             // staff, admin (streamed, audited)
	city.Get("/admin/print/day", u.staff(u.staffPrintDay)...)                               // staff, admin (A4, audited)
	city.Get("/admin/print/picklist", u.staff(u.staffPrintPickList)...)                     // staff, admin (A4, audited)
	city.Get("/admin/print/summary", u.staff(u.staffPrintSummary)...)                       // staff, admin (A4, counts only)
	city.Get("/admin/print/page.css", u.staff(u.staffPrintPageCSS)...)                      // staff, admin (margin boxes)
	city.Get("/admin/reports", u.staff(u.staffReport)...)                                   // staff, admin: the monthly report (counts only)
	city.Get("/admin/reports.csv", u.staff(u.staffReportCSV)...)                            // staff, admin (audited)
	city.Get("/admin/reports/print", u.staff(u.staffReportPrint)...)                        // staff, admin (A4, with the chart)

	// Staff: cards (交付進捗). Every read is audit-logged by the domain (card.search, card.view),
	// every change too (card.status, card.unlock).
	city.Get("/admin/cards", u.staff(u.staffCards)...)                   // staff, admin: search, counts, list
	city.Post("/admin/cards/status", u.staff(u.staffCardsBulkStatus)...) // staff, admin: bulk change, all or nothing
	city.Get("/admin/cards/new", u.staff(u.staffCardNewShow)...)         // staff, admin: one card, checked as an import row
	city.Post("/admin/cards/new", u.staff(u.staffCardNew)...)            // staff, admin (audited)
	city.Get("/admin/cards.csv", u.staff(u.staffCardsCSV)...)            // staff, admin: the filtered list (streamed, audited)
	city.Get("/admin/cards/print", u.staff(u.staffCardsPrint)...)        // staff, admin: the filtered list on A4 (audited)
	city.Get("/admin/cards/change", u.staff(u.staffCardsChangeShow)...)  // staff, admin: check page (count only)
	city.Post("/admin/cards/change", u.staff(u.staffCardsChange)...)     // staff, admin: every card of the filter, all or nothing (audited)
	city.Get("/admin/cards/:id", u.staff(u.staffCard)...)                // staff, admin: record, history, booking
	city.Post("/admin/cards/:id/status", u.staff(u.staffCardStatus)...)  // staff, admin: change one card
	city.Post("/admin/cards/:id/unlock", u.staff(u.staffCardUnlock)...)  // staff, admin: lift the login lock

	// Staff: the in-app manuals.
	city.Get("/admin/help", u.staff(u.helpManual)...)                // staff, admin
	city.Get("/admin/help/operations", u.staff(u.helpOperations)...) // staff, admin
	city.Get("/admin/help/guide", u.staff(u.helpGuide)...)           // staff, admin: the citizens' guide (A4)
}

// adminRoutes registers the city administrators' pages under /admin (after staffRoutes: the
// allow-list middleware it installs applies to them too).
func (u *UI) adminRoutes(city fiber.Router) {
	// Admin: staff accounts and the audit log. Every change and every export is audit-logged; no
	// password is ever logged.
	city.Get("/admin/accounts", u.admin(u.adminAccounts)...)                       // admin: list
	city.Get("/admin/accounts/new", u.admin(u.adminAccountNew)...)                 // admin: create form
	city.Post("/admin/accounts", u.admin(u.adminAccountCreate)...)                 // admin: create, shows the initial password once
	city.Get("/admin/accounts/:id", u.admin(u.adminAccount)...)                    // admin: one account and its actions
	city.Post("/admin/accounts/:id/reset", u.admin(u.adminAccountReset)...)        // admin: new initial password, shown once; ends sessions
	city.Post("/admin/accounts/:id/unlock", u.admin(u.adminAccountUnlock)...)      // admin: clear failures and lock
	city.Post("/admin/accounts/:id/disable", u.admin(u.adminAccountDisable)...)    // admin (not oneself): ends sessions
	city.Post("/admin/accounts/:id/enable", u.admin(u.adminAccountEnable)...)      // admin (not oneself)
	city.Post("/admin/accounts/:id/role", u.admin(u.adminAccountRole)...)          // admin (not oneself): ends sessions
	city.Post("/admin/accounts/:id/mfa/reset", u.admin(u.adminAccountMFAReset)...) // admin (not oneself): ends sessions
	city.Get("/admin/audit", u.admin(u.adminAudit)...)                             // admin: filtered, paginated
	city.Post("/admin/audit/export", u.admin(u.adminAuditExport)...)               // admin: CSV, itself audit-logged
	city.Get("/admin/handover", u.admin(u.adminHandoverShow)...)                   // admin: what the handover archive holds
	city.Post("/admin/handover", u.admin(u.adminHandoverExport)...)                // admin: the archive (zip), audit-logged

	// Admin: the city's settings, 交付場所 and their schedules.
	city.Get("/admin/settings", u.admin(u.adminSettingsShow)...)                                       // admin
	city.Post("/admin/settings", u.admin(u.adminSettingsSave)...)                                      // admin
	city.Get("/admin/locations", u.admin(u.adminLocationsList)...)                                     // admin
	city.Get("/admin/locations/new", u.admin(u.adminLocationNew)...)                                   // admin
	city.Post("/admin/locations", u.admin(u.adminLocationCreate)...)                                   // admin
	city.Get("/admin/locations/:id/edit", u.admin(u.adminLocationEdit)...)                             // admin
	city.Post("/admin/locations/:id/edit", u.admin(u.adminLocationUpdate)...)                          // admin
	city.Get("/admin/locations/:id/schedule", u.admin(u.adminScheduleShow)...)                         // admin
	city.Post("/admin/locations/:id/schedule", u.admin(u.adminScheduleSaveWeekly)...)                  // admin
	city.Post("/admin/locations/:id/overrides", u.admin(u.adminScheduleAddOverride)...)                // admin
	city.Get("/admin/locations/:id/overrides/:oid/delete", u.admin(u.adminScheduleDeleteConfirm)...)   // admin (check page)
	city.Post("/admin/locations/:id/overrides/:oid/delete", u.admin(u.adminScheduleDeleteOverride)...) // admin

	// Admin: the wording of the citizen mails. Every save and reset is audit-logged by the domain.
	city.Get("/admin/settings/mail", u.admin(u.adminMailTemplateList)...)                           // admin
	city.Get("/admin/settings/mail/:kind/:lang", u.admin(u.adminMailTemplateEdit)...)               // admin
	city.Post("/admin/settings/mail/:kind/:lang", u.admin(u.adminMailTemplateSave)...)              // admin
	city.Post("/admin/settings/mail/:kind/:lang/preview", u.admin(u.adminMailTemplatePreview)...)   // admin: nothing saved
	city.Get("/admin/settings/mail/:kind/:lang/reset", u.admin(u.adminMailTemplateResetConfirm)...) // admin (check page)
	city.Post("/admin/settings/mail/:kind/:lang/reset", u.admin(u.adminMailTemplateReset)...)       // admin

	// Admin: card CSV imports and their column mapping ("profile" before /admin/imports/:id).
	// Importing changes the city's card master data. Upload, commit, cancel and profile changes
	// are audit-logged by the domain. The upload is the one route whose body may exceed 1 MiB.
	city.Get("/admin/imports", u.admin(u.adminImports)...)                        // admin: past imports, upload form
	city.Post(importUploadPath, u.admin(u.adminImportUpload)...)                  // admin: upload (≤ 50 MB), queues validation
	city.Get("/admin/imports/profile", u.admin(u.adminImportProfileShow)...)      // admin: column mapping
	city.Post("/admin/imports/profile", u.admin(u.adminImportProfileSave)...)     // admin
	city.Get("/admin/imports/:id", u.admin(u.adminImport)...)                     // admin: progress, summary, errors, result
	city.Get("/admin/imports/:id/status", u.admin(u.adminImportStatus)...)        // admin: JSON for the progress bar
	city.Get("/admin/imports/:id/errors.csv", u.admin(u.adminImportErrorsCSV)...) // admin: the row error report
	city.Post("/admin/imports/:id/commit", u.admin(u.adminImportCommit)...)       // admin: once; a second click is refused
	city.Post("/admin/imports/:id/cancel", u.admin(u.adminImportCancel)...)       // admin
}
