package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/sync/errgroup"
)

// cmdServe starts even while PostgreSQL or Redis does not answer: the pool connects at its first
// query, the status page serves its last snapshot and the cities' hosts answer their error page
// until the databases are back (see README, "Probes").
func cmdServe(ctx context.Context, cfg *Config, log *slog.Logger) error {
	if err := cfg.checkProxies(); err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, log, time.Now, true)
	if err != nil {
		return err
	}
	defer a.Close()
	web, err := a.Web()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("MADOGUCHI_LISTEN: %w", err)
	}
	il, err := a.openInternal("serve", defaultServeInternalAddr)
	if err != nil {
		ln.Close()
		return err
	}
	log.Info("serving", "addr", ln.Addr().String(), "base_domain", cfg.BaseDomain)
	return a.serveDrained(ctx, web, ln, il)
}

// serveDrained serves web on ln and the internal listener il until ctx is cancelled (SIGTERM),
// then drains for MADOGUCHI_SHUTDOWN_DRAIN — /readyz answers 503 on both listeners and every
// response closes its connection, while every request is still served — so that a load
// balancer polling /readyz stops sending requests here before anything is refused; then both
// listeners shut down gracefully.
func (a *App) serveDrained(ctx context.Context, web *fiber.App, ln net.Listener, il *internalListener) error {
	stop, stopNow := context.WithCancel(context.WithoutCancel(ctx))
	defer stopNow()
	g, gctx := errgroup.WithContext(stop)
	g.Go(func() error { return il.serve(gctx, a) })
	g.Go(func() error { return serveUntil(gctx, web, ln, a.Config, a.Log) })
	g.Go(func() error {
		select {
		case <-gctx.Done(): // a listener failed
			return nil
		case <-ctx.Done():
		}
		if d := a.Config.ShutdownDrain; d > 0 {
			a.draining.Store(true)
			il.probe.Drain()
			a.Log.Info("draining web", "for", d)
			select {
			case <-time.After(d):
			case <-gctx.Done():
			}
		}
		stopNow()
		return nil
	})
	return g.Wait()
}

// serveUntil serves on ln until ctx is cancelled, then stops accepting, lets in-flight requests
// finish (up to the shutdown timeout) and returns.
func serveUntil(ctx context.Context, web *fiber.App, ln net.Listener, cfg *Config, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- web.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down web", "timeout", cfg.ShutdownTimeout)
	if err := web.ShutdownWithTimeout(cfg.ShutdownTimeout); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	<-errc
	return nil
}
