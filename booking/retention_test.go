package booking_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// hygieneCity is one city with a settable clock.
type hygieneCity struct {
	d     *tenanttest.DB
	svc   *booking.Service
	t     *tenant.Tenant
	loc   *booking.Location
	clock *tenanttest.Clock
}

func newHygieneCity(t *testing.T, d *tenanttest.DB, clock *tenanttest.Clock) *hygieneCity {
	t.Helper()
	c := &hygieneCity{d: d, svc: bookingtest.Service(d.App, clock.Now), t: tenanttest.MustCreateTenant(t, d.App), clock: clock}
	c.loc = bookingtest.MustLocation(t, c.svc, c.t, "本庁", 5)
	return c
}

func (c *hygieneCity) namedCard(t *testing.T) *booking.Card {
	t.Helper()
	card, err := c.svc.AddCard(context.Background(), c.t, booking.CardInput{CardNo: fmt.Sprintf("%09d", rand.IntN(1_000_000_000)),
		Birth: "0312", Name: "松阪 太郎", NameKana: "マツサカ タロウ"})
	if err != nil {
		t.Fatal(err)
	}
	return card
}

func (c *hygieneCity) setStatus(t *testing.T, card *booking.Card, path ...booking.CardStatus) {
	t.Helper()
	for _, st := range path {
		if err := c.svc.ChangeCardStatus(context.Background(), c.t, []uuid.UUID{card.ID}, st, tenant.Staff(uuid.Nil, "kanri", "")); err != nil {
			t.Fatalf("ChangeCardStatus(%s): %v", st, err)
		}
	}
}

func (c *hygieneCity) reserve(t *testing.T, slot uuid.UUID, card uuid.UUID, email string) *booking.Reservation {
	t.Helper()
	r, err := c.svc.Reserve(context.Background(), c.t, booking.ReserveInput{SlotID: slot, CardIDs: []uuid.UUID{card}, Email: email, Actor: staff})
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	return r
}

func (c *hygieneCity) card(t *testing.T, id uuid.UUID) *booking.Card {
	t.Helper()
	card, err := c.svc.CardByID(context.Background(), c.t.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return card
}

func (c *hygieneCity) reservation(t *testing.T, id uuid.UUID) *booking.ReservationView {
	t.Helper()
	v, err := c.svc.ReservationByID(context.Background(), c.t, id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (c *hygieneCity) scalar(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	err := tenant.InTx(context.Background(), c.d.App, c.t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(q, args...).Scan(ctx, &n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMarkNoShows(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	t0 := tenanttest.Now().Truncate(time.Second)
	clock := tenanttest.NewClockAt(t0)
	a, b := newHygieneCity(t, d, clock), newHygieneCity(t, d, clock)

	slot := bookingtest.FirstSlot(t, a.svc, a.t, a.loc, t0)
	day := booking.DateOf(slot.StartsAt)
	later, err := a.svc.SlotsOn(ctx, a.t, a.loc.ID, day.AddDays(1), bookingtest.Citizen)
	if err != nil || len(later) == 0 {
		t.Fatalf("SlotsOn(%s) = %v, %v", day.AddDays(1), later, err)
	}
	absent, tomorrow := a.namedCard(t), a.namedCard(t)
	rAbsent := a.reserve(t, slot.ID, absent.ID, "absent@example.jp")
	rTomorrow := a.reserve(t, later[0].ID, tomorrow.ID, "")
	bSlot := bookingtest.FirstSlot(t, b.svc, b.t, b.loc, t0)
	bCard := b.namedCard(t)
	rB := b.reserve(t, bSlot.ID, bCard.ID, "")

	// The last minute of the visit day: the booking is past its time but today's, so it stays.
	clock.Set(day.AddDays(1).Time(0, 0).Add(-time.Minute))
	if got, err := a.svc.MarkNoShows(ctx, a.t, clock.Now()); err != nil || got != (booking.NoShows{}) {
		t.Fatalf("MarkNoShows on the visit day = %+v, %v; want nothing", got, err)
	}
	if st := a.reservation(t, rAbsent.ID).Status; st != booking.Booked {
		t.Fatalf("a booking of today became %s", st)
	}

	// The day after: the booking is a no-show and its card is free again; tomorrow's stays.
	clock.Set(day.AddDays(1).Time(3, 0))
	got, err := a.svc.MarkNoShows(ctx, a.t, clock.Now())
	if err != nil || got != (booking.NoShows{Reservations: 1, Cards: 1}) {
		t.Fatalf("MarkNoShows = %+v, %v; want 1 reservation, 1 card", got, err)
	}
	if st := a.reservation(t, rAbsent.ID).Status; st != booking.NoShow {
		t.Errorf("reservation status = %s, want no_show", st)
	}
	if st := a.reservation(t, rTomorrow.ID).Status; st != booking.Booked {
		t.Errorf("the next day's reservation became %s", st)
	}
	if st := a.card(t, absent.ID).Status; st != booking.CardNoticeSent {
		t.Errorf("card status = %s, want notice_sent", st)
	}
	if n := a.scalar(t, `SELECT count(*) FROM card_status_history WHERE card_id = ? AND from_status = 'reserved'
		AND to_status = 'notice_sent' AND channel = 'system' AND actor = 'system' AND changed_at = ?`, absent.ID, clock.Now()); n != 1 {
		t.Errorf("system history rows = %d, want 1", n)
	}
	if n := a.scalar(t, `SELECT count(*) FROM audit_log WHERE action = 'reservation.no_show' AND actor = 'system'
		AND (after->>'reservations')::int = 1`); n != 1 {
		t.Errorf("audit lines = %d, want 1", n)
	}
	sum, err := a.svc.DaySummary(ctx, a.t, day)
	if err != nil || len(sum) == 0 || sum[0].NoShow != 1 {
		t.Errorf("DaySummary(%s) = %+v, %v; want one no-show in the first slot", day, sum, err)
	}

	// Idempotent.
	if got, err := a.svc.MarkNoShows(ctx, a.t, clock.Now()); err != nil || got != (booking.NoShows{}) {
		t.Errorf("second MarkNoShows = %+v, %v; want nothing", got, err)
	}
	if n := a.scalar(t, "SELECT count(*) FROM card_status_history WHERE card_id = ?", absent.ID); n != 3 {
		t.Errorf("history rows after two runs = %d, want 3 (import, reserved, back)", n)
	}

	// The citizen who did not come books again.
	again := bookingtest.FirstSlot(t, a.svc, a.t, a.loc, clock.Now())
	if _, err := a.svc.Reserve(ctx, a.t, booking.ReserveInput{SlotID: again.ID, CardIDs: []uuid.UUID{absent.ID}, Actor: web}); err != nil {
		t.Errorf("booking again after a no-show: %v", err)
	}

	// The other city's past booking is not touched by this city's run.
	if st := b.reservation(t, rB.ID).Status; st != booking.Booked {
		t.Errorf("another city's reservation became %s", st)
	}
	if st := b.card(t, bCard.ID).Status; st != booking.CardReserved {
		t.Errorf("another city's card became %s", st)
	}
}

func TestApplyRetention(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	t0 := tenanttest.Now().Truncate(time.Second)
	clock := tenanttest.NewClockAt(t0)
	a, other := newHygieneCity(t, d, clock), newHygieneCity(t, d, clock)
	day := 24 * time.Hour

	// At t0: a card issued, one void, one still waiting (all with names); a cancelled booking,
	// a booking that will be visited, a booking that stays booked; mail to them fails with an
	// SMTP error that quotes the address.
	issued, void, waiting := a.namedCard(t), a.namedCard(t), a.namedCard(t)
	a.setStatus(t, issued, booking.CardNoticeSent, booking.CardVisited, booking.CardIssued)
	a.setStatus(t, void, booking.CardVoid)
	a.setStatus(t, waiting, booking.CardNoticeSent)
	slot := bookingtest.FirstSlot(t, a.svc, a.t, a.loc, t0)
	cancelled := a.reserve(t, slot.ID, a.namedCard(t).ID, "cancel@example.jp")
	if err := a.svc.Cancel(ctx, a.t, cancelled.ID, staff); err != nil {
		t.Fatal(err)
	}
	visited := a.reserve(t, slot.ID, a.namedCard(t).ID, "visit@example.jp")
	booked := a.reserve(t, slot.ID, a.namedCard(t).ID, "booked@example.jp")
	ids, err := a.svc.ClaimOutbox(ctx, a.t.ID, 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		job, _, err := a.svc.StartMail(ctx, a.t.ID, id, booking.MailEnv{BaseDomain: "example.lg.jp"})
		if err != nil {
			t.Fatal(err)
		}
		if job != nil {
			if err := a.svc.MailFailed(ctx, job, true, "550 5.1.1 <"+job.To+">: Recipient address rejected"); err != nil {
				t.Fatal(err)
			}
		}
	}
	withErrors := a.scalar(t, "SELECT count(*) FROM outbox WHERE last_error LIKE '%@example.jp%'")
	if withErrors < 2 {
		t.Fatalf("outbox rows quoting an address = %d, want at least 2", withErrors)
	}
	finished := a.scalar(t, "SELECT count(*) FROM outbox WHERE last_error <> ''")
	// The visit, at its time.
	clock.Set(visited.StartsAt.Add(5 * time.Minute))
	if _, _, err := a.svc.CheckIn(ctx, a.t, visited.Code, staff); err != nil {
		t.Fatal(err)
	}
	// The other city has the same kinds of data, all long due by the end.
	oIssued := other.namedCard(t)
	other.setStatus(t, oIssued, booking.CardNoticeSent, booking.CardVisited, booking.CardIssued)
	oCancelled := other.reserve(t, bookingtest.FirstSlot(t, other.svc, other.t, other.loc, clock.Now()).ID, other.namedCard(t).ID, "other@example.jp")
	if err := other.svc.Cancel(ctx, other.t, oCancelled.ID, staff); err != nil {
		t.Fatal(err)
	}

	run := func(at time.Time, want booking.RetentionCounts) {
		t.Helper()
		clock.Set(at)
		got, err := a.svc.ApplyRetention(ctx, a.t, at)
		want.Total = want.Names + want.Emails + want.MailErrors + want.Pseudonyms
		if err != nil || got != want {
			t.Fatalf("ApplyRetention at t0%+.1fd = %+v, %v; want %+v", at.Sub(t0).Hours()/24, got, err, want)
		}
	}
	email := func(id uuid.UUID) string {
		if e := a.reservation(t, id).Email; e != nil {
			return *e
		}
		return ""
	}

	run(t0.Add(30*day-time.Hour), booking.RetentionCounts{})
	run(t0.Add(30*day+time.Hour), booking.RetentionCounts{Names: 2, Emails: 1, MailErrors: finished})
	run(t0.Add(30*day+time.Hour), booking.RetentionCounts{}) // idempotent
	for _, c := range []*booking.Card{issued, void} {
		if got := a.card(t, c.ID); got.Name != nil || got.NameKana != nil {
			t.Errorf("%s card keeps its name: %v %v", got.Status, got.Name, got.NameKana)
		}
	}
	if got := a.card(t, waiting.ID); got.Name == nil || got.NameKana == nil {
		t.Error("a card still waiting for its holder lost its name")
	}
	if e := email(cancelled.ID); e != "" {
		t.Errorf("cancelled reservation keeps e-mail %q", e)
	}
	if r := a.reservation(t, cancelled.ID); r.MailError != "" {
		t.Errorf("cancelled reservation keeps the delivery error %q", r.MailError)
	}
	if e := email(visited.ID); e != "visit@example.jp" {
		t.Errorf("visited reservation's e-mail = %q before its time", e)
	}
	if n := a.scalar(t, "SELECT count(*) FROM outbox WHERE last_error LIKE '%@%'"); n != 0 {
		t.Errorf("%d outbox rows still quote an address", n)
	}

	run(visited.StartsAt.Add(30*day-time.Hour), booking.RetentionCounts{})
	run(visited.StartsAt.Add(30*day+time.Hour), booking.RetentionCounts{Emails: 1})
	if e := email(visited.ID); e != "" {
		t.Errorf("visited reservation keeps e-mail %q", e)
	}
	if e := email(booked.ID); e != "booked@example.jp" {
		t.Errorf("a reservation still booked lost its e-mail: %q", e)
	}

	historyBefore := a.scalar(t, "SELECT count(*) FROM card_status_history WHERE card_id = ?", issued.ID)
	run(t0.Add(90*day-time.Hour), booking.RetentionCounts{})
	run(t0.Add(90*day+time.Hour), booking.RetentionCounts{Pseudonyms: 2})
	run(t0.Add(90*day+time.Hour), booking.RetentionCounts{})
	for _, c := range []*booking.Card{issued, void} {
		got := a.card(t, c.ID)
		if !booking.IsPseudonym(got.CardNo) || got.CardNo == c.CardNo || string(got.BirthHMAC) == string(c.BirthHMAC) ||
			len(got.BirthHMAC) != 32 || got.StoragePos != "" || got.Name != nil {
			t.Errorf("card %s after pseudonymisation = %+v", c.CardNo, got)
		}
	}
	if n := a.scalar(t, "SELECT count(*) FROM cards WHERE card_no IN (?, ?)", issued.CardNo, void.CardNo); n != 0 {
		t.Errorf("%d old card numbers still stored", n)
	}
	if got := a.card(t, issued.ID); got.Status != booking.CardIssued {
		t.Errorf("pseudonymised card status = %s, want issued", got.Status)
	}
	if n := a.scalar(t, "SELECT count(*) FROM card_status_history WHERE card_id = ?", issued.ID); n != historyBefore || n != 4 {
		t.Errorf("status history rows = %d (before %d), want 4 kept", n, historyBefore)
	}
	if got := a.card(t, waiting.ID); got.CardNo != waiting.CardNo {
		t.Error("a card still waiting for its holder was pseudonymised")
	}
	// The same number can be imported again (the pseudonym freed it).
	if _, err := a.svc.AddCard(ctx, a.t, booking.CardInput{CardNo: issued.CardNo, Birth: "0312"}); err != nil {
		t.Errorf("re-import of a pseudonymised number: %v", err)
	}
	if n := a.scalar(t, "SELECT count(*) FROM audit_log WHERE action = 'retention.apply' AND actor = 'system'"); n != 3 {
		t.Errorf("retention.apply audit lines = %d, want 3 (one per run that changed something)", n)
	}

	// Nothing of the other city was touched.
	if got := other.card(t, oIssued.ID); got.Name == nil || got.CardNo != oIssued.CardNo {
		t.Errorf("another city's card changed: %+v", got)
	}
	if e := other.reservation(t, oCancelled.ID).Email; e == nil || *e != "other@example.jp" {
		t.Errorf("another city's e-mail changed: %v", e)
	}
}

// TestRetentionSettings: a city's own periods apply, and out-of-range values fall back to the
// defaults.
func TestRetentionSettings(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	t0 := tenanttest.Now().Truncate(time.Second)
	clock := tenanttest.NewClockAt(t0)
	c := newHygieneCity(t, d, clock)
	seven, huge := 7, 100000
	c.t.Settings.RetentionNameDays, c.t.Settings.RetentionEmailDays = &seven, &huge
	if got := [3]int{booking.NameRetentionDays(c.t), booking.EmailRetentionDays(c.t), booking.CardRetentionDays(c.t)}; got != [3]int{7, 30, 90} {
		t.Errorf("retention days = %v, want [7 30 90]", got)
	}
	card := c.namedCard(t)
	c.setStatus(t, card, booking.CardNoticeSent, booking.CardReturned)
	for _, x := range []struct {
		at   time.Duration
		want int
	}{{7*24*time.Hour - time.Hour, 0}, {7*24*time.Hour + time.Hour, 1}} {
		got, err := c.svc.ApplyRetention(ctx, c.t, t0.Add(x.at))
		if err != nil || got.Names != x.want {
			t.Errorf("ApplyRetention at +%v: names %d (%v), want %d", x.at, got.Names, err, x.want)
		}
	}
}

// TestApplyRetentionStaleImports: an uploaded card CSV nobody imports is cancelled and its bytes
// deleted after ImportFileRetention, not before; one stuck committing for a day fails; another
// city's is untouched.
func TestApplyRetentionStaleImports(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	t0 := tenanttest.Now().Truncate(time.Second)
	clock := tenanttest.NewClockAt(t0)
	a, other := newHygieneCity(t, d, clock), newHygieneCity(t, d, clock)
	file := []byte("製造管理番号,生年月日\n100000001,1990-03-12\n")
	stale, err := a.svc.CreateImportJob(ctx, a.t.ID, tenant.Staff(uuid.Nil, "kanri", ""), "jlis.csv", file)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := other.svc.CreateImportJob(ctx, other.t.ID, tenant.Staff(uuid.Nil, "kanri", ""), "jlis.csv", file)
	if err != nil {
		t.Fatal(err)
	}
	stuck, err := a.svc.CreateImportJob(ctx, a.t.ID, tenant.Staff(uuid.Nil, "kanri", ""), "jlis2.csv", file)
	if err != nil {
		t.Fatal(err)
	}
	if err := tenant.InTx(ctx, d.App, a.t.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE import_jobs SET state = 'committing' WHERE id = ?", stuck.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	state := func(c *hygieneCity, id uuid.UUID) (string, bool) {
		t.Helper()
		var st string
		var hasFile bool
		if err := tenant.InTx(ctx, d.App, c.t.ID, func(ctx context.Context, tx bun.Tx) error {
			return tx.QueryRowContext(ctx, "SELECT state, file_bytes IS NOT NULL FROM import_jobs WHERE id = ?", id).Scan(&st, &hasFile)
		}); err != nil {
			t.Fatal(err)
		}
		return st, hasFile
	}

	clock.Set(t0.Add(booking.ImportFileRetention - time.Hour))
	if c, err := a.svc.ApplyRetention(ctx, a.t, clock.Now()); err != nil || c.Imports != 0 || c.StuckImports != 1 {
		t.Fatalf("before the period: %+v, %v; want only the job stuck for a day failed", c, err)
	}
	clock.Set(t0.Add(booking.ImportFileRetention + time.Hour))
	if c, err := a.svc.ApplyRetention(ctx, a.t, clock.Now()); err != nil || c.Imports != 1 || c.StuckImports != 0 {
		t.Fatalf("after the period: %+v, %v; want 1 import cancelled", c, err)
	}
	if st, hasFile := state(a, stuck.ID); st != "failed" || hasFile {
		t.Errorf("stuck import: state %s, file kept %v; want failed without its file", st, hasFile)
	}
	if st, hasFile := state(a, stale.ID); st != "cancelled" || hasFile {
		t.Errorf("stale import: state %s, file kept %v; want cancelled without its file", st, hasFile)
	}
	if st, hasFile := state(other, theirs.ID); st != "uploaded" || !hasFile {
		t.Errorf("the other city's import: state %s, file kept %v; want it untouched", st, hasFile)
	}
	if c, err := a.svc.ApplyRetention(ctx, a.t, clock.Now()); err != nil || c.Imports != 0 {
		t.Errorf("second run: %+v, %v; want nothing", c, err)
	}
}
