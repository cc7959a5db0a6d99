package jobs_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/uptrace/bun"
	"github.com/wneessen/go-mail"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/tenant"
)

// TestMailGoal is goal G7 in one run: the city's mail — half confirmations (outbox rows as
// Reserve writes them), half reminders (QueueReminders) — through the relay, one worker
// (concurrency 10, as `madoguchi worker`) and kept SMTP connections into the local sink, against
// the lower of two references measured just before on the same Redis and sink: asynq no-op tasks
// (one server, concurrency 10) and the sink's own rate (10 senders on kept connections). The
// goal is ≥ 0.4; CI runs it small (-reminders, default 300 mails each) and gates only the counts
// (every mail once), the ratio goes to the log. Measure with
//
//	go test -count=1 -run TestMailGoal ./jobs/ -reminders=10000 -v
func TestMailGoal(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	n := *reminderCount
	const workers = 10

	// asynq no-op tasks.
	rdb := e.redis.Client(t)
	var done atomic.Int64
	all := make(chan struct{})
	mux := asynq.NewServeMux()
	mux.HandleFunc("bench:noop", func(context.Context, *asynq.Task) error {
		if done.Add(1) == int64(n) {
			close(all)
		}
		return nil
	})
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{Concurrency: workers, Queues: map[string]int{"bench-noop": 1},
		TaskCheckInterval: 10 * time.Millisecond, LogLevel: asynq.FatalLevel})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(rdb)
	start := time.Now()
	for range n {
		if _, err := client.Enqueue(asynq.NewTask("bench:noop", nil), asynq.Queue("bench-noop")); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-all:
	case <-time.After(time.Duration(n)*10*time.Millisecond + 30*time.Second):
		t.Fatalf("asynq ran %d of %d no-op tasks", done.Load(), n)
	}
	noop := float64(n) / time.Since(start).Seconds()
	srv.Shutdown()

	// The sink alone: 10 senders, connections kept as the worker keeps them.
	mailer, err := jobs.NewSMTPMailer("smtp://" + e.smtp)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	var wg sync.WaitGroup
	var next atomic.Int64
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				m := mail.NewMsg()
				_ = m.From("noreply@example.lg.jp")
				_ = m.To(fmt.Sprintf("sink%05d@example.jp", i))
				m.Subject("予約のお知らせ")
				m.SetBodyString(mail.TypeTextPlain, "ご予約の日時をお知らせします。")
				if err := mailer.Send(ctx, m); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("send to the sink: %v", err)
	}
	sinkRate := float64(n) / time.Since(start).Seconds()
	mailer.Close()
	if got := e.sink.Count(); got != n {
		t.Fatalf("the sink has %d messages, want %d", got, n)
	}

	// The city's mail: n/2 bookings, each with its confirmation and its reminder.
	slot := e.reminderSlot(t)
	k := n / 2
	mustBulkReservations(t, e, slot, k)
	var ids []uuid.UUID
	must(t, tenant.InTx(ctx, e.d.App, e.ten.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Table("reservations").Column("id").Where("slot_id = ?", slot.ID).Scan(ctx, &ids)
	}))
	if len(ids) != k {
		t.Fatalf("%d bookings, want %d", len(ids), k)
	}
	e.clock.Set(booking.DateOf(slot.StartsAt).AddDays(-1).Time(9, 0))
	now := e.clock.Now()
	start = time.Now()
	must(t, tenant.InTx(ctx, e.d.App, e.ten.ID, func(ctx context.Context, tx bun.Tx) error {
		rows := make([]booking.OutboxMessage, len(ids))
		for i, id := range ids {
			rows[i] = booking.OutboxMessage{TenantID: e.ten.ID, ID: uuid.New(), Kind: booking.KindCreated, ReservationID: id,
				Data: []byte("{}"), State: "pending", CreatedAt: now, UpdatedAt: now}
		}
		_, err := tx.NewInsert().Model(&rows).Exec(ctx)
		return err
	}))
	e.startWorker(t, "w1", func(c *jobs.WorkerConfig) { c.Server.Concurrency = workers })
	if queued, err := e.svc.QueueReminders(ctx, e.ten); err != nil || queued != k {
		t.Fatalf("QueueReminders = %d, %v; want %d", queued, err, k)
	}
	want := n + 2*k
	if !e.sink.Wait(want, time.Duration(2*k)*20*time.Millisecond+30*time.Second) {
		t.Fatalf("the sink has %d messages, want %d", e.sink.Count(), want)
	}
	rate := float64(2*k) / time.Since(start).Seconds()
	time.Sleep(300 * time.Millisecond)
	if got := e.sink.Count(); got != want {
		t.Errorf("the sink has %d messages, want %d (no duplicates)", got, want)
	}
	ref, refName := min(noop, sinkRate), "asynq no-op tasks"
	if sinkRate < noop {
		refName = "the SMTP sink"
	}
	holds := "holds"
	if rate < 0.4*ref {
		holds = "does not hold"
	}
	msg := fmt.Sprintf("G7: %d mails (confirmations and reminders) %.0f/s; asynq no-op %.0f/s, SMTP sink %.0f/s; ratio to %s %.3f (goal ≥ 0.4: %s)",
		2*k, rate, noop, sinkRate, refName, rate/ref, holds)
	t.Log(msg)
	fmt.Println(msg)
}
