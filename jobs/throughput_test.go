package jobs_test

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/tenant"
)

var reminderCount = flag.Int("reminders", 300, "reminders TestReminderThroughput sends (e.g. -reminders=10000 to measure)")

// TestReminderThroughput measures the whole path of a reminder burst: QueueReminders writes one
// outbox row per booking, the relay hands them to asynq, one worker (concurrency 10, as
// `madoguchi worker`) renders each in its tenant scope, sends it to the local SMTP sink over
// kept connections and records it in the ledger. It runs small in `make test`; measure with
//
//	go test -count=1 -run TestReminderThroughput ./jobs/ -reminders=10000 -v
func TestReminderThroughput(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	slot := e.reminderSlot(t)
	n := *reminderCount
	mustBulkReservations(t, e, slot, n)
	e.startWorker(t, "w1", func(c *jobs.WorkerConfig) { c.Server.Concurrency = 10 })
	e.clock.Set(booking.DateOf(slot.StartsAt).AddDays(-1).Time(9, 0))

	start := time.Now()
	queued, err := e.svc.QueueReminders(ctx, e.ten)
	if err != nil || queued != n {
		t.Fatalf("QueueReminders = %d, %v; want %d", queued, err, n)
	}
	queuedIn := time.Since(start)
	if !e.sink.Wait(n, time.Duration(n)*20*time.Millisecond+30*time.Second) {
		t.Fatalf("received %d of %d reminders", e.sink.Count(), n)
	}
	elapsed := time.Since(start)
	rate := float64(n) / elapsed.Seconds()
	t.Logf("%d reminders: queued in %v, all received after %v: %.0f mails/s", n, queuedIn.Round(time.Millisecond), elapsed.Round(time.Millisecond), rate)
	fmt.Printf("reminder throughput: %d mails in %v = %.0f mails/s\n", n, elapsed.Round(time.Millisecond), rate)
	time.Sleep(300 * time.Millisecond)
	if got := e.sink.Count(); got != n {
		t.Errorf("received %d messages, want %d (no duplicates)", got, n)
	}
}

// mustBulkReservations writes n booked reservations with addresses into slot directly (a
// fixture shortcut: Reserve would take minutes for 10,000).
func mustBulkReservations(t *testing.T, e *env, slot *booking.Slot, n int) {
	t.Helper()
	const alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	now := e.clock.Now()
	for start := 0; start < n; start += 1000 {
		var batch []booking.Reservation
		for i := start; i < min(start+1000, n); i++ {
			code := []byte("ZZ")
			for k, v := 0, i; k < 6; k, v = k+1, v/32 {
				code = append(code, alphabet[v%32])
			}
			email := fmt.Sprintf("citizen%05d@example.jp", i)
			batch = append(batch, booking.Reservation{TenantID: e.ten.ID, Code: string(code), SlotID: slot.ID, LocationID: slot.LocationID,
				StartsAt: slot.StartsAt, Status: booking.Booked, Channel: tenant.ChannelWeb, Email: &email, Lang: "ja",
				PartySize: 1, CreatedAt: now, UpdatedAt: now})
		}
		must(t, tenant.InTx(context.Background(), e.d.App, e.ten.ID, func(ctx context.Context, tx bun.Tx) error {
			_, err := tx.NewInsert().Model(&batch).Exec(ctx)
			return err
		}))
	}
}
