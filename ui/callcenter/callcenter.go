// Package callcenter is the shared call center's console at callcenter.{BASE_DOMAIN}: operators
// (vendor accounts of role operator or supervisor, with a password and a TOTP code, from the
// console's allowed addresses) serve callers of every city granted to them. An operator picks
// the caller's city — it stays in a banner with the city's colour and name on every page, and
// every page of a city has the city in its address, so a form opened for one city never books
// in another — checks the caller's card number and birthday, sees the card and its booking, and
// books, changes or cancels for the caller (channel callcenter) on a live board of the city's
// places. Supervisors also see the calls handled per operator and city.
//
// It is a Fiber app of its own (web.Console) on the shared web core and the vendor consoles'
// shared part (package vendor). Handlers parse a form, call one method of booking.Service or
// tenant.OpsAccounts with the operator as the actor and render: the rules, the transactions and
// the audit logs are the domain's.
package callcenter

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

// Deps is what the call-center console needs, handed over by package ui.
type Deps struct {
	Ops     *tenant.OpsAccounts // operators, their grants, the console's allow-list, calls handled
	Dir     *tenant.Directory   // the cities, by slug (cached)
	Booking *booking.Service
	Redis   redis.UniversalClient
	Logger  *slog.Logger
	// BaseDomain is the domain the consoles are served under: this one is callcenter.{BaseDomain}.
	BaseDomain    string
	SecureCookies bool
	Now           func() time.Time // the business clock; time.Now when nil
	// Live registers the board as a live screen of the slot change feed's fan-out (web.Live):
	// render draws one city's board once per change for every open screen. nil: the board is
	// refreshed by reloading.
	Live func(render func(ctx context.Context, tenantID uuid.UUID, key string) ([]byte, error)) Streamer
}

// Streamer answers a live screen's request with its Server-Sent Events while valid holds
// (web.Feed).
type Streamer interface {
	StreamWhile(c *fiber.Ctx, tenantID uuid.UUID, key string, valid func(context.Context) bool) error
}

// UI is the call-center console.
type UI struct {
	*vendor.Base
	deps Deps
	live Streamer // the board's updates; nil without Deps.Live
}

// Page, FieldError and Field are the vendor consoles' page data, form errors and inputs.
type (
	Page       = vendor.Page
	FieldError = vendor.FieldError
	Field      = vendor.Field
)

// cookieName is the call-center console's session cookie.
const cookieName = "mdg_cc"

// New builds the call-center console as an app of its own with the outer app's settings and
// registers every route (routes.go). It fails when a template is broken.
func New(core *web.Core, outer *fiber.App, d Deps) (*web.Console, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	base, err := vendor.New(core, d.Ops, d.Redis, d.Logger, d.Now, templatesFS, vendor.Config{
		Console: tenant.ConsoleCallCenter, Roles: []tenant.OpsRole{tenant.OpsRoleOperator, tenant.OpsRoleSupervisor},
		Refused: "callcenter.console.ops", Cookie: cookieName, Host: "callcenter." + d.BaseDomain, Secure: d.SecureCookies})
	if err != nil {
		return nil, err
	}
	u := &UI{Base: base, deps: d}
	base.Decorate = u.decorate
	if d.Live != nil {
		u.live = d.Live(u.renderBoard)
	}
	k := core.NewConsole(outer, "callcenter", u)
	u.routes(k.App)
	return k, nil
}

func (u *UI) now() time.Time { return u.deps.Now() }

// actorOf is the logged-in operator as the domain's audit logs name them.
func actorOf(c *fiber.Ctx) tenant.Actor {
	a := vendor.AccountOf(c)
	return tenant.Operator(a.ID, a.LoginID, c.IP())
}

// ctx is the request's context.
func ctx(c *fiber.Ctx) context.Context { return c.UserContext() }
