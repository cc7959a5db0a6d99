// Package ui is the web front end: one Fiber app serving every host — the cities' pages here, the
// vendor's ops console (package ui/ops) and the shared call center's (package ui/callcenter) on
// their own hosts, and later the status page — its middleware, the one error handler, html/template views and embedded,
// content-hashed static assets. Handlers parse input, call one domain method and render; the rules
// live in tenant/ and booking/.
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
	"github.com/madoguchi/madoguchi/ui/callcenter"
	"github.com/madoguchi/madoguchi/ui/ops"
	"github.com/madoguchi/madoguchi/ui/status"
	"github.com/madoguchi/madoguchi/ui/web"
)

// Deps is everything the web app needs, built by cmd/madoguchi.
type Deps struct {
	DB          *bun.DB
	Redis       redis.UniversalClient
	Tenants     *tenant.Resolver
	Booking     *booking.Service
	Accounts    *tenant.Accounts
	ImportQueue ImportQueue // card CSV imports; the worker runs them
	Registry    *prometheus.Registry
	// Gatherer is no longer served by the app: /metrics is on the internal listener (ui/probe),
	// which cmd/madoguchi builds on the same registry. Kept so callers that set it still build.
	Gatherer       prometheus.Gatherer
	Logger         *slog.Logger
	BaseDomain     string
	TrustedProxies []string
	SecureCookies  bool
	LoginPerMinute int              // citizen login posts per client IP and minute; 0: no limit
	Now            func() time.Time // clock; time.Now when nil
	// Ops and Cities are the vendor's accounts and the tenants table with the vendor's actions
	// (onboarding, support) for the ops console at ops.{BaseDomain} and the call center's at
	// callcenter.{BaseDomain}. Without them both hosts answer 404 like an unknown host.
	Ops    *tenant.OpsAccounts
	Cities *tenant.Service
	// CitizenConcurrency is the number of requests per city this process lets into the citizens'
	// booking paths at once (while several cities are busy, divided among them: fair share);
	// the others wait in the waiting room (web.WaitingRoom). 0: no room.
	CitizenConcurrency int
	// WaitingKey signs the waiting room's tickets and passes (32 bytes); nil: a random key, so a
	// pass is good only in this process.
	WaitingKey []byte
	// Live fans the slot change feed out to the live screens (the staff dashboard and bookings
	// list; the call-center console's availability). It must be fed (cmd/internal/app does:
	// Apply and SetLive from the process's one subscription). nil: the screens are not live
	// (they still work by reloading).
	Live *web.Live

	// Status is the status page's data (status.{BaseDomain}, ui/status, and the cities'
	// maintenance notices); nil: no status host and no notices. StatusSnapshotDir keeps the
	// page's last snapshot on disk (MADOGUCHI_STATUS_SNAPSHOT_DIR); StatusProcess names this
	// process's heartbeat ("" writes none).
	Status            *tenant.StatusPage
	StatusSnapshotDir string
	StatusProcess     string
	// Paging is the escalation chain for the ops console's pages (jobs/paging.Service); nil:
	// the console's /pages answer 404.
	Paging ops.Paging
	// Draining reports that the process got SIGTERM and drains (MADOGUCHI_SHUTDOWN_DRAIN):
	// /readyz answers 503 and every response closes its connection; nil: never.
	Draining func() bool

	admitted func(c *fiber.Ctx) // tests: called when the waiting room lets a request in
}

// ImportQueue hands card CSV import jobs to the worker (jobs.ImportQueue). The job itself, its
// file included, is in PostgreSQL; the task carries the ids only.
type ImportQueue interface {
	EnqueueImportValidate(ctx context.Context, tenantID, importID uuid.UUID) error
	EnqueueImportCommit(ctx context.Context, tenantID, importID uuid.UUID) error
}

// UI is the city console (citizens' pages, the JSON API, staff and admin pages) on the shared
// web core.
type UI struct {
	deps      Deps
	log       *slog.Logger
	core      *web.Core
	locales   web.Locales
	views     *web.Views
	sess      *citizenStore // citizen sessions (and API bearer tokens)
	staffSess *staffStore   // staff sessions: their own cookie, so a citizen and a clerk never share one
	consoles  map[tenant.HostKind]*web.Console
	room      *web.WaitingRoom // the citizens' booking paths, per city (middleware_waiting.go)
	status    *status.UI       // the status page (nil without Deps.Status)
	notices   *noticeCache     // the cities' maintenance notices (notice.go)
	calendars *calendarMemo    // the citizen calendar's rendered months (calendar_memo.go)
	// The live staff screens (ui/staff_live.go); nil without Deps.Live.
	liveDashboard, liveBookings *web.Feed
	// apiFamily counts, per client address, POST /api/v1/reservations with family members (each
	// one a card check), as apiLoginPerMinute does POST /api/v1/session (set by apiRoutes).
	apiFamily *web.Flood
}

func (u *UI) now() time.Time { return u.deps.Now() }

// New builds the Fiber app with every route. It fails when a template, translation or asset is
// broken, so a bad build never starts serving.
func New(d Deps) (*fiber.App, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	core, err := web.New(d.Logger, d.Registry)
	if err != nil {
		return nil, err
	}
	// Session lifetimes run on the wall clock, like the Redis TTL that enforces their idle
	// timeout; the app's clock (d.Now) is the business date and time.
	u := &UI{deps: d, log: d.Logger, core: core, locales: core.Locales, calendars: newCalendarMemo(),
		sess:      web.NewStore[CitizenSession](d.Redis, "mdg_sid", d.SecureCookies, sessionIdle, sessionAbsolute, nil),
		staffSess: web.NewStore[StaffSession](d.Redis, "mdg_staff", d.SecureCookies, staffIdle, staffAbsolute, nil)}
	u.sess.Bearer = true
	// The room's timing runs on the wall clock (durations, like the sessions'), not the app's.
	if u.room, err = web.NewWaitingRoom(d.CitizenConcurrency, d.WaitingKey, nil, d.Registry); err != nil {
		return nil, err
	}
	if u.views, err = web.LoadViews(templatesFS, core.Funcs()); err != nil {
		return nil, err
	}
	u.liveFeeds(d.Live)
	core.SetErrorPages(u) // unknown hosts and probes get the city console's plain error page
	app := fiber.New(fiber.Config{
		AppName:                 "madoguchi",
		ProxyHeader:             "X-Real-IP", // the ingress overwrites it; believed only from TrustedProxies
		EnableTrustedProxyCheck: true,
		TrustedProxies:          d.TrustedProxies,
		EnableIPValidation:      true,
		// The whole request, body included: a 50 MB card CSV over a 10 Mbit/s LGWAN link takes
		// about 40 s. Slow senders are the ingress's to cut off (it buffers request bodies).
		ReadTimeout:  2 * time.Minute,
		WriteTimeout: 30 * time.Second,
		IdleTimeout:  60 * time.Second,
		// Bodies stream: the server reads at most 8 KiB of one before the handlers run, and
		// bodyLimit (ui/middleware_body.go) holds each route to its own limit, 1 MiB for all but
		// the card CSV upload. BodyLimit only decides what is read ahead in one piece.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		BodyLimit:                    maxFormBytes,
		ReadBufferSize:               16 << 10,
		ErrorHandler:                 core.ErrorHandler,
		DisableStartupMessage:        true,
	})
	app.Server().HeaderReceived = shortReadAhead
	u.consoles = map[tenant.HostKind]*web.Console{}
	if err := u.newStatus(app); err != nil {
		return nil, err
	}
	if d.Ops != nil && d.Cities != nil {
		k, err := ops.New(core, app, ops.Deps{Ops: d.Ops, Cities: d.Cities, Fleet: d.Booking, Redis: d.Redis, Logger: d.Logger, BaseDomain: d.BaseDomain,
			SecureCookies: d.SecureCookies, Now: d.Now, EndStaffSessions: u.endStaffSessions, Status: d.Status, StatusChanged: u.statusChanged,
			Paging: d.Paging, Training: d.Booking})
		if err != nil {
			return nil, err
		}
		ccd := callcenter.Deps{Ops: d.Ops, Dir: d.Tenants.Directory(), Booking: d.Booking, Redis: d.Redis,
			Logger: d.Logger, BaseDomain: d.BaseDomain, SecureCookies: d.SecureCookies, Now: d.Now}
		if d.Live != nil {
			ccd.Live = func(render func(context.Context, uuid.UUID, string) ([]byte, error)) callcenter.Streamer {
				return d.Live.Feed("callcenter-board", render)
			}
		}
		cc, err := callcenter.New(core, app, ccd)
		if err != nil {
			return nil, err
		}
		u.consoles[tenant.HostOps], u.consoles[tenant.HostCallCenter] = k, cc
	}
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
