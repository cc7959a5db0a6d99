package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/wneessen/go-mail"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/tenant"
)

// batchWorld books n citizens (citizenN@example.jp unless addr says otherwise) and returns the
// outbox ids of their confirmations, oldest first, and handlers sending through mailer.
func (e *env) batchWorld(t *testing.T, n int, addr func(i int) string) []uuid.UUID {
	t.Helper()
	slot := bookingtest.FirstSlot(t, e.svc, e.ten, e.loc, e.clock.Now())
	ids := make([]uuid.UUID, n)
	for i := range n {
		a := fmt.Sprintf("citizen%d@example.jp", i)
		if addr != nil {
			a = addr(i)
		}
		r := e.reserve(t, slot.ID, a, "ja")
		ids[i] = e.outbox(t, r.ID)[0].ID
	}
	return ids
}

func (e *env) handlers(t *testing.T, m jobs.Mailer) *jobs.Handlers {
	t.Helper()
	if m == nil {
		mailer, err := jobs.NewSMTPMailer("smtp://" + e.smtp)
		must(t, err)
		t.Cleanup(func() { mailer.Close() })
		m = mailer
	}
	return &jobs.Handlers{Log: e.log, Booking: e.svc, Tenants: tenant.NewDirectory(tenant.NewService(e.d.App), 0), Mailer: m,
		MailEnv: booking.MailEnv{BaseDomain: baseDomain}}
}

func batchTask(t *testing.T, tenantID uuid.UUID, ids []uuid.UUID) *asynq.Task {
	t.Helper()
	task, err := jobs.NewMailBatchTask(jobs.MailBatchPayload{TenantID: tenantID, OutboxIDs: ids})
	must(t, err)
	return task
}

// received counts the sink's messages per recipient.
func (e *env) received(t *testing.T) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, p := range e.messages(t) {
		got[p.To[0].Address]++
	}
	return got
}

func (e *env) row(t *testing.T, id uuid.UUID) *booking.OutboxMessage {
	t.Helper()
	m, err := e.svc.OutboxByID(context.Background(), e.ten.ID, id)
	must(t, err)
	return m
}

// TestMailBatchEachOutcomeOwn: in one batch a refused recipient (550) fails only its own row,
// told to staff on its reservation; a recipient refused for now (451) is counted on its row and
// sent by the batch's retry; every other mail goes out once, and the retry sends nothing twice.
func TestMailBatchEachOutcomeOwn(t *testing.T) {
	e := newEnv(t)
	var full atomic.Bool
	full.Store(true)
	e.sink.RejectRcpt = func(addr string) error {
		switch {
		case strings.HasPrefix(addr, "nobody@"):
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
		case strings.HasPrefix(addr, "full@") && full.Load():
			return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"}
		}
		return nil
	}
	addrs := []string{"a@example.jp", "nobody@example.jp", "b@example.jp", "full@example.jp", "c@example.jp"}
	ids := e.batchWorld(t, len(addrs), func(i int) string { return addrs[i] })
	h := e.handlers(t, nil)
	task := batchTask(t, e.ten.ID, ids)
	err := h.HandleMailBatch(context.Background(), task)
	if err == nil || errors.Is(err, asynq.SkipRetry) || !strings.Contains(err.Error(), "452") || strings.Contains(err.Error(), "full@") {
		t.Fatalf("first run: err = %v; want a retry for the 452, address masked", err)
	}
	if got := e.received(t); len(got) != 3 || got["a@example.jp"] != 1 || got["b@example.jp"] != 1 || got["c@example.jp"] != 1 {
		t.Fatalf("after the first run the sink has %v; want a, b, c once", got)
	}
	for i, want := range []booking.OutboxState{booking.OutboxSent, booking.OutboxFailed, booking.OutboxSent, booking.OutboxPending, booking.OutboxSent} {
		if row := e.row(t, ids[i]); row.State != want || row.Attempts != 1 {
			t.Errorf("%s: state %s, attempts %d; want %s after one attempt", addrs[i], row.State, row.Attempts, want)
		}
	}
	refused := e.row(t, ids[1])
	v, err := e.svc.ReservationByID(context.Background(), e.ten, refused.ReservationID)
	must(t, err)
	if !strings.Contains(v.MailError, "550") || strings.Contains(v.MailError, "nobody@") || !strings.Contains(refused.LastError, "550") {
		t.Errorf("refused mail: mail_error %q, last error %q; want the 550, address masked", v.MailError, refused.LastError)
	}
	if row := e.row(t, ids[3]); !strings.Contains(row.LastError, "452") {
		t.Errorf("the 452 row's last error = %q", row.LastError)
	}

	full.Store(false) // the mailbox has room again: asynq retries the batch
	if err := h.HandleMailBatch(context.Background(), task); err != nil {
		t.Fatalf("retry: %v", err)
	}
	got := e.received(t)
	for _, a := range addrs {
		want := 1
		if a == "nobody@example.jp" {
			want = 0
		}
		if got[a] != want {
			t.Errorf("%s received %d messages, want %d", a, got[a], want)
		}
	}
	if row := e.row(t, ids[3]); row.State != booking.OutboxSent || row.Attempts != 2 {
		t.Errorf("the 452 row after the retry: %s, attempts %d; want sent after two", row.State, row.Attempts)
	}
}

// stoppingMailer passes mail to the sink; before the send numbered stopAt it waits until the
// mails sent so far (but the last) are recorded in the database — the batch records while it
// sends, so a worker killed now repeats at most the last one — and then cancels the batch's
// context, as a shutdown or the task's timeout does.
type stoppingMailer struct {
	jobs.Mailer
	stopAt   int
	recorded func() int
	cancel   context.CancelFunc
	sent     int
	waited   bool
	seen     int // mails recorded sent when the stop came
}

func (m *stoppingMailer) Send(ctx context.Context, msg *mail.Msg) error {
	m.sent++
	if m.sent == m.stopAt {
		deadline := time.Now().Add(5 * time.Second)
		for m.recorded() < m.stopAt-2 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		m.seen = m.recorded()
		m.waited = m.seen >= m.stopAt-2
		m.cancel()
		return ctx.Err()
	}
	return m.Mailer.Send(ctx, msg)
}

// TestMailBatchStoppedMidway: a batch stopped after the SMTP server accepted some of its mails
// has recorded those while sending (not at its end), records them all when it stops, and gives
// the untried rows their leases back at once: the next run sends exactly the rest — no mail
// twice, none lost.
func TestMailBatchStoppedMidway(t *testing.T) {
	e := newEnv(t)
	const n = 8
	ids := e.batchWorld(t, n, nil)
	real, err := jobs.NewSMTPMailer("smtp://" + e.smtp)
	must(t, err)
	defer real.Close()
	sentRows := func() int {
		k := 0
		for _, id := range ids {
			if e.row(t, id).State == booking.OutboxSent {
				k++
			}
		}
		return k
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &stoppingMailer{Mailer: real, stopAt: 5, recorded: sentRows, cancel: cancel}
	h := e.handlers(t, m)
	task := batchTask(t, e.ten.ID, ids)
	if err := h.HandleMailBatch(ctx, task); err == nil {
		t.Fatal("a stopped batch returned nil; want an error, so that asynq runs it again")
	}
	if !m.waited {
		t.Errorf("before the 5th mail %d of the 4 sent were recorded; want at least 3, recorded while the batch sends", m.seen)
	}
	if n := e.sink.Count(); n != 4 {
		t.Fatalf("the sink has %d messages, want 4", n)
	}
	if k := sentRows(); k != 4 {
		t.Errorf("%d rows recorded sent, want the 4 accepted", k)
	}
	for i, id := range ids[4:] {
		want := 0 // untried: no attempt counted
		if i == 0 {
			want = 1 // the send the cancel broke off
		}
		if row := e.row(t, id); row.State != booking.OutboxPending || row.Attempts != want {
			t.Errorf("row %d: %s, attempts %d; want pending, %d attempts", 4+i, row.State, row.Attempts, want)
		}
	}
	// The next run (asynq's retry, no waiting for a lease) sends exactly the rest.
	h = e.handlers(t, real)
	if err := h.HandleMailBatch(context.Background(), task); err != nil {
		t.Fatalf("second run: %v", err)
	}
	got := e.received(t)
	for i := range n {
		if a := fmt.Sprintf("citizen%d@example.jp", i); got[a] != 1 {
			t.Errorf("%s received %d messages, want 1", a, got[a])
		}
	}
}

// TestMailBatchesOfOneCityConcurrent: overlapping batches of one city (a relay's batch and a
// sweep's, or a task delivered twice) run at once in two workers: every mail goes out once,
// busy rows are left to the worker holding them, and every row ends sent.
func TestMailBatchesOfOneCityConcurrent(t *testing.T) {
	e := newEnv(t)
	const n = 40
	ids := e.batchWorld(t, n, nil)
	batches := [][]uuid.UUID{ids[:30], ids[10:], ids[5:35], ids}
	var wg sync.WaitGroup
	for _, b := range batches {
		h := e.handlers(t, nil)
		task := batchTask(t, e.ten.ID, b)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				err := h.HandleMailBatch(context.Background(), task)
				if err == nil {
					return
				}
				if !errors.Is(err, booking.ErrMailBusy) {
					t.Errorf("batch: %v", err)
					return
				}
				time.Sleep(20 * time.Millisecond) // asynq's retry of a busy task
			}
			t.Error("batch still busy after 50 runs")
		}()
	}
	wg.Wait()
	got := e.received(t)
	for i := range n {
		if a := fmt.Sprintf("citizen%d@example.jp", i); got[a] != 1 {
			t.Errorf("%s received %d messages, want 1", a, got[a])
		}
	}
	for _, id := range ids {
		if row := e.row(t, id); row.State != booking.OutboxSent || row.Attempts != 1 {
			t.Errorf("row %s: %s, attempts %d; want sent after one attempt", id, row.State, row.Attempts)
		}
	}
}
