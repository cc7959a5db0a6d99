package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/guard"
	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui"
)

// App owns the process's connections and services; serve, worker, demo and the end-to-end tests
// open the same App.
type App struct {
	Config   *Config
	Log      *slog.Logger
	DB       *bun.DB
	Redis    *redis.Client
	Registry *prometheus.Registry
	Tenants  *tenant.Service
	Booking  *booking.Service
	Accounts *tenant.Accounts
	Now      func() time.Time // the clock every service reads
}

// OpenApp connects to PostgreSQL (as the runtime role) and Redis and builds the services on the
// clock now (time.Now; tests pass a fixed one).
func OpenApp(ctx context.Context, cfg *Config, log *slog.Logger, now func() time.Time) (*App, error) {
	a := &App{Config: cfg, Log: log, Registry: prometheus.NewRegistry(), Now: now}
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var err error
	if a.DB, err = tenant.OpenDB(ctx, cfg.DatabaseURL, cfg.DBMaxConns); err != nil {
		return nil, fmt.Errorf("MADOGUCHI_DATABASE_URL: %w", err)
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("MADOGUCHI_REDIS_URL: %w", err)
	}
	a.Redis = redis.NewClient(opt)
	g, err := guard.New(a.Redis, cfg.SecretKey, guard.DefaultConfig(), a.Registry)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.Tenants = tenant.NewService(a.DB)
	a.Accounts = tenant.NewAccounts(a.DB, now)
	a.Booking = booking.NewService(a.DB, booking.Config{Now: now, SecretKey: cfg.SecretKey, Guard: g})
	return a, nil
}

// Web builds the Fiber app.
func (a *App) Web() (*fiber.App, error) {
	return ui.New(ui.Deps{
		DB:             a.DB,
		Redis:          a.Redis,
		Tenants:        tenant.NewResolver(a.Tenants, a.Config.BaseDomain, 10*time.Second),
		Booking:        a.Booking,
		Accounts:       a.Accounts,
		ImportQueue:    jobs.NewImportQueue(a.Redis),
		Registry:       a.Registry,
		Gatherer:       a.Registry,
		Logger:         a.Log,
		BaseDomain:     a.Config.BaseDomain,
		TrustedProxies: a.Config.TrustedProxies,
		SecureCookies:  a.Config.SecureCookies,
		LoginPerMinute: a.Config.LoginPerMinute,
		Now:            a.Now,
	})
}

// Close releases connections.
func (a *App) Close() {
	if a.Redis != nil {
		a.Redis.Close()
	}
	if a.DB != nil {
		a.DB.Close()
	}
}
