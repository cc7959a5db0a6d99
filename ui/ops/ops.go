// Package ops is the vendor's console at ops.{BASE_DOMAIN}: its ops team logs in (password, then
// a TOTP code; at the first login a new password and the TOTP enrolment), onboards cities, acts on
// a city when its admins cannot (reset a locked-out 市管理者, disable, custom domains, the /admin
// allow-list, mail sender domains), manages the vendor's accounts and the call-center operators'
// grants, and the consoles' IP allow-lists. It is a Fiber app of its own (web.Console) on the
// shared web core; package ui builds it and hands it the requests of the ops host. Handlers parse
// a form, call one method of tenant.OpsAccounts or tenant.Service and render: the rules, the
// transactions and the audit logs are the domain's.
package ops

import (
	"context"
	"embed"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/vendor"
	"github.com/madoguchi/madoguchi/ui/web"
)

//go:embed templates
var templatesFS embed.FS

// Deps is what the ops console needs, handed over by package ui.
type Deps struct {
	Ops    *tenant.OpsAccounts // the vendor's accounts, operators' grants, consoles' allow-lists
	Cities *tenant.Service     // the tenants table: onboarding and the support actions
	Fleet  Fleet               // the per-city figures of the fleet overview (booking.Service)
	Redis  redis.UniversalClient
	Logger *slog.Logger
	// BaseDomain is the domain the cities and the consoles are served under; the console's host
	// is ops.{BaseDomain} and its sessions are bound to that name.
	BaseDomain    string
	SecureCookies bool
	Now           func() time.Time // the business clock; time.Now when nil
	// EndStaffSessions ends every live session of one staff account of a city (after the vendor
	// reset that city's administrator) and reports how many it ended. The city console, which
	// owns those sessions, provides it; nil ends none.
	EndStaffSessions func(ctx context.Context, tenantID, accountID uuid.UUID) (int, error)
	// Status posts incidents and plans maintenance for the status page (status.go); nil: the
	// console has no status pages. StatusChanged is called after each change so the status
	// page and the cities' notices show it at once (nil: they catch up on their own).
	Status        *tenant.StatusPage
	StatusChanged func(ctx context.Context)
	// Paging is the escalation chain (its pages, acknowledge, resolve); nil: /pages answers 404.
	Paging Paging
	// Training opens and resets cities' training copies (研修用); nil: the console offers neither.
	Training Training
}

// Fleet reads the figures the worker's fleet job writes (counts only; booking.Service).
type Fleet interface {
	FleetOverview(ctx context.Context) ([]booking.CityFigures, error)
	FleetDaily(ctx context.Context, days int, tenantID *uuid.UUID) ([]booking.DayFigures, error)
}

// UI is the ops console: the vendor consoles' shared part (sign-in, session, allow-list, page
// data) and the ops team's pages.
type UI struct {
	*vendor.Base
	deps Deps
}

// Page, FieldError and Field are the vendor consoles' page data, form errors and inputs.
type (
	Page       = vendor.Page
	FieldError = vendor.FieldError
	Field      = vendor.Field
)

// cookieName is the ops console's session cookie.
const cookieName = "mdg_ops"

// New builds the ops console as an app of its own with the outer app's settings (trusted proxies,
// limits, timeouts) and registers every route (routes.go). It fails when a template is broken.
func New(core *web.Core, outer *fiber.App, d Deps) (*web.Console, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	base, err := vendor.New(core, d.Ops, d.Redis, d.Logger, d.Now, templatesFS, vendor.Config{
		Console: tenant.ConsoleOps, Roles: []tenant.OpsRole{tenant.OpsRoleOps}, Refused: "ops.console.operator",
		Cookie: cookieName, Host: "ops." + d.BaseDomain, Secure: d.SecureCookies})
	if err != nil {
		return nil, err
	}
	u := &UI{Base: base, deps: d}
	k := core.NewConsole(outer, "ops", u)
	u.routes(k.App)
	return k, nil
}

func (u *UI) now() time.Time { return u.deps.Now() }

// actorOf is the logged-in member as the domain's audit logs name them.
func actorOf(c *fiber.Ctx) tenant.Actor {
	a := vendor.AccountOf(c)
	return tenant.Vendor(a.ID, a.LoginID, c.IP())
}
