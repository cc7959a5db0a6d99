package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/madoguchi/madoguchi/cmd/internal/app"
	"github.com/madoguchi/madoguchi/ui/probe"
)

// App owns the process's connections and services (cmd/internal/app) with the configuration
// and log they were opened with; serve, worker, demo and the end-to-end tests open the same App.
type App struct {
	*app.App
	Config *Config
	Log    *slog.Logger
}

// OpenApp connects to PostgreSQL (as the runtime role) and Redis and builds the services on the
// clock now (time.Now; tests pass a fixed one).
func OpenApp(ctx context.Context, cfg *Config, log *slog.Logger, now func() time.Time) (*App, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	core, err := app.Open(ctx, app.Options{DatabaseURL: cfg.DatabaseURL, RedisURL: cfg.RedisURL, DBMaxConns: cfg.DBMaxConns,
		SecretKey: cfg.SecretKey, Registry: reg, Now: now, BaseDomain: cfg.BaseDomain,
		AvailabilityCacheTTL: cfg.AvailabilityCacheTTL, Log: log})
	if err != nil {
		return nil, err
	}
	// The pools' figures, read at each scrape of the internal listener.
	reg.MustRegister(collectors.NewDBStatsCollector(core.DB.DB, "madoguchi"), probe.RedisPool(core.Redis))
	return &App{App: core, Config: cfg, Log: log}, nil
}

// Web builds the Fiber app.
func (a *App) Web() (*fiber.App, error) {
	return a.App.Web(app.WebOptions{Log: a.Log, BaseDomain: a.Config.BaseDomain, TrustedProxies: a.Config.TrustedProxies,
		SecureCookies: a.Config.SecureCookies, LoginPerMinute: a.Config.LoginPerMinute,
		CitizenConcurrency: a.Config.CitizenConcurrency, WaitingKey: subkey(a.Config.SecretKey, "waiting-room")})
}

// subkey derives the key of one purpose from the secret key, so that no two uses share a key.
func subkey(secret []byte, purpose string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(purpose))
	return h.Sum(nil)
}
