package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// Relay hands outbox rows from PostgreSQL to asynq. Every pass walks the tenants of the global
// tenants table and, inside each tenant's own scope (never bypassing row-level security):
//
//  1. claims due rows — pending, or enqueued with an expired lease — with FOR UPDATE SKIP LOCKED
//     and a lease, in a short transaction (booking.ClaimOutbox), so concurrent relays share the
//     work and never take the same row;
//  2. enqueues the rows' tasks outside any transaction: fresh rows in batches of MailBatch, one
//     mail:batch task each (HandleMailBatch; task id from its rows), a lone fresh row or a swept
//     one under the task id "mail:"+outbox id (HandleMailSend); asynq.ErrTaskIDConflict means
//     the task is already queued, which counts as done;
//  3. marks the rows enqueued with a longer lease. A row still enqueued when that lease ends is
//     claimed again: if Redis lost its task (failover, restart without AOF) it is queued anew;
//     if the task is still there, the conflict just renews the lease.
//
// When Redis is unreachable the relay releases what it claimed and backs off (up to MaxBackoff);
// bookings keep committing their outbox rows meanwhile, and nothing is lost.
type Relay struct {
	Booking *booking.Service
	Tenants *tenant.Directory
	Client  *asynq.Client
	// Inspector, when set, lets a sweep revive a mail task that asynq archived after its last
	// retry while the row stayed open (the database was down for its whole retry span): the
	// archived task would otherwise keep its id taken and the row would never be sent.
	Inspector *asynq.Inspector
	Log       *slog.Logger
	Metrics   *Metrics

	Interval   time.Duration // between passes (default 1 s)
	MaxBackoff time.Duration // longest pause after errors (default 30 s)
	Batch      int           // rows claimed per tenant and round (default 200)
	MailBatch  int           // fresh rows sent by one mail:batch task (default 25; 1: one task per row)
	ClaimLease time.Duration // how long a claim keeps other relays off a row (default 30 s)
	SweepAfter time.Duration // how long an enqueued row waits for its mail before it is re-queued (default 10 min)
	StatsEvery time.Duration // how often the backlog gauges are refreshed (default 15 s)
}

// defaultMailBatch is how many fresh rows one mail:batch task sends. A batch costs two commits
// (start, record) for all its mails instead of two per mail, which was the bound of a city's
// reminder rush (each commit waits for the disk); more rows per batch save little more and
// lengthen a batch's retry.
const defaultMailBatch = 25

func (r *Relay) defaults() {
	if r.Interval <= 0 {
		r.Interval = time.Second
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = 30 * time.Second
	}
	if r.Batch <= 0 {
		r.Batch = 200
	}
	if r.MailBatch <= 0 {
		r.MailBatch = defaultMailBatch
	}
	if r.ClaimLease <= 0 {
		r.ClaimLease = 30 * time.Second
	}
	if r.SweepAfter <= 0 {
		r.SweepAfter = 10 * time.Minute
	}
	if r.StatsEvery <= 0 {
		r.StatsEvery = 15 * time.Second
	}
}

// Run relays until ctx is cancelled.
func (r *Relay) Run(ctx context.Context) error {
	r.defaults()
	wait, failing := r.Interval, false
	var lastStats time.Time
	for {
		n, err := r.Pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case err != nil:
			if !failing {
				r.Log.Warn("outbox relay paused: will retry", "err", err)
			}
			failing = true
			wait = min(wait*2, r.MaxBackoff)
		default:
			if failing {
				r.Log.Info("outbox relay resumed")
			}
			failing, wait = false, r.Interval
		}
		if n > 0 {
			r.Log.Debug("outbox relayed", "rows", n)
		}
		if time.Since(lastStats) >= r.StatsEvery {
			r.stats(ctx)
			lastStats = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// Pass relays every due row of every tenant once and returns how many rows it handed over. It
// stops at the first error (Redis or PostgreSQL unreachable).
func (r *Relay) Pass(ctx context.Context) (int, error) {
	r.defaults()
	tenants, err := r.Tenants.All(ctx)
	if err != nil {
		r.Metrics.relay(0, err)
		return 0, err
	}
	total := 0
	for _, t := range tenants {
		for {
			n, claimed, err := r.relayTenant(ctx, t.ID)
			total += n
			if err != nil {
				r.Metrics.relay(total, err)
				return total, err
			}
			if claimed < r.Batch {
				break
			}
		}
	}
	r.Metrics.relay(total, nil)
	return total, nil
}

func (r *Relay) relayTenant(ctx context.Context, tenantID uuid.UUID) (relayed, claimed int, err error) {
	rows, err := r.Booking.ClaimOutboxRows(ctx, tenantID, r.Batch, r.ClaimLease)
	if err != nil || len(rows) == 0 {
		return 0, 0, err
	}
	units := r.units(rows)
	done := make([]uuid.UUID, 0, len(rows))
	var enqErr error
	for i, ids := range units {
		var task *asynq.Task
		var err error
		if len(ids) == 1 {
			task, err = NewMailSendTask(MailPayload{TenantID: tenantID, OutboxID: ids[0]})
		} else {
			task, err = NewMailBatchTask(MailBatchPayload{TenantID: tenantID, OutboxIDs: ids})
		}
		if err == nil {
			_, err = r.Client.EnqueueContext(ctx, task)
		}
		if errors.Is(err, asynq.ErrTaskIDConflict) {
			if len(ids) == 1 {
				r.revive(ids[0])
			}
			err = nil
		}
		if err != nil {
			enqErr = err
			// Not handed over: free the rest for the next pass right away.
			var rest []uuid.UUID
			for _, u := range units[i:] {
				rest = append(rest, u...)
			}
			if rerr := r.Booking.ReleaseOutbox(context.WithoutCancel(ctx), tenantID, rest); rerr != nil {
				r.Log.Warn("release outbox rows", "err", rerr)
			}
			break
		}
		done = append(done, ids...)
	}
	if err := r.Booking.MarkOutboxEnqueued(context.WithoutCancel(ctx), tenantID, done, r.SweepAfter); err != nil {
		// The rows stay leased; once the lease ends they are claimed again and the task id
		// conflict makes that harmless.
		return len(done), len(rows), err
	}
	return len(done), len(rows), enqErr
}

// units groups claimed rows into tasks, oldest first: fresh rows (never handed to the queue) go
// in batches of up to MailBatch rows, one mail:batch task each (a lone fresh row is a
// mail:send task); a swept row (handed over before, not done after SweepAfter) gets its own
// mail:send task under its own id, so a task still queued or archived for it is found (the
// conflict, revive) and its retries stay its own.
func (r *Relay) units(rows []booking.OutboxClaim) [][]uuid.UUID {
	var units [][]uuid.UUID
	var batch []uuid.UUID
	for _, row := range rows {
		if !row.Fresh || r.MailBatch == 1 {
			units = append(units, []uuid.UUID{row.ID})
			continue
		}
		batch = append(batch, row.ID)
		if len(batch) == r.MailBatch {
			units = append(units, batch)
			batch = nil
		}
	}
	if len(batch) > 0 {
		units = append(units, batch)
	}
	return units
}

// stats refreshes the backlog gauges.
func (r *Relay) stats(ctx context.Context) {
	if r.Metrics == nil {
		return
	}
	tenants, err := r.Tenants.All(ctx)
	if err != nil {
		return
	}
	total := 0
	var oldest time.Time
	for _, t := range tenants {
		n, o, err := r.Booking.OutboxBacklog(ctx, t.ID)
		if err != nil {
			return
		}
		total += n
		if !o.IsZero() && (oldest.IsZero() || o.Before(oldest)) {
			oldest = o
		}
	}
	r.Metrics.outbox(total, oldest)
}

// revive puts an archived mail task of a row that is still open back in the queue.
func (r *Relay) revive(outboxID uuid.UUID) {
	if r.Inspector == nil {
		return
	}
	id := MailTaskID(outboxID)
	info, err := r.Inspector.GetTaskInfo(QueueMail, id)
	if err != nil || info.State != asynq.TaskStateArchived {
		return
	}
	if err := r.Inspector.RunTask(QueueMail, id); err != nil {
		r.Log.Warn("revive archived mail task", "task_id", id, "err", err)
		return
	}
	r.Log.Info("archived mail task revived: its outbox row is still open", "task_id", id)
}
