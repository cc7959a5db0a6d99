package jobs_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/jobs/jobstest"
	"github.com/madoguchi/madoguchi/jobs/mailsink"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// env is one test's world: a database, a city with a location, a Redis, an SMTP sink.
type env struct {
	d     *tenanttest.DB
	svc   *booking.Service
	ten   *tenant.Tenant
	loc   *booking.Location
	clock *tenanttest.Clock
	redis *jobstest.Redis
	sink  *mailsink.Sink
	smtp  string // sink address
	log   *slog.Logger
}

const baseDomain = "example.lg.jp"

// newEnv builds the world with the clock standing at the moment the tests run at
// (tenanttest.Now).
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{d: tenanttest.NewDB(t), clock: tenanttest.NewClock(), redis: jobstest.StartRedis(t), log: testLogger(t)}
	e.svc = bookingtest.Service(e.d.App, e.clock.Now)
	e.ten = tenanttest.MustCreateTenant(t, e.d.App)
	e.loc = bookingtest.MustLocation(t, e.svc, e.ten, "本庁 戸籍住民課", 100)
	e.startSink(t, "127.0.0.1:0")
	return e
}

func (e *env) startSink(t *testing.T, addr string) {
	t.Helper()
	var err error
	for range 50 { // restarting on the same port may race with the old socket's close
		if e.sink, err = mailsink.Start(addr, ""); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("start SMTP sink: %v", err)
	}
	e.smtp = e.sink.Addr()
	s := e.sink
	t.Cleanup(func() { s.Close() })
}

type workerOpt func(*jobs.WorkerConfig)

func withJobs(js ...jobs.PeriodicJob) workerOpt {
	return func(c *jobs.WorkerConfig) { c.Jobs = js }
}

// startWorker runs a complete worker (asynq server, relay, scheduler) until the test ends.
func (e *env) startWorker(t *testing.T, name string, opts ...workerOpt) *jobs.Worker {
	t.Helper()
	mailer, err := jobs.NewSMTPMailer("smtp://" + e.smtp)
	if err != nil {
		t.Fatal(err)
	}
	cfg := jobs.WorkerConfig{
		DB: e.d.App, Redis: e.redis.Client(t), Booking: e.svc, Tenants: tenant.NewDirectory(tenant.NewService(e.d.App), 0), Mailer: mailer,
		MailEnv: booking.MailEnv{BaseDomain: baseDomain}, Log: e.log.With("worker", name), Name: name,
		Server:        jobs.ServerConfig{Concurrency: 8, ShutdownTimeout: 2 * time.Second, RetryBase: 200 * time.Millisecond, RetryMax: time.Second, PollInterval: 50 * time.Millisecond},
		RelayInterval: 50 * time.Millisecond, SchedulerInterval: 50 * time.Millisecond, RelaySweepAfter: 2 * time.Second,
		Jobs: []jobs.PeriodicJob{}, Now: e.clock.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	w := jobs.NewWorker(cfg)
	w.Relay.MaxBackoff = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker %s: %v", name, err)
		}
		mailer.Close()
	})
	return w
}

func (e *env) reserve(t testing.TB, slot uuid.UUID, email, lang string) *booking.Reservation {
	t.Helper()
	card := bookingtest.MustCard(t, e.svc, e.ten, "0101")
	r, err := e.svc.Reserve(context.Background(), e.ten, booking.ReserveInput{SlotID: slot, CardIDs: []uuid.UUID{card.ID},
		Email: email, Lang: lang, Actor: tenant.Citizen("")})
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	return r
}

// reminderSlot returns the first slot a citizen can book now whose reminder (the day before, at
// the city's reminder hour) is still to come: a booking made after that moment rightly gets no
// reminder, so tests of reminders book this one.
func (e *env) reminderSlot(t testing.TB) *booking.Slot {
	t.Helper()
	now := e.clock.Now()
	day := booking.DateOf(bookingtest.FirstSlot(t, e.svc, e.ten, e.loc, now).StartsAt)
	for !day.AddDays(-1).Time(booking.ReminderHour(e.ten), 0).After(now) {
		day = day.AddDays(1)
	}
	return e.slotOn(t, day)
}

func (e *env) slotOn(t testing.TB, day booking.Date) *booking.Slot {
	t.Helper()
	for range 10 {
		slots, err := e.svc.SlotsOn(context.Background(), e.ten, e.loc.ID, day, bookingtest.Citizen)
		if err != nil {
			t.Fatal(err)
		}
		if len(slots) > 0 {
			return &slots[0]
		}
		day = day.AddDays(1)
	}
	t.Fatal("no open day")
	return nil
}

// outbox returns the outbox rows of a reservation, oldest first.
func (e *env) outbox(t testing.TB, r uuid.UUID) []booking.OutboxMessage {
	t.Helper()
	var rows []booking.OutboxMessage
	err := tenant.InTx(context.Background(), e.d.App, e.ten.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&rows).Where("reservation_id = ?", r).Order("seq").Scan(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// parsed is a received message taken apart.
type parsed struct {
	Header  mail.Header
	Subject string
	From    *mail.Address
	To      []*mail.Address
	Body    string // the text/plain part, decoded
	ICS     string // the text/calendar part, decoded
	ICSType string
	Raw     []byte
}

func parse(t testing.TB, raw []byte) *parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, raw)
	}
	p := &parsed{Header: m.Header, Raw: raw}
	dec := new(mime.WordDecoder)
	if p.Subject, err = dec.DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatalf("Subject: %v", err)
	}
	if fl, err := m.Header.AddressList("From"); err == nil && len(fl) == 1 {
		p.From = fl[0]
	}
	p.To, _ = m.Header.AddressList("To")
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type = %q (%v), want multipart/mixed", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(part)
		if part.Header.Get("Content-Transfer-Encoding") == "base64" {
			if b, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), "")); err != nil {
				t.Fatal(err)
			}
		}
		ct := part.Header.Get("Content-Type")
		switch {
		case strings.HasPrefix(ct, "text/plain"):
			if !strings.Contains(strings.ToLower(ct), "charset=utf-8") {
				t.Errorf("text part Content-Type = %q, want UTF-8", ct)
			}
			p.Body = string(b)
		case strings.HasPrefix(ct, "text/calendar"):
			p.ICS, p.ICSType = string(b), ct
		}
	}
	return p
}

// messages returns every message the sink received, parsed.
func (e *env) messages(t testing.TB) []*parsed {
	var out []*parsed
	for _, m := range e.sink.Messages() {
		out = append(out, parse(t, m.Data))
	}
	return out
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("JOBS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestClockCanary fails when MADOGUCHI_TEST_NOW is set and the clock the env hands to the
// booking service and the scheduler stands elsewhere (`make test-dates` sets it).
func TestClockCanary(t *testing.T) {
	e := newEnv(t)
	tenanttest.CheckClock(t, "jobs env", e.clock.Now)
	tenanttest.CheckClock(t, "jobs booking service", e.svc.Now)
}
