// Package ui is the web front end: one Fiber app serving every host (cities, and later the call
// center, ops and status consoles), its middleware, the one error handler, html/template views
// and embedded, content-hashed static assets. Handlers parse input, call one domain method and
// render; the rules live in tenant/ and booking/.
package ui

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// Deps is everything the web app needs, built by cmd/madoguchi.
type Deps struct {
	DB             *bun.DB
	Redis          redis.UniversalClient
	Tenants        *tenant.Resolver
	Booking        *booking.Service
	Accounts       *tenant.Accounts
	ImportQueue    ImportQueue // card CSV imports; the worker runs them
	Registry       *prometheus.Registry
	Gatherer       prometheus.Gatherer
	Logger         *slog.Logger
	BaseDomain     string
	TrustedProxies []string
	SecureCookies  bool
	LoginPerMinute int              // citizen login posts per client IP and minute; 0: no limit
	Now            func() time.Time // clock; time.Now when nil
}

// ImportQueue hands card CSV import jobs to the worker (jobs.ImportQueue). The job itself, its
// file included, is in PostgreSQL; the task carries the ids only.
type ImportQueue interface {
	EnqueueImportValidate(ctx context.Context, tenantID, importID uuid.UUID) error
	EnqueueImportCommit(ctx context.Context, tenantID, importID uuid.UUID) error
}

// UI holds the parsed templates, translations and assets shared by all handlers.
type UI struct {
	deps      Deps
	log       *slog.Logger
	views     *views
	assets    *assets
	locales   locales
	metrics   *httpMetrics
	sess      *sessions // citizen sessions (and API bearer tokens)
	staffSess *sessions // staff sessions: their own cookie, so a citizen and a clerk never share one
}

func (u *UI) now() time.Time { return u.deps.Now() }

// New builds the Fiber app with every route. It fails when a template, translation or asset is
// broken, so a bad build never starts serving.
func New(d Deps) (*fiber.App, error) {
	loc, err := loadLocales()
	if err != nil {
		return nil, err
	}
	as, err := loadAssets()
	if err != nil {
		return nil, err
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	u := &UI{deps: d, log: d.Logger, assets: as, locales: loc, sess: &sessions{rdb: d.Redis, secure: d.SecureCookies, name: "mdg_sid"},
		staffSess: &sessions{rdb: d.Redis, secure: d.SecureCookies, name: "mdg_staff"}}
	if u.views, err = loadViews(u.funcs()); err != nil {
		return nil, err
	}
	if u.metrics, err = newHTTPMetrics(d.Registry); err != nil {
		return nil, err
	}
	app := fiber.New(fiber.Config{
		AppName:                 "madoguchi",
		ProxyHeader:             "X-Real-IP", // the ingress overwrites it; believed only from TrustedProxies
		EnableTrustedProxyCheck: true,
		TrustedProxies:          d.TrustedProxies,
		EnableIPValidation:      true,
		// The whole request, body included: a 50 MB card CSV over a 10 Mbit/s LGWAN link takes
		// about 40 s. Slow senders are the ingress's to cut off (it buffers request bodies).
		ReadTimeout:           2 * time.Minute,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           60 * time.Second,
		BodyLimit:             appBodyLimit, // the card CSV upload; bodyLimit keeps every other route at 1 MiB
		ReadBufferSize:        16 << 10,
		ErrorHandler:          u.errorHandler,
		DisableStartupMessage: true,
	})
	u.routes(app) // ui/routes.go: every route of every host
	return app, nil
}

// ready reports whether PostgreSQL and Redis answer; /readyz uses it.
func (u *UI) ready(ctx context.Context) map[string]error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return map[string]error{
		"postgres": u.deps.DB.PingContext(ctx),
		"redis":    u.deps.Redis.Ping(ctx).Err(),
	}
}
