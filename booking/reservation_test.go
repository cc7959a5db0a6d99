package booking_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/booking/guard"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

var web = tenant.Citizen("")
var staff = tenant.Actor{Channel: tenant.ChannelStaff, Login: "staff-1"}

type fixture struct {
	d     *tenanttest.DB
	svc   *booking.Service
	clock *tenanttest.Clock
	t     *tenant.Tenant
	loc   *booking.Location
}

func newFixture(t *testing.T, d *tenanttest.DB, capacity int) *fixture {
	t.Helper()
	tn := tenanttest.MustCreateTenant(t, d.App)
	clock := tenanttest.NewClock()
	svc := bookingtest.Service(d.App, clock.Now)
	return &fixture{d: d, svc: svc, clock: clock, t: tn, loc: bookingtest.MustLocation(t, svc, tn, "本庁", capacity)}
}

// checkInvariant asserts every slot's booked count equals the places of its booked reservations.
func (f *fixture) checkInvariant(t *testing.T) {
	t.Helper()
	var bad []string
	err := tenant.InTx(context.Background(), f.d.App, f.t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT s.id::text || ': booked=' || s.booked || ' rows=' || coalesce(sum(r.party_size), 0) || ' cap=' || s.capacity
			FROM slots s LEFT JOIN reservations r ON r.slot_id = s.id AND r.status = 'booked'
			GROUP BY s.tenant_id, s.id HAVING s.booked <> coalesce(sum(r.party_size), 0) OR s.booked > s.capacity`).Scan(ctx, &bad)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Errorf("slot counts disagree with reservations: %v", bad)
	}
}

func TestConcurrentBookingNeverOverbooks(t *testing.T) {
	d := tenanttest.NewDB(t)
	for _, party := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("party of %d", party), func(t *testing.T) {
			f := newFixture(t, d, 3)
			slot := bookingtest.FirstSlot(t, f.svc, f.t, f.loc, tenanttest.Now())
			const clients = 200
			cards := make([][]uuid.UUID, clients)
			for i := range cards {
				for range party {
					cards[i] = append(cards[i], bookingtest.MustCard(t, f.svc, f.t, "0101").ID)
				}
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			ok, full, other := 0, 0, []error{}
			start := make(chan struct{})
			for i := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := f.svc.Reserve(context.Background(), f.t, booking.ReserveInput{SlotID: slot.ID, CardIDs: cards[i], Actor: web})
					mu.Lock()
					defer mu.Unlock()
					switch e := tenant.AsError(err); {
					case err == nil:
						ok++
					case e != nil && e.Key == "slot.full":
						full++
					default:
						other = append(other, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if want := 3 / party; ok != want || full != clients-want || len(other) > 0 {
				t.Errorf("party %d: %d booked, %d full, other errors %v; want %d booked, %d full", party, ok, full, other, want, clients-want)
			}
			f.checkInvariant(t)
		})
	}
}

func TestTwoChannelsRaceForOneCard(t *testing.T) {
	d := tenanttest.NewDB(t)
	f := newFixture(t, d, 50)
	for round := range 10 {
		card := bookingtest.MustCard(t, f.svc, f.t, "0101")
		slot := bookingtest.FirstSlot(t, f.svc, f.t, f.loc, tenanttest.Now())
		var wg sync.WaitGroup
		results := make([]error, 2)
		for i, a := range []tenant.Actor{web, staff} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, results[i] = f.svc.Reserve(context.Background(), f.t, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{card.ID}, Actor: a})
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range results {
			if err == nil {
				wins++
			} else if e := tenant.AsError(err); e == nil || e.Key != "card.already_booked" {
				t.Errorf("round %d: loser got %v, want card.already_booked", round, err)
			}
		}
		if wins != 1 {
			t.Errorf("round %d: %d bookings of one card, want exactly 1", round, wins)
		}
	}
	f.checkInvariant(t)
}

func TestHoldChangeCancel(t *testing.T) {
	d := tenanttest.NewDB(t)
	f := newFixture(t, d, 2)
	ctx := context.Background()
	a, b := bookingtest.MustCard(t, f.svc, f.t, "0312"), bookingtest.MustCard(t, f.svc, f.t, "1225")
	slot := bookingtest.FirstSlot(t, f.svc, f.t, f.loc, tenanttest.Now())

	h, err := f.svc.HoldSlot(ctx, f.t, slot.ID, 2, uuid.Nil, web)
	if err != nil {
		t.Fatal(err)
	}
	// The hold counts against capacity: nobody else can take the slot.
	other := bookingtest.MustCard(t, f.svc, f.t, "0101")
	if _, err := f.svc.Reserve(ctx, f.t, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{other.ID}, Actor: web}); tenant.AsError(err) == nil || tenant.AsError(err).Key != "slot.full" {
		t.Fatalf("Reserve while held = %v, want slot.full", err)
	}
	r, err := f.svc.Reserve(ctx, f.t, booking.ReserveInput{SlotID: slot.ID, HoldID: h.ID, CardIDs: []uuid.UUID{a.ID, b.ID}, Email: "taro@example.jp", Actor: web})
	if err != nil {
		t.Fatalf("Reserve with hold: %v", err)
	}
	if len(r.Code) != 8 || r.PartySize != 2 {
		t.Errorf("reservation = %+v", r)
	}
	// A second booking of the same card fails.
	slot2 := nextSlot(t, f, slot)
	if _, err := f.svc.Reserve(ctx, f.t, booking.ReserveInput{SlotID: slot2.ID, CardIDs: []uuid.UUID{a.ID}, Actor: web}); tenant.AsError(err) == nil || tenant.AsError(err).Key != "card.already_booked" {
		t.Errorf("double booking = %v, want card.already_booked", err)
	}
	// Change moves both places.
	if _, err := f.svc.Change(ctx, f.t, r.ID, slot2.ID, uuid.Nil, web); err != nil {
		t.Fatalf("Change: %v", err)
	}
	v, err := f.svc.CurrentReservation(ctx, f.t, b.ID)
	if err != nil || v.SlotID != slot2.ID || len(v.Cards) != 2 {
		t.Fatalf("CurrentReservation after change = %+v, %v", v, err)
	}
	f.checkInvariant(t)
	if err := f.svc.Cancel(ctx, f.t, r.ID, web); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if err := f.svc.Cancel(ctx, f.t, r.ID, web); tenant.AsError(err) == nil || tenant.AsError(err).Key != "reservation.not_active" {
		t.Errorf("second Cancel = %v, want reservation.not_active", err)
	}
	if _, err := f.svc.CurrentReservation(ctx, f.t, a.ID); tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("CurrentReservation after cancel = %v, want not_found", err)
	}
	// The card can be booked again after a cancellation.
	if _, err := f.svc.Reserve(ctx, f.t, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{a.ID}, Actor: web}); err != nil {
		t.Errorf("rebook after cancel: %v", err)
	}
	f.checkInvariant(t)
	var outbox []string
	_ = tenant.InTx(ctx, d.App, f.t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT kind FROM outbox ORDER BY seq").Scan(ctx, &outbox)
	})
	if fmt.Sprint(outbox) != "[reservation_created reservation_changed reservation_cancelled]" {
		t.Errorf("outbox = %v", outbox)
	}
}

// holdFixture is a one-place slot held for one person by a service with a 10-minute hold time
// and a clock the test moves (*now).
type holdFixture struct {
	d    *tenanttest.DB
	svc  *booking.Service
	tn   *tenant.Tenant
	slot *booking.Slot
	hold *booking.Hold
	now  *time.Time
}

func newHoldFixture(t *testing.T) *holdFixture {
	d := tenanttest.NewDB(t)
	now := tenanttest.Now()
	clock := func() time.Time { return now }
	tn := tenanttest.MustCreateTenant(t, d.App)
	svc := booking.NewService(d.App, booking.Config{Now: clock, SecretKey: bookingtest.Key, HoldTTL: 10 * time.Minute})
	loc := bookingtest.MustLocation(t, svc, tn, "本庁", 1)
	// A slot citizens can still book two hours from now: the tests move the clock by up to 111
	// minutes, which must not cross the deadline (at 23:30 JST it would).
	slot := bookingtest.FirstSlot(t, svc, tn, loc, now.Add(2*time.Hour))
	h, err := svc.HoldSlot(context.Background(), tn, slot.ID, 1, uuid.Nil, web)
	if err != nil {
		t.Fatal(err)
	}
	return &holdFixture{d: d, svc: svc, tn: tn, slot: slot, hold: h, now: &now}
}

func TestExpiredHold(t *testing.T) {
	f := newHoldFixture(t)
	svc, tn, slot, h, ctx := f.svc, f.tn, f.slot, f.hold, context.Background()
	*f.now = f.now.Add(11 * time.Minute)
	// Someone else takes the place after the hold expired; the holder is told plainly.
	other := bookingtest.MustCard(t, svc, tn, "0101")
	if _, err := svc.Reserve(ctx, tn, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{other.ID}, Actor: web}); err != nil {
		t.Fatalf("Reserve after the hold expired: %v", err)
	}
	mine := bookingtest.MustCard(t, svc, tn, "0202")
	_, err := svc.Reserve(ctx, tn, booking.ReserveInput{SlotID: slot.ID, HoldID: h.ID, CardIDs: []uuid.UUID{mine.ID}, Actor: web})
	if e := tenant.AsError(err); e == nil || e.Key != "hold.expired" {
		t.Errorf("Reserve with an expired hold on a full slot = %v, want hold.expired", err)
	}
}

// TestExtendHold: the holder extends a live hold by the full hold time, ten times over (WCAG
// 2.2.1), then no more; an expired hold cannot be extended and its place goes to others.
func TestExtendHold(t *testing.T) {
	f := newHoldFixture(t)
	svc, tn, slot, h, ctx := f.svc, f.tn, f.slot, f.hold, context.Background()
	now := f.now
	start, capAt := *now, now.Add(110*time.Minute) // the hold time, and ten more of it
	n := 0
	for ; now.Add(9 * time.Minute).Before(capAt); n++ {
		*now = now.Add(9 * time.Minute)
		got, err := svc.ExtendHold(ctx, tn, h.ID)
		if err != nil {
			t.Fatalf("extension %d: %v", n+1, err)
		}
		want := now.Add(10 * time.Minute)
		if want.After(capAt) {
			want = capAt
		}
		if d := got.ExpiresAt.Sub(want); d < -time.Millisecond || d > time.Millisecond {
			t.Fatalf("extension %d: expires %s, want %s", n+1, got.ExpiresAt, want)
		}
	}
	if n < booking.MaxHoldExtensions {
		t.Errorf("%d extensions granted, want at least %d", n, booking.MaxHoldExtensions)
	}
	*now = now.Add(time.Minute)
	if _, err := svc.ExtendHold(ctx, tn, h.ID); tenant.ErrorCode(err) != tenant.Conflict {
		t.Errorf("extension past the cap = %v, want conflict", err)
	}
	if _, err := svc.HoldByID(ctx, tn, h.ID); err != nil {
		t.Errorf("the hold is still live until its expiry: %v", err)
	}
	*now = start.Add(111 * time.Minute)
	if _, err := svc.ExtendHold(ctx, tn, h.ID); tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("extending an expired hold = %v, want not_found", err)
	}
	if _, err := svc.HoldByID(ctx, tn, h.ID); tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("HoldByID of an expired hold = %v, want not_found", err)
	}
	other := bookingtest.MustCard(t, svc, tn, "0101")
	if _, err := svc.Reserve(ctx, tn, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{other.ID}, Actor: web}); err != nil {
		t.Errorf("the place of an expired hold is free again: %v", err)
	}
	// Another tenant's id is simply unknown.
	tb := tenanttest.MustCreateTenant(t, f.d.App)
	if _, err := svc.ExtendHold(ctx, tb, h.ID); tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("extending another city's hold = %v, want not_found", err)
	}
}

func TestDeadline(t *testing.T) {
	d := tenanttest.NewDB(t)
	f := newFixture(t, d, 5)
	ctx := context.Background()
	early := bookingtest.FirstSlot(t, f.svc, f.t, f.loc, f.clock.Now())
	// Citizens may book day D until the end of day D−N (JST): one second before that end they
	// still can, at the stroke of midnight they cannot, though the time itself is hours away.
	closes := booking.DateFromDB(early.Day).AddDays(1-booking.DeadlineDays(f.t)).Time(0, 0)
	f.clock.Set(closes.Add(-time.Second))
	inTime := bookingtest.MustCard(t, f.svc, f.t, "0202")
	if _, err := f.svc.Reserve(ctx, f.t, booking.ReserveInput{SlotID: early.ID, CardIDs: []uuid.UUID{inTime.ID}, Actor: web}); err != nil {
		t.Fatalf("citizen booking one second before the deadline: %v", err)
	}
	f.clock.Set(closes)
	card := bookingtest.MustCard(t, f.svc, f.t, "0101")
	_, err := f.svc.Reserve(ctx, f.t, booking.ReserveInput{SlotID: early.ID, CardIDs: []uuid.UUID{card.ID}, Actor: web})
	if e := tenant.AsError(err); e == nil || e.Key != "slot.closed" {
		t.Fatalf("citizen booking after the deadline = %v, want slot.closed", err)
	}
	r, err := f.svc.Reserve(ctx, f.t, booking.ReserveInput{SlotID: early.ID, CardIDs: []uuid.UUID{card.ID}, Actor: staff})
	if err != nil {
		t.Fatalf("staff booking after the deadline: %v", err)
	}
	if err := f.svc.Cancel(ctx, f.t, r.ID, web); tenant.AsError(err) == nil || tenant.AsError(err).Key != "deadline.passed" {
		t.Errorf("citizen cancel after the deadline = %v, want deadline.passed", err)
	}
	if err := f.svc.Cancel(ctx, f.t, r.ID, staff); err != nil {
		t.Errorf("staff cancel after the deadline: %v", err)
	}
}

func TestRegenerationKeepsBookings(t *testing.T) {
	d := tenanttest.NewDB(t)
	f := newFixture(t, d, 3)
	ctx := context.Background()
	slot := bookingtest.FirstSlot(t, f.svc, f.t, f.loc, tenanttest.Now())
	for range 2 {
		c := bookingtest.MustCard(t, f.svc, f.t, "0101")
		if _, err := f.svc.Reserve(ctx, f.t, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{c.ID}, Actor: web}); err != nil {
			t.Fatal(err)
		}
	}
	// Capacity drops to 1 and then the whole schedule is removed: the slot keeps its two bookings.
	var ws []booking.Window
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		ws = append(ws, booking.Window{Weekday: wd, Start: 9 * 60, End: 12 * 60, SlotMinutes: 30, Capacity: 1})
	}
	if err := f.svc.SetWeeklySchedule(ctx, f.t, f.loc.ID, ws, bookingtest.Admin); err != nil {
		t.Fatal(err)
	}
	got, _ := f.svc.SlotByID(ctx, f.t, slot.ID)
	if got.Capacity != 2 || got.Booked != 2 || !got.Flagged || got.Remaining() != 0 {
		t.Errorf("after shrinking: %+v, want capacity kept at 2 bookings, flagged", got)
	}
	if err := f.svc.SetWeeklySchedule(ctx, f.t, f.loc.ID, nil, bookingtest.Admin); err != nil {
		t.Fatal(err)
	}
	got, _ = f.svc.SlotByID(ctx, f.t, slot.ID)
	if got.Open || got.Booked != 2 || !got.Flagged {
		t.Errorf("after closing: %+v, want closed, bookings kept, flagged", got)
	}
	f.checkInvariant(t)
}

func TestHolidaysClosedUnlessOpened(t *testing.T) {
	d := tenanttest.NewDB(t)
	tn := tenanttest.MustCreateTenant(t, d.App)
	// Fix the clock before 2027-01-01 (元日, a Friday) so it is in the horizon.
	now := time.Date(2026, 12, 20, 10, 0, 0, 0, booking.JST)
	svc := booking.NewService(d.App, booking.Config{Now: func() time.Time { return now }, SecretKey: bookingtest.Key})
	loc := bookingtest.MustLocation(t, svc, tn, "本庁", 2)
	ctx := context.Background()
	cal, err := svc.Availability(ctx, tn, loc.ID, booking.Date{Year: 2026, Month: 12, Day: 28}, booking.Date{Year: 2027, Month: 1, Day: 12}, 1, bookingtest.Citizen)
	if err != nil {
		t.Fatal(err)
	}
	marks := map[string]booking.Mark{}
	for _, a := range cal {
		marks[a.Day.String()] = a.Mark
	}
	for day, want := range map[string]booking.Mark{
		"2026-12-28": booking.MarkOpen, "2026-12-29": booking.MarkClosed, "2027-01-01": booking.MarkClosed,
		"2027-01-03": booking.MarkClosed, "2027-01-04": booking.MarkOpen, "2027-01-11": booking.MarkClosed, // 成人の日
	} {
		if marks[day] != want {
			t.Errorf("%s: %s, want %s", day, marks[day], want)
		}
	}
	// 休日開庁 on 成人の日 opens it.
	if err := svc.AddOverride(ctx, tn, loc.ID, booking.Date{Year: 2027, Month: 1, Day: 11}, booking.OverrideOpen,
		&booking.Window{Start: 9 * 60, End: 10 * 60, SlotMinutes: 20, Capacity: 4}, "休日開庁", bookingtest.Admin); err != nil {
		t.Fatal(err)
	}
	slots, err := svc.SlotsOn(ctx, tn, loc.ID, booking.Date{Year: 2027, Month: 1, Day: 11}, bookingtest.Citizen)
	if err != nil || len(slots) != 3 || slots[0].Capacity != 4 {
		t.Errorf("holiday opening: %d slots (%v), want 3 of capacity 4", len(slots), err)
	}
}

func TestLoginLockout(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	opt, _ := redis.ParseURL(redisURL())
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	cfg := guard.DefaultConfig()
	cfg.CardSoftLock = 2 * time.Second
	key := make([]byte, 32)
	rand.Read(key) // a fresh key per run: counters never carry over between runs sharing Redis
	g, err := guard.New(rdb, key, cfg, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	tn := tenanttest.MustCreateTenant(t, d.App)
	svc := booking.NewService(d.App, booking.Config{SecretKey: bookingtest.Key, Guard: g})
	card := bookingtest.MustCard(t, svc, tn, "0312")
	login := func(no, birth string) error {
		_, err := svc.Login(ctx, tn, booking.LoginInput{CardNo: no, Birth: birth, IP: "192.0.2.10"})
		return err
	}
	for _, in := range []string{"0312", "312", "０３１２", "3/12"} {
		if err := login(card.CardNo, in); err != nil {
			t.Errorf("Login(%q) = %v", in, err)
		}
	}
	if err := login("１２３ ４５６－７８９０１２", "0312"); tenant.AsError(err) == nil || tenant.AsError(err).Fields["card_no"] != "login.card_no.my_number" {
		t.Errorf("12-digit number = %v, want the 個人番号 message", err)
	}
	// Unknown card and wrong MMDD answer the same.
	errUnknown, errWrong := login("999999999", "0312"), login(card.CardNo, "0313")
	if tenant.AsError(errUnknown).Key != "login.failed" || tenant.AsError(errWrong).Key != "login.failed" {
		t.Errorf("unknown = %v, wrong = %v; want both login.failed", errUnknown, errWrong)
	}
	for range 4 {
		login(card.CardNo, "0101")
	}
	// 5 failures: the 6th attempt is refused even with the right MMDD.
	if err := login(card.CardNo, "0312"); tenant.ErrorCode(err) != tenant.Throttled {
		t.Fatalf("6th attempt with the right MMDD = %v, want throttled", err)
	}
	time.Sleep(cfg.CardSoftLock + 200*time.Millisecond)
	if err := login(card.CardNo, "0312"); err != nil {
		t.Errorf("after the lock lifted: %v", err)
	}
}

func redisURL() string {
	if u := os.Getenv("MADOGUCHI_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

func nextSlot(t *testing.T, f *fixture, after *booking.Slot) *booking.Slot {
	t.Helper()
	slots, err := f.svc.SlotsOn(context.Background(), f.t, f.loc.ID, booking.DateFromDB(after.Day), bookingtest.Citizen)
	if err != nil {
		t.Fatal(err)
	}
	for i := range slots {
		if slots[i].StartsAt.After(after.StartsAt) {
			return &slots[i]
		}
	}
	t.Fatal("no later slot")
	return nil
}

func TestOverlappingWindowsRefused(t *testing.T) {
	d := tenanttest.NewDB(t)
	f := newFixture(t, d, 2)
	err := f.svc.SetWeeklySchedule(context.Background(), f.t, f.loc.ID, []booking.Window{
		{Weekday: time.Monday, Start: 9 * 60, End: 12 * 60, SlotMinutes: 30, Capacity: 2},
		{Weekday: time.Monday, Start: 11 * 60, End: 13 * 60, SlotMinutes: 30, Capacity: 2},
	}, bookingtest.Admin)
	if e := tenant.AsError(err); e == nil || e.Fields["start"] != "schedule.window.overlaps" {
		t.Fatalf("overlapping windows = %v, want an invalid error naming the overlap", err)
	}
}
