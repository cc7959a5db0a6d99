package main

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/migrations"
	"github.com/madoguchi/madoguchi/ui/probe"
)

// Default addresses of the internal listener, one per command so that a serve and a worker on
// one machine do not collide.
const (
	defaultServeInternalAddr  = ":9090"
	defaultWorkerInternalAddr = ":9091"
)

// internalListener is a process's internal listener (ui/probe) and its socket.
type internalListener struct {
	probe *probe.Server
	ln    net.Listener
}

// openInternal builds the internal listener of process and opens its socket on
// MADOGUCHI_INTERNAL_ADDR, or def when that is empty.
func (a *App) openInternal(process, def string) (*internalListener, error) {
	p, err := probe.New(probe.Config{Process: process, Gatherer: a.Registry, Registerer: a.Registry, Log: a.Log,
		Checks: map[string]probe.Check{
			"postgres": func(ctx context.Context) error { return a.DB.PingContext(ctx) },
			"redis":    func(ctx context.Context) error { return a.Redis.Ping(ctx).Err() },
		},
		Gate: schemaGate(a.DB, migrations.Latest())})
	if err != nil {
		return nil, err
	}
	addr := a.Config.InternalAddr
	if addr == "" {
		addr = def
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("MADOGUCHI_INTERNAL_ADDR: %w", err)
	}
	// The escalation chain: Alertmanager's webhook, and the ack pages and phone callbacks that
	// the deployment routes here from outside (they carry their own signed token).
	p.Handle("POST /api/alertmanager", a.Paging.Receiver(a.Config.AlertmanagerToken))
	ack := a.Paging.Handler(a.Config.PhoneToken)
	p.Handle("/ack/", ack)
	p.Handle("/api/paging/voice/", ack)
	a.Log.Info("internal listener", "addr", ln.Addr().String(), "paths", "/metrics /healthz /readyz /api/alertmanager /ack/ /api/paging/voice/")
	return &internalListener{probe: p, ln: ln}, nil
}

// serve answers until ctx is cancelled; /readyz turns 503 at once, then the listener stops.
func (il *internalListener) serve(ctx context.Context, a *App) error {
	return il.probe.Serve(ctx, il.ln, a.Config.ShutdownTimeout)
}

// schemaGate keeps a process out of its Service until the database holds the schema its binary
// was built for (need, the newest embedded migration): during a rolling update a new pod whose
// migrations have not run yet is not sent traffic. Once the schema was seen it stays ready. A
// database that cannot be asked (down) or does not say (migrated before versions were recorded)
// does not hold the pod back: readiness never depends on PostgreSQL being up.
func schemaGate(db bun.IDB, need string) probe.Check {
	var seen atomic.Bool
	return func(ctx context.Context) error {
		if seen.Load() || need == "" {
			return nil
		}
		have, err := migrations.Version(ctx, db)
		if err != nil || have == "" {
			return nil
		}
		if have < need {
			return fmt.Errorf("schema %s, this binary needs %s: run madoguchi migrate", have, need)
		}
		seen.Store(true)
		return nil
	}
}
