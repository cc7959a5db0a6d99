// Package vendor is what the vendor's consoles share: the ops console (ui/ops, ops.{BASE_DOMAIN})
// and the call center's (ui/callcenter, callcenter.{BASE_DOMAIN}) are used by the vendor's own
// accounts (tenant.OpsAccounts), behind the console's IP allow-list, with a password and a TOTP
// code. This package is that part once: the allow-list check, the console's own session cookie
// bound to its host, the guards, the login (password, code; at the first login a new password
// and the TOTP enrolment), the password change, the page data and form errors, and the pages
// that go with them. Each console embeds a Base, adds its own pages and names which roles may use
// it once logged in.
package vendor

import (
	"embed"
	"io/fs"
	"log/slog"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

//go:embed templates
var templatesFS embed.FS

// Config names one vendor console.
type Config struct {
	Console tenant.Console   // whose IP allow-list guards every request
	Roles   []tenant.OpsRole // the roles that may use the console once logged in
	// Refused is the message key of the 403 a logged-in account of another role gets.
	Refused string
	Cookie  string // the session cookie's name, the console's own
	Host    string // the console's host name: the sessions' scope
	Secure  bool   // Secure cookies (HTTPS)
}

// Base is the shared part of a vendor console; a console embeds it.
type Base struct {
	Ops   *tenant.OpsAccounts
	Core  *web.Core
	Views *web.Views // the console's pages and this package's, in the console's layout
	Sess  *Store
	Log   *slog.Logger
	Now   func() time.Time // the business clock
	cfg   Config
	// Decorate, when set, adds a console's own data to every page's Page (Base.Page).
	Decorate func(c *fiber.Ctx, p *Page)
}

// New returns the shared part of a console whose own templates are in console (templates/
// layouts, partials and pages, as web.LoadViews reads them); this package's pages are parsed
// into the same set, so they wear the console's layout.
func New(core *web.Core, ops *tenant.OpsAccounts, rdb redis.UniversalClient, log *slog.Logger, now func() time.Time, console fs.FS, cfg Config) (*Base, error) {
	if now == nil {
		now = time.Now
	}
	views, err := web.LoadViews(console, core.Funcs(), templatesFS)
	if err != nil {
		return nil, err
	}
	return &Base{Ops: ops, Core: core, Views: views, Log: log, Now: now, cfg: cfg,
		Sess: web.NewStore[Session](rdb, cfg.Cookie, cfg.Secure, sessionIdle, sessionAbsolute, nil)}, nil
}

// Host is the console's host name (its sessions' scope).
func (u *Base) Host() string { return u.cfg.Host }

// member reports whether acc's role may use the console.
func (u *Base) member(acc *tenant.OpsAccount) bool { return slices.Contains(u.cfg.Roles, acc.Role) }

// SignInRoutes registers the login, the code, the first login's steps, the password change and
// the logout on the console's app, each behind its guard. The console registers the rest.
func (u *Base) SignInRoutes(app fiber.Router) {
	app.Get("/login", u.Open(u.loginShow)...)             // anyone (allowed address)
	app.Post("/login", u.Open(u.loginSubmit)...)          // anyone; wrong passwords count toward the account's lockout
	app.Get("/login/code", u.Open(u.loginCodeShow)...)    // an account whose password was right (5 minutes)
	app.Post("/login/code", u.Open(u.loginCodeSubmit)...) // same; a wrong code counts toward the lockout
	app.Post("/logout", u.Open(u.logout)...)              // anyone (ends the session it has)
	app.Get("/password", u.Enrol(u.passwordShow)...)      // first login (forced), or oneself
	app.Post("/password", u.Enrol(u.passwordSubmit)...)   // same; needs the current password
	app.Get("/mfa", u.Enrol(u.mfaShow)...)                // first login: TOTP enrolment (QR code, key)
	app.Post("/mfa", u.Enrol(u.mfaEnable)...)             // same; a right code finishes the login
}
