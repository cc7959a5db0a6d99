package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// Watchdog is the status page's periodic job: once a minute (tenant.WatchdogPeriod) it looks at
// the health signals and writes each component's state to the component-state interval log
// (tenant.StatusPage.RecordStates), from which the status page takes the current state and the
// daily uptime. It runs in every worker replica beside the scheduler, not as an asynq task: it
// has to observe Redis being down, which an asynq task would not run through. One replica
// writes each minute (RecordStates takes an advisory lock and skips a minute already written).
// While PostgreSQL
// is down nothing can be written; the watchdog remembers since when each component has been in
// its state and writes that start once PostgreSQL answers again, so the outage is in the log.
//
// The signals and what they mean for each component (Evaluate):
//   - PostgreSQL does not answer: the booking pages, the staff pages, the call center and the API
//     are down (major_outage); mail is not sent (the relay reads the outbox): partial_outage.
//   - Redis does not answer: sessions and API tokens live there, so logins fail: major_outage
//     for the four web components; mail waits in the outbox and none is lost: degraded.
//   - No web process wrote its heartbeat (status_heartbeats, every 30 s) in the last 90 s: the
//     four web components are down. (A process that answers its heartbeat can reach
//     PostgreSQL; the ingress's own reachability is the probes' and alerts' business.)
//   - Mail: the oldest mail still waiting in any city's outbox, from the fleet job's five-minute
//     counts (no city's scope is opened): over 15 minutes partial_outage, over 60 major_outage;
//     more than 50 mails given up today: degraded.
//   - An open incident's components: the state written is the worse of the signals' and the
//     incident's, so the uptime counts what the vendor announced too.
type Watchdog struct {
	DB     *bun.DB
	Redis  redis.UniversalClient
	Status *tenant.StatusPage
	Log    *slog.Logger
	Now    func() time.Time

	seen map[tenant.Component]tenant.Observation
}

// Health is what the watchdog measured at one moment.
type Health struct {
	Postgres, Redis bool
	Signals         *tenant.HealthSignals // nil when PostgreSQL did not answer
}

// Evaluate turns the measured health into each component's state at now (see Watchdog).
func Evaluate(h Health, now time.Time) map[tenant.Component]tenant.Observation {
	out := map[tenant.Component]tenant.Observation{}
	web := []tenant.Component{tenant.CompCitizen, tenant.CompStaff, tenant.CompCallCenter, tenant.CompAPI}
	set := func(c tenant.Component, s tenant.ComponentState, detail string) {
		o := out[c]
		if o.State == tenant.StateUnknown {
			o.State = tenant.StateOperational
		}
		if tenant.Worse(o.State, s) != o.State {
			o.State, o.Detail = s, detail
		}
		out[c] = o
	}
	for _, c := range tenant.Components {
		set(c, tenant.StateOperational, "")
	}
	if !h.Postgres {
		for _, c := range web {
			set(c, tenant.StateMajor, "postgresql")
		}
		set(tenant.CompMail, tenant.StatePartial, "postgresql")
	}
	if !h.Redis {
		for _, c := range web {
			set(c, tenant.StateMajor, "redis")
		}
		set(tenant.CompMail, tenant.StateDegraded, "redis")
	}
	if s := h.Signals; s != nil {
		if s.WebProcesses == 0 {
			for _, c := range web {
				set(c, tenant.StateMajor, "no web process")
			}
		}
		if s.MailOldest != nil {
			switch age := now.Sub(*s.MailOldest); {
			case age > time.Hour:
				set(tenant.CompMail, tenant.StateMajor, fmt.Sprintf("outbox %d min", int(age.Minutes())))
			case age > 15*time.Minute:
				set(tenant.CompMail, tenant.StatePartial, fmt.Sprintf("outbox %d min", int(age.Minutes())))
			}
		}
		if s.MailFailed > 50 {
			set(tenant.CompMail, tenant.StateDegraded, fmt.Sprintf("%d failed today", s.MailFailed))
		}
		for _, inc := range s.Open {
			for c, st := range inc.Components {
				set(c, st, "incident")
			}
		}
	}
	return out
}

// Run looks once a minute until ctx is cancelled.
func (w *Watchdog) Run(ctx context.Context) error {
	for {
		if err := w.Step(ctx); err != nil && ctx.Err() == nil {
			w.Log.Warn("status watchdog", "err", err)
		}
		now := w.Now()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(tenant.WatchdogPeriod - now.Sub(now.Truncate(tenant.WatchdogPeriod)) + time.Second):
		}
	}
}

// Step measures, remembers since when each component is in its state, and writes the minute if
// this replica claims it.
func (w *Watchdog) Step(ctx context.Context) error {
	now := w.Now()
	if w.seen == nil {
		w.seen = map[tenant.Component]tenant.Observation{}
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	h := Health{Postgres: w.DB.PingContext(pctx) == nil, Redis: w.Redis.Ping(pctx).Err() == nil}
	var sigErr error
	if h.Postgres {
		if h.Signals, sigErr = w.Status.Signals(pctx); sigErr != nil {
			h.Postgres = false
		}
	}
	for c, o := range Evaluate(h, now) {
		if prev, ok := w.seen[c]; ok && prev.State == o.State {
			o.Since = prev.Since
		} else {
			o.Since = now
		}
		w.seen[c] = o
	}
	if !h.Postgres {
		return fmt.Errorf("postgresql: %v", sigErr) // kept in memory; written once it answers
	}
	_, err := w.Status.RecordStates(pctx, w.seen, now)
	return err
}
