package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"
	"golang.org/x/sync/errgroup"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// WorkerConfig are the dependencies and tuning of `madoguchi worker`.
type WorkerConfig struct {
	DB       *bun.DB
	Redis    redis.UniversalClient
	Booking  *booking.Service
	Tenants  *tenant.Directory
	Mailer   Mailer
	MailEnv  booking.MailEnv
	Log      *slog.Logger
	Registry prometheus.Registerer // nil: no metrics
	Server   ServerConfig
	// Name identifies the replica in periodic_runs (default host:pid).
	Name string
	// Tuning, mostly for tests (zero: the defaults of Relay and Scheduler).
	RelayInterval, RelaySweepAfter, RelayClaimLease time.Duration
	SchedulerInterval, SchedulerRetryAfter          time.Duration
	Jobs                                            []PeriodicJob    // nil: DefaultPeriodicJobs
	Now                                             func() time.Time // scheduler clock (default: Booking's clock)
}

// Worker is the asynq server with every handler, the outbox relay and the periodic scheduler.
type Worker struct {
	Server    *asynq.Server
	Mux       *asynq.ServeMux
	Client    *asynq.Client
	Relay     *Relay
	Scheduler *Scheduler
	Watchdog  *Watchdog // the status page's component-state log (status.go)
	log       *slog.Logger
}

// NewWorker wires a Worker; nothing runs until Run.
func NewWorker(cfg WorkerConfig) *Worker {
	if cfg.Name == "" {
		host, _ := os.Hostname()
		cfg.Name = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	if cfg.Now == nil && cfg.Booking != nil {
		cfg.Now = cfg.Booking.Now
	}
	m := NewMetrics(cfg.Registry)
	dir := cfg.Tenants
	client := asynq.NewClientFromRedisClient(cfg.Redis)
	inspector := asynq.NewInspectorFromRedisClient(cfg.Redis)
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(QueueCollector(inspector))
		if cfg.Booking != nil {
			cfg.Registry.MustRegister(FleetCollector(cfg.Booking))
		}
	}
	h := &Handlers{Log: cfg.Log, Booking: cfg.Booking, Tenants: dir, Mailer: cfg.Mailer, MailEnv: cfg.MailEnv, Metrics: m}
	return &Worker{
		Server: NewServer(cfg.Redis, cfg.Log, cfg.Server),
		Mux:    NewServeMux(h),
		Client: client,
		Relay: &Relay{Booking: cfg.Booking, Tenants: dir, Client: client, Inspector: inspector, Log: cfg.Log, Metrics: m,
			Interval: cfg.RelayInterval, SweepAfter: cfg.RelaySweepAfter, ClaimLease: cfg.RelayClaimLease},
		Scheduler: &Scheduler{DB: cfg.DB, Tenants: dir, Client: client, Log: cfg.Log, Metrics: m,
			Jobs: cfg.Jobs, Now: cfg.Now, Interval: cfg.SchedulerInterval, RetryAfter: cfg.SchedulerRetryAfter, Name: cfg.Name},
		Watchdog: &Watchdog{DB: cfg.DB, Redis: cfg.Redis, Status: tenant.NewStatusPage(cfg.DB, cfg.Now), Log: cfg.Log, Now: cfg.Now},
		log:      cfg.Log,
	}
}

// Run starts the server, the relay and the scheduler, and stops them when ctx is cancelled,
// letting in-flight tasks finish within the server's shutdown timeout. Redis being down at
// start is not fatal: everything retries until it is back.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.Server.Start(w.Mux); err != nil {
		return err
	}
	w.log.Info("worker started")
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return w.Relay.Run(gctx) })
	g.Go(func() error { return w.Scheduler.Run(gctx) })
	g.Go(func() error { return w.Watchdog.Run(gctx) })
	<-gctx.Done()
	err := g.Wait()
	w.log.Info("shutting down worker")
	w.Server.Shutdown()
	return err
}
