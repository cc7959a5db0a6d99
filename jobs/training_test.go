package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/tenant"
)

// openTraining opens the env city's training copy and returns it with one of its fictitious
// cards that has no booking.
func (e *env) openTraining(t *testing.T) (*tenant.Tenant, uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	tr, _, err := e.svc.OpenTraining(ctx, e.ten, tenant.VendorCLI())
	if err != nil {
		t.Fatal(err)
	}
	var card uuid.UUID
	must(t, tenant.InTx(ctx, e.d.App, tr.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.QueryRowContext(ctx, "SELECT id FROM cards WHERE status = 'notice_sent' ORDER BY card_no LIMIT 1").Scan(&card)
	}))
	return tr, card
}

// TestTrainingMailNeverDelivered: a booking in a training city with a citizen's address, through
// the real worker and SMTP sink, sends nothing: the row is skipped with the reason, while the
// real city's mail of the same moment arrives.
func TestTrainingMailNeverDelivered(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tr, card := e.openTraining(t)
	var slot uuid.UUID
	must(t, tenant.InTx(ctx, e.d.App, tr.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.QueryRowContext(ctx, "SELECT id FROM slots WHERE open AND booked = 0 AND starts_at > ? ORDER BY starts_at DESC LIMIT 1", e.clock.Now()).Scan(&slot)
	}))
	practice, err := e.svc.Reserve(ctx, tr, booking.ReserveInput{SlotID: slot, CardIDs: []uuid.UUID{card},
		Email: "someone.real@example.jp", Actor: tenant.Staff(uuid.Nil, tenant.TrainingAdminLogin, "")})
	if err != nil {
		t.Fatal(err)
	}
	real := e.reserve(t, e.slotOn(t, booking.FirstBookableDay(e.ten, e.clock.Now())).ID, "citizen@example.jp", "ja")
	e.startWorker(t, "w1")
	if !e.sink.Wait(1, 10*time.Second) {
		t.Fatal("the real city's mail did not arrive")
	}
	var rows []booking.OutboxMessage
	waitFor(t, 10*time.Second, "the training mail to be settled", func() bool {
		rows = nil
		must(t, tenant.InTx(ctx, e.d.App, tr.ID, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewSelect().Model(&rows).Where("reservation_id = ?", practice.ID).Scan(ctx)
		}))
		return len(rows) == 1 && rows[0].State != booking.OutboxPending && rows[0].State != booking.OutboxEnqueued
	})
	if rows[0].State != booking.OutboxSkipped || rows[0].LastError != booking.TrainingMailNote {
		t.Errorf("training mail: %s %q, want skipped %q", rows[0].State, rows[0].LastError, booking.TrainingMailNote)
	}
	time.Sleep(300 * time.Millisecond)
	msgs := e.sink.Messages()
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != *real.Email {
		t.Errorf("sink received %d messages (%v), want only the real city's", len(msgs), msgs)
	}
}

// TestTrainingResetNightly: the scheduler resets the training cities at 02:00 JST on its
// (injected) clock, as the system, and enqueues nothing for a real city.
func TestTrainingResetNightly(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	night := booking.DateOf(e.clock.Now()).AddDays(1).Time(2, 0)
	e.clock.Set(night.Add(-time.Hour)) // 01:00 JST
	tr, _ := e.openTraining(t)
	var practice uuid.UUID
	must(t, tenant.InTx(ctx, e.d.App, tr.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.QueryRowContext(ctx, "SELECT id FROM reservations LIMIT 1").Scan(&practice)
	}))
	must(t, e.svc.Cancel(ctx, tr, practice, tenant.Staff(uuid.Nil, tenant.TrainingAdminLogin, "")))
	var job jobs.PeriodicJob
	for _, j := range jobs.DefaultPeriodicJobs {
		if j.TaskType == jobs.TypeTrainingReset {
			job = j
		}
	}
	if !job.Training || job.Every != 24*time.Hour || job.Offset != 2*time.Hour {
		t.Fatalf("the nightly reset job = %+v", job)
	}
	e.clock.Set(night.Add(30 * time.Second)) // 02:00:30 JST
	e.startWorker(t, "w1", withJobs(job))
	audit := func(id uuid.UUID) []string {
		var rows []string
		must(t, tenant.InTx(ctx, e.d.App, id, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewRaw("SELECT actor || ' ' || action FROM audit_log ORDER BY at").Scan(ctx, &rows)
		}))
		return rows
	}
	waitFor(t, 15*time.Second, "the nightly reset", func() bool {
		rows := audit(tr.ID)
		return len(rows) == 1 && rows[0] == "training-reset training.reset"
	})
	var cancelled int
	must(t, tenant.InTx(ctx, e.d.App, tr.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.QueryRowContext(ctx, "SELECT count(*) FROM reservations WHERE status <> 'booked'").Scan(&cancelled)
	}))
	if cancelled != 0 {
		t.Errorf("%d practice cancellations survived the night", cancelled)
	}
	var tick time.Time
	must(t, e.d.Owner.QueryRowContext(ctx, "SELECT tick FROM periodic_runs WHERE name = 'training-reset'").Scan(&tick))
	if !tick.Equal(night) {
		t.Errorf("reset tick %s, want %s (02:00 JST)", tick, night)
	}
	for _, r := range audit(e.ten.ID) {
		if r == "training-reset training.reset" {
			t.Error("the real city was reset")
		}
	}
}
