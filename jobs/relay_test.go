package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/tenant"
)

// relayOnly returns a relay on the env's Redis without a server, for stepping by hand.
func (e *env) relayOnly(t *testing.T) (*jobs.Relay, *asynq.Inspector) {
	t.Helper()
	rdb := e.redis.Client(t)
	client := asynq.NewClientFromRedisClient(rdb)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	r := &jobs.Relay{Booking: e.svc, Tenants: tenant.NewDirectory(tenant.NewService(e.d.App), time.Millisecond), Client: client,
		Inspector: insp, Log: e.log, SweepAfter: time.Second, ClaimLease: time.Second}
	return r, insp
}

func pendingMail(t *testing.T, insp *asynq.Inspector) int {
	t.Helper()
	q, err := insp.GetQueueInfo(jobs.QueueMail)
	if err != nil {
		return 0 // no queue yet
	}
	return q.Pending
}

// queuedRows counts the distinct outbox rows named by the pending mail tasks (mail:send names
// one, mail:batch several); a row named twice fails the test.
func queuedRows(t *testing.T, insp *asynq.Inspector) int {
	t.Helper()
	seen := map[uuid.UUID]bool{}
	for page := 1; ; page++ {
		tasks, err := insp.ListPendingTasks(jobs.QueueMail, asynq.PageSize(500), asynq.Page(page))
		if err != nil || len(tasks) == 0 {
			break
		}
		for _, ti := range tasks {
			var ids []uuid.UUID
			switch ti.Type {
			case jobs.TypeMailSend:
				var p jobs.MailPayload
				must(t, json.Unmarshal(ti.Payload, &p))
				ids = []uuid.UUID{p.OutboxID}
			case jobs.TypeMailBatch:
				var p jobs.MailBatchPayload
				must(t, json.Unmarshal(ti.Payload, &p))
				ids = p.OutboxIDs
			}
			for _, id := range ids {
				if seen[id] {
					t.Errorf("row %s queued twice", id)
				}
				seen[id] = true
			}
		}
	}
	return len(seen)
}

// TestRedisDownBookingMailedAfterRestart: a booking made while Redis is stopped commits; its
// mail arrives once Redis is back (empty: it had no persistence), exactly once.
func TestRedisDownBookingMailedAfterRestart(t *testing.T) {
	e := newEnv(t)
	e.startWorker(t, "w1")
	slot := bookingtest.FirstSlot(t, e.svc, e.ten, e.loc, e.clock.Now())
	e.redis.Stop()
	r := e.reserve(t, slot.ID, "taro@example.jp", "ja") // commits without Redis
	time.Sleep(time.Second)                             // the relay fails and backs off meanwhile
	if n := e.sink.Count(); n != 0 {
		t.Fatalf("received %d messages while Redis was down", n)
	}
	if st := e.outbox(t, r.ID)[0].State; st != booking.OutboxPending {
		t.Fatalf("outbox state while Redis is down = %s, want pending", st)
	}
	e.redis.Start()
	if !e.sink.Wait(1, 20*time.Second) {
		t.Fatal("mail not delivered after Redis came back")
	}
	waitFor(t, 5*time.Second, "outbox sent", func() bool { return e.outbox(t, r.ID)[0].State == booking.OutboxSent })
	time.Sleep(500 * time.Millisecond)
	if n := e.sink.Count(); n != 1 {
		t.Errorf("received %d copies, want 1", n)
	}
}

// TestRelayOutOfOrderCommits: rows are claimed by state, so a row whose transaction commits
// after a newer row was relayed is still relayed.
func TestRelayOutOfOrderCommits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	slot := bookingtest.FirstSlot(t, e.svc, e.ten, e.loc, e.clock.Now())
	res := e.reserve(t, slot.ID, "", "ja")
	relay, insp := e.relayOnly(t)

	// Transaction A writes its row first but commits last.
	txA, err := e.d.App.BeginTx(ctx, nil)
	must(t, err)
	defer txA.Rollback()
	_, err = txA.ExecContext(ctx, "SELECT set_config('app.tenant_id', ?, true)", e.ten.ID.String())
	must(t, err)
	_, err = txA.ExecContext(ctx, "INSERT INTO outbox (tenant_id, kind, reservation_id) VALUES (?, 'reservation_created', ?)", e.ten.ID, res.ID)
	must(t, err)
	must(t, tenant.InTx(ctx, e.d.App, e.ten.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO outbox (tenant_id, kind, reservation_id) VALUES (?, 'reservation_changed', ?)", e.ten.ID, res.ID)
		return err
	}))
	if n, err := relay.Pass(ctx); err != nil || n != 1 {
		t.Fatalf("first pass = %d, %v; want the committed row", n, err)
	}
	must(t, txA.Commit())
	if n, err := relay.Pass(ctx); err != nil || n != 1 {
		t.Fatalf("second pass = %d, %v; want the late row", n, err)
	}
	if n := pendingMail(t, insp); n != 2 {
		t.Errorf("queued tasks = %d, want 2", n)
	}
}

// TestRelayRedisLostTask: Redis loses an enqueued task (failover, restart without AOF); after
// the sweep lease the relay queues the row again, and the mail goes out once.
func TestRelayRedisLostTask(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	slot := bookingtest.FirstSlot(t, e.svc, e.ten, e.loc, e.clock.Now())
	r := e.reserve(t, slot.ID, "taro@example.jp", "ja")
	relay, _ := e.relayOnly(t)
	if n, err := relay.Pass(ctx); err != nil || n != 1 {
		t.Fatalf("Pass = %d, %v", n, err)
	}
	if st := e.outbox(t, r.ID)[0].State; st != booking.OutboxEnqueued {
		t.Fatalf("state = %s, want enqueued", st)
	}
	// Within the lease the row is left alone; a second pass re-enqueuing would be refused anyway.
	if n, _ := relay.Pass(ctx); n != 0 {
		t.Errorf("pass within the lease relayed %d rows", n)
	}
	must(t, e.redis.Client(t).FlushAll(ctx).Err())
	time.Sleep(1100 * time.Millisecond) // SweepAfter
	if n, err := relay.Pass(ctx); err != nil || n != 1 {
		t.Fatalf("sweep pass = %d, %v; want the lost row again", n, err)
	}
	// After FLUSHALL the client does not register the queue name again (the inspector then
	// reports "queue not found"; the server still serves the queue), so look at the keys.
	rdb := e.redis.Client(t)
	id := e.outbox(t, r.ID)[0].ID
	if n, err := rdb.LLen(ctx, "asynq:{mail}:pending").Result(); err != nil || n != 1 ||
		rdb.Exists(ctx, "asynq:{mail}:t:"+jobs.MailTaskID(id)).Val() != 1 {
		t.Fatalf("after the sweep: %d pending (%v), want the task again", n, err)
	}
	// While the task is queued, another sweep just renews the lease (task id conflict).
	time.Sleep(1100 * time.Millisecond)
	if n, err := relay.Pass(ctx); err != nil || n != 1 {
		t.Fatalf("sweep with the task still queued = %d, %v", n, err)
	}
	e.startWorker(t, "w1")
	if !e.sink.Wait(1, 10*time.Second) {
		t.Fatal("mail not delivered")
	}
	time.Sleep(500 * time.Millisecond)
	if n := e.sink.Count(); n != 1 {
		t.Errorf("received %d copies, want 1", n)
	}
}

// TestRelayRevivesArchivedTask: a mail task that asynq archived while its row stayed open (the
// database was unreachable for its whole retry span) is put back in the queue by the sweep.
func TestRelayRevivesArchivedTask(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	slot := bookingtest.FirstSlot(t, e.svc, e.ten, e.loc, e.clock.Now())
	r := e.reserve(t, slot.ID, "taro@example.jp", "ja")
	relay, insp := e.relayOnly(t)
	if n, err := relay.Pass(ctx); err != nil || n != 1 {
		t.Fatalf("Pass = %d, %v", n, err)
	}
	taskID := jobs.MailTaskID(e.outbox(t, r.ID)[0].ID)
	must(t, insp.ArchiveTask(jobs.QueueMail, taskID))
	time.Sleep(1100 * time.Millisecond) // SweepAfter
	if n, err := relay.Pass(ctx); err != nil || n != 1 {
		t.Fatalf("sweep pass = %d, %v", n, err)
	}
	if ti, err := insp.GetTaskInfo(jobs.QueueMail, taskID); err != nil || ti.State != asynq.TaskStatePending {
		t.Fatalf("task after the sweep: %v, %v; want pending again", ti, err)
	}
	e.startWorker(t, "w1")
	if !e.sink.Wait(1, 10*time.Second) {
		t.Fatal("mail not delivered")
	}
}

// TestTwoRelaysShareRows: two relays over 1,000 rows hand each row to the queue exactly once.
func TestTwoRelaysShareRows(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	slot := bookingtest.FirstSlot(t, e.svc, e.ten, e.loc, e.clock.Now())
	res := e.reserve(t, slot.ID, "", "ja")
	must(t, tenant.InTx(ctx, e.d.App, e.ten.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO outbox (tenant_id, kind, reservation_id)
			SELECT ?, 'reservation_created', ? FROM generate_series(1, 1000)`, e.ten.ID, res.ID)
		return err
	}))
	a, insp := e.relayOnly(t)
	b, _ := e.relayOnly(t)
	a.Batch, b.Batch = 50, 50
	a.SweepAfter, b.SweepAfter = time.Hour, time.Hour
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i, r := range []*jobs.Relay{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				n, err := r.Pass(ctx)
				if err != nil {
					t.Error(err)
				}
				counts[i] += n
			}
		}()
	}
	wg.Wait()
	if queued := queuedRows(t, insp); counts[0]+counts[1] != 1000 || queued != 1000 {
		t.Errorf("relayed %v (sum %d), %d rows in queued tasks; want 1000 each once", counts, counts[0]+counts[1], queued)
	}
	if counts[0] == 0 || counts[1] == 0 {
		t.Logf("note: one relay took every row (%v)", counts)
	}
	var left int
	must(t, tenant.InTx(ctx, e.d.App, e.ten.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT count(*) FROM outbox WHERE state <> 'enqueued'").Scan(ctx, &left)
	}))
	if left != 0 {
		t.Errorf("%d rows not enqueued", left)
	}
}

// TestReminderOnceWithTwoWorkers: two complete workers (asynq servers, relays, schedulers) with
// the same clock send each reminder once.
func TestReminderOnceWithTwoWorkers(t *testing.T) {
	e := newEnv(t)
	slot := e.reminderSlot(t)
	day := booking.DateOf(slot.StartsAt)
	const n = 5
	for i := range n {
		e.reserve(t, slot.ID, fmt.Sprintf("citizen%d@example.jp", i), "ja")
	}
	reminders := withJobs(jobs.PeriodicJob{Name: "reminders", Every: time.Minute, TaskType: jobs.TypeRemindersQueue})
	skewed := func(c *jobs.WorkerConfig) { c.Now = func() time.Time { return e.clock.Now().Add(2 * time.Second) } }
	e.startWorker(t, "w1", reminders)
	e.startWorker(t, "w2", reminders, skewed) // its clock runs two seconds ahead
	if !e.sink.Wait(n, 10*time.Second) {
		t.Fatalf("confirmations: %d of %d", e.sink.Count(), n)
	}
	// The reminder hour of the day before, then a few more minutes: each tick is claimed once and
	// every reminder is sent once.
	claims := func() (names []string) {
		must(t, e.d.App.NewRaw("SELECT claimed_by FROM periodic_runs WHERE name = 'reminders' AND tick >= ? ORDER BY tick",
			day.AddDays(-1).Time(9, 0)).Scan(context.Background(), &names))
		return names
	}
	for m := range 3 {
		e.clock.Set(day.AddDays(-1).Time(9, m).Add(-time.Second)) // w2 is already in the new minute
		waitFor(t, 5*time.Second, "the tick's claim", func() bool { return len(claims()) == m+1 })
		e.clock.Set(day.AddDays(-1).Time(9, m).Add(30 * time.Second))
		time.Sleep(200 * time.Millisecond) // w1 now sees the tick too, and must not claim it again
	}
	if !e.sink.Wait(2*n, 10*time.Second) {
		t.Fatalf("received %d messages, want %d confirmations and reminders", e.sink.Count(), 2*n)
	}
	time.Sleep(time.Second)
	got := map[string]int{}
	for _, p := range e.messages(t) {
		got[p.To[0].Address]++
	}
	for i := range n {
		if a := fmt.Sprintf("citizen%d@example.jp", i); got[a] != 2 {
			t.Errorf("%s received %d messages, want 2 (confirmation, reminder)", a, got[a])
		}
	}
	if c := claims(); len(c) != 3 {
		t.Errorf("periodic claims for 09:00–09:02 = %v, want one per tick", c)
	}
}

// TestRemindersCancelledAndMoved: no reminder for a cancelled booking; a moved booking gets one
// for its new day only.
func TestRemindersCancelledAndMoved(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	slot := e.reminderSlot(t)
	day := booking.DateOf(slot.StartsAt)
	later := e.slotOn(t, day.AddDays(3))
	e.reserve(t, slot.ID, "kept@example.jp", "ja")
	cancelled := e.reserve(t, slot.ID, "cancelled@example.jp", "ja")
	moved := e.reserve(t, slot.ID, "moved@example.jp", "ja")
	e.startWorker(t, "w1", withJobs(jobs.PeriodicJob{Name: "reminders", Every: time.Minute, TaskType: jobs.TypeRemindersQueue}))
	if !e.sink.Wait(3, 10*time.Second) {
		t.Fatal("confirmations not sent")
	}
	must(t, e.svc.Cancel(ctx, e.ten, cancelled.ID, web))
	if _, err := e.svc.Change(ctx, e.ten, moved.ID, later.ID, uuid.Nil, web); err != nil {
		t.Fatal(err)
	}
	if !e.sink.Wait(5, 10*time.Second) {
		t.Fatal("cancellation and change mail not sent")
	}
	reminderTo := func() map[string][]*parsed {
		out := map[string][]*parsed{}
		for _, p := range e.messages(t) {
			if p.Header.Get("Message-Id") != "" && containsAll(p.Subject, "近づいています") {
				out[p.To[0].Address] = append(out[p.To[0].Address], p)
			}
		}
		return out
	}
	e.clock.Set(day.AddDays(-1).Time(9, 0).Add(time.Second))
	if !e.sink.Wait(6, 10*time.Second) {
		t.Fatal("reminder not sent")
	}
	time.Sleep(time.Second)
	if r := reminderTo(); len(r) != 1 || len(r["kept@example.jp"]) != 1 {
		t.Fatalf("reminders the day before the first day went to %v, want kept@ only", keys(r))
	}
	e.clock.Set(booking.DateOf(later.StartsAt).AddDays(-1).Time(9, 0).Add(time.Second))
	if !e.sink.Wait(7, 10*time.Second) {
		t.Fatal("reminder for the new day not sent")
	}
	time.Sleep(time.Second)
	r := reminderTo()
	if len(r["moved@example.jp"]) != 1 || len(r["cancelled@example.jp"]) != 0 || len(r["kept@example.jp"]) != 1 {
		t.Fatalf("reminders: %v", keys(r))
	}
	if p := r["moved@example.jp"][0]; !containsAll(p.Body, booking.FormatSlot("ja", later.StartsAt, later.EndsAt)) {
		t.Errorf("moved booking's reminder does not show the new time:\n%s", p.Body)
	}
	if n := e.sink.Count(); n != 7 {
		t.Errorf("received %d messages, want 7", n)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
