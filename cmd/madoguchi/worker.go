package main

import (
	"context"
	"log/slog"
	"net"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/jobs"
)

func cmdWorker(ctx context.Context, cfg *Config, log *slog.Logger) error {
	// The pool opens without waiting for PostgreSQL: a worker (re)started during an outage of
	// PostgreSQL still pages (the escalation engine's degraded path).
	a, err := openApp(ctx, cfg, log, time.Now, true)
	if err != nil {
		return err
	}
	defer a.Close()
	il, err := a.openInternal("worker", defaultWorkerInternalAddr)
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return il.serve(ctx, a) })
	g.Go(func() error { return runWorker(ctx, a) })
	return g.Wait()
}

// runWorker runs the asynq server, the outbox relay and the periodic scheduler until ctx is
// cancelled, then lets in-flight tasks finish.
func runWorker(ctx context.Context, a *App) error {
	w, closeMailer, err := newWorker(a)
	if err != nil {
		return err
	}
	defer closeMailer()
	// The escalation engine ticks in every worker replica (pages are taken with SKIP LOCKED);
	// it needs PostgreSQL only, not Redis.
	done := make(chan struct{})
	pctx, stop := context.WithCancel(ctx)
	go func() { defer close(done); a.Paging.Run(pctx, pagingTick) }()
	defer func() { stop(); <-done }()
	return w.Run(ctx)
}

// pagingTick is how often the escalation engine looks for due pages (a variable for tests).
var pagingTick = 10 * time.Second

// newWorker builds the worker on a's services and registers its metrics; call the returned
// function to close its SMTP connection once the worker stopped.
func newWorker(a *App) (*jobs.Worker, func(), error) {
	mailer, err := jobs.NewSMTPMailer(a.Config.SMTPURL)
	if err != nil {
		return nil, nil, err
	}
	w := jobs.NewWorker(jobs.WorkerConfig{
		DB:       a.DB,
		Redis:    a.Redis,
		Booking:  a.Booking,
		Tenants:  a.Directory,
		Mailer:   mailer,
		MailEnv:  mailEnv(a.Config),
		Log:      a.Log,
		Registry: a.Registry,
		Server:   jobs.ServerConfig{Concurrency: 10, ShutdownTimeout: a.Config.ShutdownTimeout},
	})
	return w, func() { mailer.Close() }, nil
}

// mailEnv is what mail needs from the configuration. Links carry the web server's port only
// for BASE_DOMAIN=localhost (the demo); everywhere else the ingress serves https on 443.
func mailEnv(cfg *Config) booking.MailEnv {
	env := booking.MailEnv{BaseDomain: cfg.BaseDomain}
	if cfg.BaseDomain == "localhost" {
		if _, port, err := net.SplitHostPort(cfg.Listen); err == nil && port != "0" {
			env.Port = port
		}
	}
	return env
}
