package booking_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

type mailFixture struct {
	d     *tenanttest.DB
	svc   *booking.Service
	t     *tenant.Tenant
	loc   *booking.Location
	clock *tenanttest.Clock
	env   booking.MailEnv
}

// newMailFixture makes a tenant whose clock stands at 08:00 JST two days from now, with one
// location open every day 09:00–12:00.
func newMailFixture(t *testing.T, d *tenanttest.DB) *mailFixture {
	t.Helper()
	clock := tenanttest.NewClockAt(booking.DateOf(tenanttest.Now()).AddDays(2).Time(8, 0))
	tn := tenanttest.MustCreateTenant(t, d.App)
	svc := bookingtest.Service(d.App, clock.Now)
	return &mailFixture{d: d, svc: svc, t: tn, clock: clock, loc: bookingtest.MustLocation(t, svc, tn, "本庁", 50),
		env: booking.MailEnv{BaseDomain: "example.lg.jp"}}
}

func (f *mailFixture) reserve(t *testing.T, slot uuid.UUID, email, lang string) *booking.Reservation {
	t.Helper()
	card := bookingtest.MustCard(t, f.svc, f.t, "0101")
	r, err := f.svc.Reserve(context.Background(), f.t, booking.ReserveInput{SlotID: slot, CardIDs: []uuid.UUID{card.ID},
		Email: email, Lang: lang, Actor: tenant.Citizen("")})
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	return r
}

// outbox returns the tenant's outbox rows of reservation r, oldest first.
func (f *mailFixture) outbox(t *testing.T, r uuid.UUID) []booking.OutboxMessage {
	t.Helper()
	var rows []booking.OutboxMessage
	err := tenant.InTx(context.Background(), f.d.App, f.t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&rows).Where("reservation_id = ?", r).Order("seq").Scan(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func (f *mailFixture) slotOn(t *testing.T, day booking.Date) *booking.Slot {
	t.Helper()
	for range 10 {
		slots, err := f.svc.SlotsOn(context.Background(), f.t, f.loc.ID, day, bookingtest.Citizen)
		if err != nil {
			t.Fatal(err)
		}
		if len(slots) > 0 {
			return &slots[0]
		}
		day = day.AddDays(1) // a public holiday: take the next open day
	}
	t.Fatal("no open day")
	return nil
}

func TestDefaultMailTemplatesRender(t *testing.T) {
	start := booking.Date{Year: 2026, Month: time.June, Day: 3}.Time(10, 0)
	data := booking.MailData{City: "松阪市", Code: "K7M2QX9D", CodeGrouped: "K7M2 QX9D",
		When: booking.FormatSlot("ja", start, start.Add(30*time.Minute)), Place: "本庁 戸籍住民課", Address: "三重県松阪市殿町1340番地1",
		Guidance: "交付通知書をお持ちください。", People: 2, OldWhen: "2026年6月2日（火）09:00～09:30", OldPlace: "嬉野地域振興局",
		URL: "https://matsusaka.example.lg.jp/login", CallCenter: "0598-00-0000"}
	for _, lang := range []string{"ja", "en"} {
		for _, kind := range booking.MailKinds {
			t.Run(lang+"/"+string(kind), func(t *testing.T) {
				subject, body, err := booking.RenderMail(nil, kind, lang, data)
				if err != nil {
					t.Fatalf("RenderMail(%s, %s) = %v", kind, lang, err)
				}
				if strings.ContainsAny(subject, "\r\n") || !strings.Contains(subject, "K7M2QX9D") || !strings.Contains(subject, "松阪市") {
					t.Errorf("subject = %q, want one line with city and code", subject)
				}
				for _, want := range []string{"K7M2 QX9D", "本庁 戸籍住民課", "https://matsusaka.example.lg.jp/login", "0598-00-0000"} {
					if !strings.Contains(body, want) {
						t.Errorf("body lacks %q:\n%s", want, body)
					}
				}
				if lang == "ja" && !strings.Contains(body, "2026年6月3日（水）10:00～10:30") {
					t.Errorf("body lacks the date with weekday:\n%s", body)
				}
				if lang == "en" && (!strings.Contains(body, "Booking code") || strings.Contains(body, "予約番号")) {
					t.Errorf("English body:\n%s", body)
				}
				if kind == booking.KindChanged && !strings.Contains(body, "2026年6月2日（火）09:00～09:30") {
					t.Errorf("change mail lacks the old time:\n%s", body)
				}
				if strings.Contains(body, "<no value>") || strings.Contains(body, "\n\n\n") {
					t.Errorf("body has holes or stray blank lines:\n%s", body)
				}
			})
		}
	}
	// Without a call-center number the section disappears.
	data.CallCenter = ""
	if _, body, _ := booking.RenderMail(nil, booking.KindCreated, "ja", data); strings.Contains(body, "お問い合わせ") {
		t.Errorf("body shows an empty call-center section:\n%s", body)
	}
}

func TestLoginURL(t *testing.T) {
	for _, c := range []struct{ slug, domain, port, want string }{
		{"matsusaka", "example.lg.jp", "", "https://matsusaka.example.lg.jp/login"},
		{"matsusaka", "example.lg.jp", "8080", "https://matsusaka.example.lg.jp/login"},
		{"matsusaka", "localhost", "8080", "http://matsusaka.localhost:8080/login"},
		{"tsu", "localhost", "", "http://tsu.localhost/login"},
	} {
		if got := booking.LoginURL(c.slug, c.domain, c.port); got != c.want {
			t.Errorf("LoginURL(%q, %q, %q) = %q, want %q", c.slug, c.domain, c.port, got, c.want)
		}
	}
}

func TestStartMailLedger(t *testing.T) {
	d := tenanttest.NewDB(t)
	f := newMailFixture(t, d)
	ctx := context.Background()
	slot := bookingtest.FirstSlot(t, f.svc, f.t, f.loc, f.clock.Now())
	r := f.reserve(t, slot.ID, "citizen@example.jp", "en")
	id := f.outbox(t, r.ID)[0].ID

	job, _, err := f.svc.StartMail(ctx, f.t.ID, id, f.env)
	if err != nil || job == nil {
		t.Fatalf("StartMail = %v, %v", job, err)
	}
	if job.To != "citizen@example.jp" || job.MessageID != id.String()+"@example.lg.jp" || job.Lang != "en" ||
		job.From != "no-reply@example.lg.jp" || job.Event == nil || !job.Event.Start.Equal(slot.StartsAt) {
		t.Errorf("job = %+v", job)
	}
	// A second worker while the first holds the lease: busy.
	if _, _, err := f.svc.StartMail(ctx, f.t.ID, id, f.env); !errors.Is(err, booking.ErrMailBusy) {
		t.Errorf("second StartMail during the lease = %v, want ErrMailBusy", err)
	}
	if err := f.svc.MailSent(ctx, job); err != nil {
		t.Fatal(err)
	}
	if job, note, err := f.svc.StartMail(ctx, f.t.ID, id, f.env); job != nil || err != nil || !strings.HasPrefix(note, "already sent") {
		t.Errorf("StartMail after MailSent = %v, %q, %v; want nothing to send", job, note, err)
	}
	// The ledger alone is enough: a row whose state was lost (relay re-queued it) is not sent again.
	if err := tenant.InTx(ctx, d.App, f.t.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE outbox SET state = 'enqueued' WHERE id = ?", id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if job, note, err := f.svc.StartMail(ctx, f.t.ID, id, f.env); job != nil || err != nil || note != "already sent (ledger)" {
		t.Errorf("StartMail with ledger entry = %v, %q, %v", job, note, err)
	}
	if st := f.outbox(t, r.ID)[0].State; st != booking.OutboxSent {
		t.Errorf("outbox state = %s, want sent", st)
	}
}

func TestStartMailFailures(t *testing.T) {
	d := tenanttest.NewDB(t)
	f := newMailFixture(t, d)
	ctx := context.Background()
	day := bookingtest.FirstSlot(t, f.svc, f.t, f.loc, f.clock.Now())

	t.Run("permanent failure is recorded for staff", func(t *testing.T) {
		r := f.reserve(t, day.ID, "gone@example.jp", "ja")
		job, _, err := f.svc.StartMail(ctx, f.t.ID, f.outbox(t, r.ID)[0].ID, f.env)
		if err != nil || job == nil {
			t.Fatal(job, err)
		}
		if err := f.svc.MailFailed(ctx, job, true, "550 5.1.1 mailbox unavailable"); err != nil {
			t.Fatal(err)
		}
		row := f.outbox(t, r.ID)[0]
		v, _ := f.svc.ReservationByID(ctx, f.t, r.ID)
		if row.State != booking.OutboxFailed || !strings.Contains(row.LastError, "550") || !strings.Contains(v.MailError, "550 5.1.1") {
			t.Errorf("after a permanent failure: row %s %q, mail_error %q", row.State, row.LastError, v.MailError)
		}
	})
	t.Run("temporary failure leaves the row for the retry", func(t *testing.T) {
		r := f.reserve(t, day.ID, "later@example.jp", "ja")
		id := f.outbox(t, r.ID)[0].ID
		job, _, _ := f.svc.StartMail(ctx, f.t.ID, id, f.env)
		if err := f.svc.MailFailed(ctx, job, false, "dial tcp: connection refused"); err != nil {
			t.Fatal(err)
		}
		if job2, _, err := f.svc.StartMail(ctx, f.t.ID, id, f.env); err != nil || job2 == nil {
			t.Errorf("retry after a temporary failure: StartMail = %v, %v", job2, err)
		}
	})
	t.Run("cancelled booking: confirmation skipped, cancellation sent", func(t *testing.T) {
		r := f.reserve(t, day.ID, "quick@example.jp", "ja")
		if err := f.svc.Cancel(ctx, f.t, r.ID, tenant.Citizen("")); err != nil {
			t.Fatal(err)
		}
		rows := f.outbox(t, r.ID)
		if job, note, err := f.svc.StartMail(ctx, f.t.ID, rows[0].ID, f.env); job != nil || err != nil || note != "skipped: reservation cancelled" {
			t.Errorf("confirmation of a cancelled booking: %v, %q, %v", job, note, err)
		}
		if job, _, err := f.svc.StartMail(ctx, f.t.ID, rows[1].ID, f.env); err != nil || job == nil || job.Kind != booking.KindCancelled || !job.Event.Cancelled {
			t.Errorf("cancellation: %+v, %v", job, err)
		}
	})
	t.Run("hostile stored address is refused", func(t *testing.T) {
		for _, addr := range []string{"a@example.com\r\nBcc: x@evil.example", "a@example.com, b@example.com", `"x" <a@example.com>`, "a@example.com\nBcc:x@evil.example", "a@example.com\n"} {
			r := f.reserve(t, day.ID, "ok@example.jp", "ja")
			if err := tenant.InTx(ctx, d.App, f.t.ID, func(ctx context.Context, tx bun.Tx) error {
				_, err := tx.ExecContext(ctx, "UPDATE reservations SET email = ? WHERE id = ?", addr, r.ID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			job, note, err := f.svc.StartMail(ctx, f.t.ID, f.outbox(t, r.ID)[0].ID, f.env)
			if job != nil || err != nil || !strings.HasPrefix(note, "refused") {
				t.Errorf("StartMail to %q = %v, %q, %v; want refused", addr, job, note, err)
			}
			if row := f.outbox(t, r.ID)[0]; row.State != booking.OutboxFailed {
				t.Errorf("outbox state for %q = %s, want failed", addr, row.State)
			}
		}
	})
}

func TestQueueReminders(t *testing.T) {
	d := tenanttest.NewDB(t)
	f := newMailFixture(t, d)
	ctx := context.Background()
	slot := bookingtest.FirstSlot(t, f.svc, f.t, f.loc, f.clock.Now())
	day := booking.DateOf(slot.StartsAt)
	kept := f.reserve(t, slot.ID, "kept@example.jp", "ja")
	cancelled := f.reserve(t, slot.ID, "cancelled@example.jp", "ja")
	moved := f.reserve(t, slot.ID, "moved@example.jp", "ja")
	f.reserve(t, slot.ID, "", "ja") // no address: no mail at all
	web := tenant.Citizen("")
	if err := f.svc.Cancel(ctx, f.t, cancelled.ID, web); err != nil {
		t.Fatal(err)
	}
	later := f.slotOn(t, day.AddDays(3))
	if _, err := f.svc.Change(ctx, f.t, moved.ID, later.ID, uuid.Nil, web); err != nil {
		t.Fatal(err)
	}
	reminders := func(r uuid.UUID) (n int) {
		for _, m := range f.outbox(t, r) {
			if m.Kind == booking.KindReminder {
				n++
			}
		}
		return n
	}

	// Before the reminder hour of the day before: nothing is due.
	f.clock.Set(day.AddDays(-1).Time(8, 59))
	if n, err := f.svc.QueueReminders(ctx, f.t); err != nil || n != 0 {
		t.Errorf("QueueReminders at 08:59 the day before = %d, %v; want 0", n, err)
	}
	// At 09:00 the day before: one reminder, for the booking that kept its day. Several
	// concurrent runs (replicas) still write one.
	f.clock.Set(day.AddDays(-1).Time(9, 0))
	var wg sync.WaitGroup
	var total atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := f.svc.QueueReminders(ctx, f.t)
			if err != nil {
				t.Error(err)
			}
			total.Add(int64(n))
		}()
	}
	wg.Wait()
	if total.Load() != 1 || reminders(kept.ID) != 1 || reminders(cancelled.ID) != 0 || reminders(moved.ID) != 0 {
		t.Errorf("reminders: queued %d; kept %d, cancelled %d, moved %d; want 1, 1, 0, 0",
			total.Load(), reminders(kept.ID), reminders(cancelled.ID), reminders(moved.ID))
	}
	// The moved booking gets its reminder the day before its new day, once.
	f.clock.Set(booking.DateOf(later.StartsAt).AddDays(-1).Time(9, 30))
	for range 2 {
		if _, err := f.svc.QueueReminders(ctx, f.t); err != nil {
			t.Fatal(err)
		}
	}
	if reminders(moved.ID) != 1 || reminders(kept.ID) != 1 {
		t.Errorf("after the new day's reminder time: moved %d, kept %d; want 1, 1", reminders(moved.ID), reminders(kept.ID))
	}
	// The reminder, once queued, is sent with the new time.
	var rem booking.OutboxMessage
	for _, m := range f.outbox(t, moved.ID) {
		if m.Kind == booking.KindReminder {
			rem = m
		}
	}
	job, note, err := f.svc.StartMail(ctx, f.t.ID, rem.ID, f.env)
	if err != nil || job == nil || !job.Event.Start.Equal(later.StartsAt) {
		t.Fatalf("StartMail(reminder) = %+v, %q, %v", job, note, err)
	}
}

func TestReminderQueuedThenMovedIsSkipped(t *testing.T) {
	d := tenanttest.NewDB(t)
	f := newMailFixture(t, d)
	ctx := context.Background()
	slot := bookingtest.FirstSlot(t, f.svc, f.t, f.loc, f.clock.Now())
	day := booking.DateOf(slot.StartsAt)
	r := f.reserve(t, slot.ID, "citizen@example.jp", "ja")
	f.clock.Set(day.AddDays(-1).Time(9, 0))
	if n, err := f.svc.QueueReminders(ctx, f.t); err != nil || n != 1 {
		t.Fatalf("QueueReminders = %d, %v", n, err)
	}
	// Staff move it (citizens are past their deadline) before the reminder goes out.
	later := f.slotOn(t, day.AddDays(2))
	if _, err := f.svc.Change(ctx, f.t, r.ID, later.ID, uuid.Nil, tenant.Actor{Channel: tenant.ChannelStaff, Login: "s1"}); err != nil {
		t.Fatal(err)
	}
	for _, m := range f.outbox(t, r.ID) {
		if m.Kind != booking.KindReminder {
			continue
		}
		if job, note, err := f.svc.StartMail(ctx, f.t.ID, m.ID, f.env); job != nil || err != nil || note != "skipped: reservation moved" {
			t.Errorf("stale reminder: %v, %q, %v; want skipped", job, note, err)
		}
	}
}
