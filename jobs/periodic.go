package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// PeriodicJob is work done for every active tenant once per tick.
type PeriodicJob struct {
	Name     string        // key in periodic_runs, e.g. "reminders"
	Every    time.Duration // tick length; ticks are aligned to JST midnight
	TaskType string        // the per-tenant task enqueued for each tick
	AtStart  bool          // also claim a start-up tick (Every/…): slots exist right after a deploy
	// Offset moves the ticks from JST midnight, e.g. 3h for a daily job at 03:00 JST, a quiet
	// hour. A replica that starts after the offset runs the day's tick at once if nobody has.
	Offset time.Duration
	// Training: the job is for the training cities (研修用) only; otherwise for every city.
	Training bool
}

// DefaultPeriodicJobs are the worker's periodic jobs.
var DefaultPeriodicJobs = []PeriodicJob{
	{Name: "reminders", Every: time.Minute, TaskType: TypeRemindersQueue},
	{Name: "holds", Every: time.Minute, TaskType: TypeHoldsRelease},
	{Name: "slots", Every: 24 * time.Hour, TaskType: TypeSlotsGenerate, AtStart: true},
	{Name: "outbox-cleanup", Every: 24 * time.Hour, TaskType: TypeOutboxCleanup},
	{Name: "retention", Every: 24 * time.Hour, Offset: 3 * time.Hour, TaskType: TypeRetentionApply},
	// The fleet overview's figures, counted in each city's scope (two reads and one upsert per
	// city): every five minutes, the width of the event counters' buckets. Every minute would
	// cost 1,741 tasks a minute, each kept two hours in Redis for its task id, for figures the
	// vendor reads at a glance; alerts come from Prometheus, not from this overview.
	{Name: "fleet", Every: 5 * time.Minute, TaskType: TypeFleetFigures},
	// The training cities are put back to their fresh state every night at 02:00 JST.
	{Name: "training-reset", Every: 24 * time.Hour, Offset: 2 * time.Hour, TaskType: TypeTrainingReset, Training: true},
}

// Scheduler runs the periodic jobs on every worker replica without a leader; each tick is
// claimed once, so replicas never duplicate work (see README, 'Mail and background jobs'). For
// each job and tick, each replica tries
//
//	INSERT INTO periodic_runs (name, tick) … ON CONFLICT DO NOTHING
//
// and only the one whose insert succeeds enqueues the tick's tasks, one per active tenant, with
// the task id job:tenant:tick. Once Redis took them all the claim is marked enqueued; a claim
// left unmarked (Redis down, replica died) is enqueued again by any replica after RetryAfter,
// newest tick only. A replica whose clock is a little off claims the same ticks, not extra
// ones, and every handler is idempotent anyway.
type Scheduler struct {
	DB       *bun.DB // periodic_runs is a global table (no tenant data)
	Tenants  *tenant.Directory
	Client   *asynq.Client
	Log      *slog.Logger
	Metrics  *Metrics
	Jobs     []PeriodicJob    // default DefaultPeriodicJobs
	Now      func() time.Time // the clock ticks are computed from (default time.Now)
	Interval time.Duration    // how often the clock is looked at (default 5 s)
	// RetryAfter is how long a claim may stay not enqueued before any replica enqueues it
	// again (default 1 min).
	RetryAfter time.Duration
	Name       string // this replica, recorded in claimed_by

	last map[string]time.Time
}

// Tick returns the start of the tick of length every that contains t, aligned to JST midnight.
func Tick(t time.Time, every time.Duration) time.Time {
	const off = 9 * time.Hour
	return t.Add(off).Truncate(every).Add(-off).In(booking.JST)
}

func (s *Scheduler) defaults() {
	if s.Jobs == nil {
		s.Jobs = DefaultPeriodicJobs
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Interval <= 0 {
		s.Interval = 5 * time.Second
	}
	if s.RetryAfter <= 0 {
		s.RetryAfter = time.Minute
	}
	if s.last == nil {
		s.last = map[string]time.Time{}
	}
}

// Run looks at the clock every Interval until ctx is cancelled.
func (s *Scheduler) Run(ctx context.Context) error {
	s.defaults()
	for _, j := range s.Jobs {
		if j.AtStart {
			// Restarts of several replicas within ten minutes share one start-up run.
			if _, err := s.claimAndEnqueue(ctx, j, j.Name+".start", Tick(s.Now(), 10*time.Minute)); err != nil && ctx.Err() == nil {
				s.Log.Warn("periodic start-up run", "job", j.Name, "err", err)
			}
		}
	}
	for {
		if err := s.Step(ctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("periodic jobs", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.Interval):
		}
	}
}

// Step claims and enqueues the current tick of every job this replica has not seen yet, then
// re-enqueues claims that were never enqueued. It returns the errors.
func (s *Scheduler) Step(ctx context.Context) error {
	s.defaults()
	now := s.Now()
	var first error
	for _, j := range s.Jobs {
		tick := Tick(now.Add(-j.Offset), j.Every).Add(j.Offset)
		if s.last[j.Name].Equal(tick) {
			continue
		}
		if _, err := s.claimAndEnqueue(ctx, j, j.Name, tick); err != nil {
			first = errors.Join(first, fmt.Errorf("%s: %w", j.Name, err))
			continue // the claim (if made) is re-enqueued by the sweep
		}
		s.last[j.Name] = tick
	}
	if err := s.sweep(ctx); err != nil {
		first = errors.Join(first, err)
	}
	return first
}

// claimAndEnqueue claims (name, tick) and, if this replica won, enqueues the job's tasks.
func (s *Scheduler) claimAndEnqueue(ctx context.Context, j PeriodicJob, name string, tick time.Time) (bool, error) {
	var got []string
	err := s.DB.NewRaw(`INSERT INTO periodic_runs (name, tick, claimed_by) VALUES (?, ?, ?)
		ON CONFLICT DO NOTHING RETURNING name`, name, tick, s.Name).Scan(ctx, &got)
	if err != nil {
		return false, fmt.Errorf("claim %s at %s: %w", name, tick.Format(time.RFC3339), err)
	}
	if len(got) == 0 {
		return false, nil // another replica has it
	}
	s.Metrics.claimed(j.Name)
	return true, s.enqueue(ctx, j, name, tick)
}

func (s *Scheduler) enqueue(ctx context.Context, j PeriodicJob, name string, tick time.Time) error {
	tenants, err := s.Tenants.Active(ctx)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if j.Training && !t.Training() {
			continue
		}
		task, err := NewTenantTask(j.TaskType, TenantPayload{TenantID: t.ID, Tick: tick})
		if err != nil {
			return err
		}
		if _, err := s.Client.EnqueueContext(ctx, task); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return fmt.Errorf("enqueue %s for %s: %w", j.TaskType, t.Slug, err)
		}
	}
	_, err = s.DB.ExecContext(ctx, "UPDATE periodic_runs SET enqueued_at = now() WHERE name = ? AND tick = ?", name, tick)
	return err
}

// sweep re-enqueues the newest claim per job that has waited over a minute without reaching
// Redis, retires older ones (the newest run covers them: the jobs work from the current state),
// and forgets claims older than a week.
func (s *Scheduler) sweep(ctx context.Context) error {
	type claim struct {
		Name string    `bun:"name"`
		Tick time.Time `bun:"tick"`
	}
	var stuck []claim
	forget := s.Now().Add(-7 * 24 * time.Hour) // ticks are on the scheduler's clock
	err := tenant.RunTx(ctx, s.DB, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE periodic_runs p SET enqueued_at = now() WHERE enqueued_at IS NULL
			AND tick < (SELECT max(tick) FROM periodic_runs q WHERE q.name = p.name)`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM periodic_runs WHERE tick < ?`, forget); err != nil {
			return err
		}
		return tx.NewRaw(`UPDATE periodic_runs SET claimed_at = now(), claimed_by = ?
			WHERE (name, tick) IN (SELECT name, tick FROM periodic_runs WHERE enqueued_at IS NULL AND claimed_at < now() - make_interval(secs => ?)
				FOR UPDATE SKIP LOCKED)
			RETURNING name, tick`, s.Name, s.RetryAfter.Seconds()).Scan(ctx, &stuck)
	})
	if err != nil {
		return fmt.Errorf("sweep periodic claims: %w", err)
	}
	var first error
	for _, c := range stuck {
		for _, j := range s.Jobs {
			if c.Name == j.Name || c.Name == j.Name+".start" {
				if err := s.enqueue(ctx, j, c.Name, c.Tick); err != nil {
					first = errors.Join(first, err)
				}
			}
		}
	}
	return first
}
