// Package app wires madoguchi's connections and domain services. The madoguchi binary (serve,
// worker, demo, tenant, import) and the load generator (madoguchi-bench) open the same App, so
// the bench measures the wiring production runs.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/guard"
	"github.com/madoguchi/madoguchi/booking/slotfeed"
	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui"
	"github.com/madoguchi/madoguchi/ui/ops"
	"github.com/madoguchi/madoguchi/ui/web"
)

// Options are what Open needs.
type Options struct {
	DatabaseURL string // the runtime role (NOBYPASSRLS)
	RedisURL    string
	DBMaxConns  int
	SecretKey   []byte // 32 bytes: the HMAC key of birth dates and login counters
	// Registry collects the login guard's metrics and, through Web, the web app's.
	Registry *prometheus.Registry
	Now      func() time.Time // the clock every service reads (time.Now; tests pass a fixed one)
	// BaseDomain is the domain cities are served under; no custom domain may be it or under it.
	BaseDomain string
	// AvailabilityCacheTTL is how long the web's availability cache keeps a day no change was
	// announced for (the backstop; see booking.SlotCache); 0: no cache. Production uses
	// DefaultAvailabilityCacheTTL.
	AvailabilityCacheTTL time.Duration
	// Log receives the slot change feed's warnings and failed writes of event counts (default:
	// discard).
	Log *slog.Logger
	// Lazy opens the database pool without pinging it (`madoguchi serve`): the process starts
	// while PostgreSQL does not answer, and connects at its first query.
	Lazy bool
}

// DefaultAvailabilityCacheTTL is the availability cache's backstop lifetime: a change whose
// message was lost shows at most this late.
const DefaultAvailabilityCacheTTL = time.Second

// App owns the connections and the domain services.
type App struct {
	DB       *bun.DB
	Redis    *redis.Client
	Registry *prometheus.Registry
	Tenants  *tenant.Service
	// Ops are the vendor's accounts (ops team and call-center operators), their grants and the
	// consoles' allow-lists.
	Ops *tenant.OpsAccounts
	// Directory is the process's one cache of the tenants table, shared by the web's host
	// resolution and the worker's jobs.
	Directory *tenant.Directory
	Booking   *booking.Service
	Accounts  *tenant.Accounts
	Now       func() time.Time
	// SlotFeed publishes this process's changes of places and slots after commit (every
	// process: the worker's slot generation and hold releases too).
	SlotFeed *slotfeed.Publisher
	// SlotCache is the availability cache (nil when AvailabilityCacheTTL is 0). It is used once
	// Web started following the feed; a process that never serves (the worker) reads PostgreSQL.
	SlotCache *booking.SlotCache
	// Status is the status page's data (incidents, maintenance, the component-state log).
	Status *tenant.StatusPage
	// Events counts refused bookings and citizens' login locks per city (the fleet overview);
	// a goroutine started by Open writes them every EventsFlushInterval, Close writes the rest.
	Events *tenant.Events
	// Live fans the slot change feed out to the live screens' Server-Sent-Event streams (the
	// staff dashboard and bookings list, the call center's availability); Web creates it and
	// feeds it from the process's one subscription.
	Live *web.Live

	log        *slog.Logger
	follow     sync.Once
	stopFollow context.CancelFunc
	followDone chan struct{}
	stopEvents context.CancelFunc
	eventsDone chan struct{}
}

// EventsFlushInterval is how often the counted events are written to PostgreSQL: a process
// killed without Close loses at most this much of them.
const EventsFlushInterval = 10 * time.Second

// Open connects to PostgreSQL and Redis and builds the services. Errors name the variable
// (MADOGUCHI_DATABASE_URL, MADOGUCHI_REDIS_URL) whose value did not work.
func Open(ctx context.Context, o Options) (*App, error) {
	a := &App{Registry: o.Registry, Now: o.Now, log: o.Log}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if o.Lazy {
		a.DB, err = tenant.OpenDBLazy(o.DatabaseURL, o.DBMaxConns)
	} else {
		a.DB, err = tenant.OpenDB(ctx, o.DatabaseURL, o.DBMaxConns)
	}
	if err != nil {
		return nil, fmt.Errorf("MADOGUCHI_DATABASE_URL: %w", err)
	}
	if a.Redis, err = NewRedis(o.RedisURL); err != nil {
		a.Close()
		return nil, fmt.Errorf("MADOGUCHI_REDIS_URL: %w", err)
	}
	g, err := guard.New(a.Redis, o.SecretKey, guard.DefaultConfig(), a.Registry, guard.WithClock(o.Now))
	if err != nil {
		a.Close()
		return nil, err
	}
	a.Tenants = tenant.NewService(a.DB, tenant.WithClock(o.Now), tenant.WithBaseDomain(o.BaseDomain))
	a.Ops = tenant.NewOpsAccounts(a.DB, o.Now)
	a.Directory = tenant.NewDirectory(a.Tenants, 10*time.Second)
	a.Accounts = tenant.NewAccounts(a.DB, o.Now)
	if err := registerRecheckLimited(a.Registry); err != nil {
		a.Close()
		return nil, err
	}
	if a.SlotFeed, err = slotfeed.NewPublisher(slotfeed.PublisherConfig{Redis: a.Redis, Log: a.log, Metrics: a.Registry}); err != nil {
		a.Close()
		return nil, err
	}
	a.Events = tenant.NewEvents(a.DB)
	a.Status = tenant.NewStatusPage(a.DB, o.Now)
	bcfg := booking.Config{Now: o.Now, SecretKey: o.SecretKey, Guard: g, Announce: a.SlotFeed.Announce, Events: a.Events}
	if o.AvailabilityCacheTTL > 0 {
		if a.SlotCache, err = booking.NewSlotCache(booking.SlotCacheConfig{TTL: o.AvailabilityCacheTTL, Metrics: a.Registry}); err != nil {
			a.Close()
			return nil, err
		}
		bcfg.Cache = a.SlotCache
	}
	a.Booking = booking.NewService(a.DB, bcfg)
	ctx, a.stopEvents = context.WithCancel(context.WithoutCancel(ctx))
	a.eventsDone = make(chan struct{})
	go func() {
		defer close(a.eventsDone)
		a.Events.Run(ctx, EventsFlushInterval, func(err error) { a.log.Warn("event counts not written yet", "err", err) })
	}()
	return a, nil
}

// followSlots starts, once, the process's one subscription to the slot change feed until Close:
// it keeps the availability cache in step with every process's changes (booking.SlotCache.Follow)
// and feeds the live screens (a.Live) after the cache dropped the changed days, so a screen's
// render reads the new places. Without a cache (AvailabilityCacheTTL 0) the live screens follow
// the feed on a subscriber of their own — still one per process.
func (a *App) followSlots() {
	if a.SlotCache == nil && a.Live == nil {
		return
	}
	a.follow.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		a.stopFollow, a.followDone = cancel, make(chan struct{})
		if a.SlotCache != nil && a.Live != nil {
			a.SlotCache.OnChange(a.Live.Apply)
			a.SlotCache.OnLive(a.Live.SetLive)
		}
		go func() {
			defer close(a.followDone)
			if a.SlotCache != nil {
				_ = a.SlotCache.Follow(ctx, a.Redis, a.SlotFeed.Origin(), a.log)
				return
			}
			_ = slotfeed.NewSubscriber(slotfeed.SubscriberConfig{Redis: a.Redis, Log: a.log,
				OnChange: a.Live.Apply, OnLive: a.Live.SetLive}).Run(ctx)
		}()
	})
}

// WebOptions are the web app's settings beyond the services.
type WebOptions struct {
	Log            *slog.Logger
	BaseDomain     string
	TrustedProxies []string
	SecureCookies  bool
	LoginPerMinute int // per client IP; 0: no flood limit on citizen logins
	// CitizenConcurrency is the citizens' booking requests per city in flight in this process
	// before the waiting room queues arrivals; 0: no waiting room.
	CitizenConcurrency int
	// WaitingKey signs the waiting room's tickets and passes; nil: a key of this process only.
	WaitingKey []byte
	// Live are the live screens' limits (MaxStreams: MADOGUCHI_LIVE_MAX_STREAMS); zero fields
	// take web.LiveConfig's defaults.
	Live web.LiveConfig
	// StatusSnapshotDir keeps the status page's last snapshot on disk (ui.Deps).
	StatusSnapshotDir string
	// Paging is the escalation chain the ops console shows (nil: none).
	Paging ops.Paging
	// Draining reports that the process drains before its shutdown (ui.Deps.Draining); nil: never.
	Draining func() bool
}

// Web builds the Fiber app on the App's services and starts the availability cache.
func (a *App) Web(o WebOptions) (*fiber.App, error) {
	if a.Live == nil {
		a.Live = web.NewLive(a.log, a.Registry, web.WithLiveConfig(o.Live))
	}
	a.followSlots()
	return ui.New(ui.Deps{
		DB:                 a.DB,
		Redis:              a.Redis,
		Tenants:            tenant.NewResolver(a.Directory, o.BaseDomain),
		Booking:            a.Booking,
		Accounts:           a.Accounts,
		ImportQueue:        jobs.NewImportQueue(a.Redis),
		Registry:           a.Registry,
		Gatherer:           a.Registry,
		Logger:             o.Log,
		BaseDomain:         o.BaseDomain,
		TrustedProxies:     o.TrustedProxies,
		SecureCookies:      o.SecureCookies,
		LoginPerMinute:     o.LoginPerMinute,
		Now:                a.Now,
		Ops:                a.Ops,
		Cities:             a.Tenants,
		CitizenConcurrency: o.CitizenConcurrency,
		WaitingKey:         o.WaitingKey,
		Live:               a.Live,
		Status:             a.Status,
		StatusSnapshotDir:  o.StatusSnapshotDir,
		StatusProcess:      processName(),
		Paging:             o.Paging,
		Draining:           o.Draining,
	})
}

// Close ends the live screens' streams, stops following the slot change feed, writes the events counted so far and releases the
// connections.
func (a *App) Close() {
	if a.Live != nil {
		a.Live.Close()
	}
	if a.stopFollow != nil {
		a.stopFollow()
		<-a.followDone
	}
	if a.stopEvents != nil {
		a.stopEvents()
		<-a.eventsDone
	}
	if a.Redis != nil {
		a.Redis.Close()
	}
	if a.DB != nil {
		a.DB.Close()
	}
}

// processName names this process's heartbeat on the status page: host and pid.
func processName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// registerRecheckLimited exports tenant.RecheckLimited on reg (nothing when reg is nil):
// madoguchi_password_recheck_limited_total{account="staff"|"vendor"}.
func registerRecheckLimited(reg *prometheus.Registry) error {
	if reg == nil {
		return nil
	}
	for _, kind := range []string{tenant.RecheckStaff, tenant.RecheckVendor} {
		c := prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "madoguchi_password_recheck_limited_total",
			Help:        "Staff or vendor accounts whose current-password re-checks reached the limit (5 failures in 15 minutes; the checks are then refused until the window ends), by kind of account. Each is also in the audit log (password.recheck_failed).",
			ConstLabels: prometheus.Labels{"account": kind},
		}, func() float64 { return float64(tenant.RecheckLimited(kind)) })
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register recheck metric: %w", err)
		}
	}
	return nil
}
