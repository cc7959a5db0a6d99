package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/madoguchi/madoguchi/cmd/internal/app"
	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/jobs/paging"
	"github.com/madoguchi/madoguchi/ui/probe"
	"github.com/madoguchi/madoguchi/ui/web"
)

// App owns the process's connections and services (cmd/internal/app) with the configuration
// and log they were opened with; serve, worker, demo and the end-to-end tests open the same App.
type App struct {
	*app.App
	Config *Config
	Log    *slog.Logger
	// Paging is the escalation chain: its receiver and ack pages are on every process's internal
	// listener, its engine runs in the worker.
	Paging       *paging.Service
	pagingMailer *jobs.SMTPMailer
	// draining is set when serve got SIGTERM and drains (MADOGUCHI_SHUTDOWN_DRAIN).
	draining atomic.Bool
}

// OpenApp connects to PostgreSQL (as the runtime role) and Redis and builds the services on the
// clock now (time.Now; tests pass a fixed one).
func OpenApp(ctx context.Context, cfg *Config, log *slog.Logger, now func() time.Time) (*App, error) {
	return openApp(ctx, cfg, log, now, false)
}

// openApp is OpenApp; lazy opens the database pool without waiting for PostgreSQL (serve).
func openApp(ctx context.Context, cfg *Config, log *slog.Logger, now func() time.Time, lazy bool) (*App, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	core, err := app.Open(ctx, app.Options{DatabaseURL: cfg.DatabaseURL, RedisURL: cfg.RedisURL, DBMaxConns: cfg.DBMaxConns,
		SecretKey: cfg.SecretKey, Registry: reg, Now: now, BaseDomain: cfg.BaseDomain,
		AvailabilityCacheTTL: cfg.AvailabilityCacheTTL, Log: log, Lazy: lazy})
	if err != nil {
		return nil, err
	}
	// The pools' figures, read at each scrape of the internal listener.
	reg.MustRegister(collectors.NewDBStatsCollector(core.DB.DB, "madoguchi"), probe.RedisPool(core.Redis))
	a := &App{App: core, Config: cfg, Log: log}
	if a.pagingMailer, err = jobs.NewSMTPMailer(cfg.SMTPURL); err != nil {
		core.Close()
		return nil, err
	}
	pc := paging.Config{Now: now, Log: log, Mail: a.pagingMailer, MailFrom: cfg.PagingMailFrom, PublicURL: cfg.PagingURL,
		AckKey: subkey(cfg.SecretKey, "paging-ack"), AckTimeout: cfg.PagingAckTimeout, WatchdogWindow: cfg.PagingWatchdogWindow,
		Fallback: cfg.PagingFallback, DegradedAfter: cfg.PagingDegradedAfter, FallbackEvery: cfg.PagingFallbackEvery, Redis: core.Redis}
	if cfg.PhoneAPIURL != "" {
		pc.Phone = &paging.Twilio{BaseURL: cfg.PhoneAPIURL, AccountSID: cfg.PhoneAccount, AuthToken: cfg.PhoneToken, From: cfg.PhoneFrom}
	}
	a.Paging = paging.New(core.DB, pc)
	if err := a.Paging.Register(reg); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Close releases the paging mailer and the connections.
func (a *App) Close() {
	if a.pagingMailer != nil {
		a.pagingMailer.Close()
	}
	a.App.Close()
}

// Web builds the Fiber app.
func (a *App) Web() (*fiber.App, error) {
	return a.App.Web(app.WebOptions{Log: a.Log, BaseDomain: a.Config.BaseDomain, TrustedProxies: a.Config.TrustedProxies,
		SecureCookies: a.Config.SecureCookies, LoginPerMinute: a.Config.LoginPerMinute,
		CitizenConcurrency: a.Config.CitizenConcurrency, WaitingKey: subkey(a.Config.SecretKey, "waiting-room"),
		Live: web.LiveConfig{MaxStreams: a.Config.LiveMaxStreams}, StatusSnapshotDir: a.Config.StatusSnapshotDir, Paging: a.Paging,
		Draining: a.draining.Load})
}

// subkey derives the key of one purpose from the secret key, so that no two uses share a key.
func subkey(secret []byte, purpose string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(purpose))
	return h.Sum(nil)
}
