package booking_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/booking/guard"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// fleetWorld is a city whose service counts events, with a login guard on a fresh key.
type fleetWorld struct {
	d     *tenanttest.DB
	clock *tenanttest.Clock
	ev    *tenant.Events
	svc   *booking.Service
	t     *tenant.Tenant
	loc   *booking.Location
}

func newFleetWorld(t *testing.T) *fleetWorld {
	t.Helper()
	g := newGuard(t, guard.DefaultConfig())
	w := &fleetWorld{d: tenanttest.NewDB(t), clock: tenanttest.NewClock()}
	w.ev = tenant.NewEvents(w.d.App)
	w.svc = booking.NewService(w.d.App, booking.Config{Now: w.clock.Now, SecretKey: bookingtest.Key, Guard: g, Events: w.ev})
	w.t = tenanttest.MustCreateTenant(t, w.d.App)
	w.loc = bookingtest.MustLocation(t, w.svc, w.t, "本庁", 3)
	return w
}

func (w *fleetWorld) city(t *testing.T, list []booking.CityFigures, id uuid.UUID) booking.CityFigures {
	t.Helper()
	for _, c := range list {
		if c.TenantID == id {
			return c
		}
	}
	t.Fatalf("FleetOverview has no line for %s", id)
	return booking.CityFigures{}
}

func (w *fleetWorld) update(t *testing.T) {
	t.Helper()
	if err := w.ev.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.UpdateFleetFigures(context.Background(), w.t); err != nil {
		t.Fatalf("UpdateFleetFigures: %v", err)
	}
}

// TestFleetFigures drives a city through a day — bookings (one made yesterday), refusals, a
// check-in, a login lock, a failed and a retried mail, an import — and reads the fleet overview
// and history the job writes from it.
func TestFleetFigures(t *testing.T) {
	w := newFleetWorld(t)
	ctx := context.Background()
	quiet := tenanttest.MustCreateTenant(t, w.d.App) // a city the job has not counted yet
	staff := tenant.Staff(uuid.Nil, "fleet.clerk", "192.0.2.7")
	now := w.clock.Now()
	today := booking.DateOf(now)
	slot := bookingtest.FirstSlot(t, w.svc, w.t, w.loc, now)
	later := nextSlot(t, &fixture{svc: w.svc, t: w.t, loc: w.loc}, slot)
	book := func(slot *booking.Slot, email string) *booking.Reservation {
		t.Helper()
		c := bookingtest.MustCard(t, w.svc, w.t, "0312")
		r, err := w.svc.Reserve(ctx, w.t, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{c.ID}, Email: email, Actor: staff})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// One booking made yesterday: the first run counts back FleetBackfillDays days.
	w.clock.Set(now.Add(-24 * time.Hour))
	book(slot, "")
	w.clock.Set(now)
	r1, r2 := book(slot, "a@example.jp"), book(slot, "b@example.jp")

	// Refusals: the slot's three places are taken, a card already booked, a party too big.
	c := bookingtest.MustCard(t, w.svc, w.t, "0312")
	if _, err := w.svc.HoldSlot(ctx, w.t, slot.ID, 1, uuid.Nil, bookingtest.Citizen); tenant.AsError(err) == nil || tenant.AsError(err).Key != "slot.full" {
		t.Fatalf("HoldSlot on a full slot = %v, want slot.full", err)
	}
	if _, err := w.svc.Reserve(ctx, w.t, booking.ReserveInput{SlotID: later.ID,
		CardIDs: []uuid.UUID{c.ID, mustReservedCard(t, w, r1)}, Actor: staff}); tenant.AsError(err) == nil || tenant.AsError(err).Key != "card.already_booked" {
		t.Fatalf("Reserve of a booked card = %v, want card.already_booked", err)
	}
	if _, err := w.svc.HoldSlot(ctx, w.t, slot.ID, booking.MaxParty+1, uuid.Nil, bookingtest.Citizen); err == nil {
		t.Fatal("HoldSlot for too many = nil, want an error")
	}

	// One check-in (one card), five wrong birthdays on a card (a soft lock).
	if _, _, err := w.svc.CheckIn(ctx, w.t, r2.Code, staff); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := w.svc.Login(ctx, w.t, booking.LoginInput{CardNo: c.CardNo, Birth: "0101", IP: "192.0.2.10"}); err == nil {
			t.Fatal("login with a wrong birthday succeeded")
		}
	}

	// Mail: both confirmations claimed; one refused for good, the other failed once.
	ids, err := w.svc.ClaimOutbox(ctx, w.t.ID, 10, time.Minute)
	if err != nil || len(ids) != 2 {
		t.Fatalf("ClaimOutbox = %v, %v; want two rows", ids, err)
	}
	for i, id := range ids {
		job, note, err := w.svc.StartMail(ctx, w.t.ID, id, booking.MailEnv{BaseDomain: "example.lg.jp"})
		if err != nil || job == nil {
			t.Fatalf("StartMail = %q, %v", note, err)
		}
		if err := w.svc.MailFailed(ctx, job, i == 0, "550 mailbox unavailable"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.svc.CreateImportJob(ctx, w.t.ID, staff, "cards.csv", []byte("製造管理番号,生年月日\n100000009,1990-03-12\n")); err != nil {
		t.Fatal(err)
	}

	before, err := w.svc.FleetOverview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := w.city(t, before, w.t.ID); !c.ComputedAt.IsZero() || !c.SnapshotAt.IsZero() || c.Bookings != 0 {
		t.Errorf("before the job ran: %+v, want no figures", c)
	}

	w.update(t)
	w.update(t) // a second run changes nothing
	list, err := w.svc.FleetOverview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("FleetOverview has %d cities, want 2", len(list))
	}
	got := w.city(t, list, w.t.ID)
	capacity := openCapacity(t, w, today, today.AddDays(booking.FleetFillDays-1))
	for _, x := range []struct {
		name      string
		got, want any
	}{
		{"Slug", got.Slug, w.t.Slug},
		{"Day", got.Day, today},
		{"Bookings", got.Bookings, 2},
		{"Visits", got.Visits, 1},
		{"BookingErrors", got.BookingErrors, 3},
		{"ErrorReasons", fmt.Sprint(got.ErrorReasons), "map[card.already_booked:1 reserve.party.invalid:1 slot.full:1]"},
		{"LoginLocks", got.LoginLocks, 1},
		{"LoginLocks1h", got.LoginLocks1h, 1},
		{"MailFailed", got.MailFailed, 1},
		{"MailBacklog", got.MailBacklog, 1},
		{"MailRetrying", got.MailRetrying, 1},
		{"MailOldest", got.MailOldest.Equal(now), true},
		{"ImportsRunning", got.ImportsRunning, 1},
		{"BookedPlaces", got.BookedPlaces, 3},
		{"Capacity", got.Capacity, capacity},
		{"ComputedAt", got.ComputedAt.Equal(now), true},
		{"SnapshotAt", got.SnapshotAt.Equal(now), true},
	} {
		if fmt.Sprint(x.got) != fmt.Sprint(x.want) {
			t.Errorf("FleetOverview %s = %v, want %v", x.name, x.got, x.want)
		}
	}
	if got.FillRate() != 3/float64(capacity) {
		t.Errorf("FillRate = %v, want 3/%d", got.FillRate(), capacity)
	}
	if q := w.city(t, list, quiet.ID); !q.ComputedAt.IsZero() || q.Bookings != 0 || q.FillRate() != 0 {
		t.Errorf("a city never counted = %+v, want zeros", q)
	}

	daily, err := w.svc.FleetDaily(ctx, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(daily), fmt.Sprintf("[{%v 1 0 0 0 0 0} {%v 1 1 0 0 0 0} {%v 1 2 1 3 1 1}]",
		today.AddDays(-2), today.AddDays(-1), today); got != want {
		t.Errorf("FleetDaily(3) = %s, want %s", got, want)
	}
	one, err := w.svc.FleetDaily(ctx, 1, &quiet.ID)
	if err != nil || fmt.Sprint(one) != fmt.Sprintf("[{%v 0 0 0 0 0 0}]", today) {
		t.Errorf("FleetDaily(1, a city never counted) = %v, %v; want one empty day", one, err)
	}
	for _, days := range []int{0, booking.FleetKeepDays + 1} {
		if _, err := w.svc.FleetDaily(ctx, days, nil); tenant.ErrorCode(err) != tenant.Invalid {
			t.Errorf("FleetDaily(%d) = %v, want invalid", days, err)
		}
	}

	// The next day: until the job has run, the day's counts are zero and the last state stays;
	// the job then counts the new day and finishes yesterday (a booking made in its last minute).
	tomorrow := today.AddDays(1)
	w.clock.Set(tomorrow.Time(0, 0).Add(-time.Minute))
	book(later, "")
	w.clock.Set(tomorrow.Time(0, 2))
	list, err = w.svc.FleetOverview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := w.city(t, list, w.t.ID); c.Day != tomorrow || c.Bookings != 0 || !c.ComputedAt.IsZero() || c.MailBacklog != 1 {
		t.Errorf("the next day before the job = %+v, want day %v, no counts, the last state", c, tomorrow)
	}
	w.update(t)
	daily, err = w.svc.FleetDaily(ctx, 2, &w.t.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(daily), fmt.Sprintf("[{%v 1 3 1 3 1 1} {%v 1 0 0 0 0 0}]", today, tomorrow); got != want {
		t.Errorf("FleetDaily(2) the next day = %s, want %s", got, want)
	}
}

// mustReservedCard returns the card of a one-card reservation.
func mustReservedCard(t *testing.T, w *fleetWorld, r *booking.Reservation) uuid.UUID {
	t.Helper()
	v, err := w.svc.ReservationByID(context.Background(), w.t, r.ID)
	if err != nil || len(v.Cards) != 1 {
		t.Fatalf("ReservationByID = %+v, %v", v, err)
	}
	return v.Cards[0].ID
}

// openCapacity sums the places of the location's open slots over the days.
func openCapacity(t *testing.T, w *fleetWorld, from, to booking.Date) int {
	t.Helper()
	slots, err := w.svc.SlotsBetween(context.Background(), w.t, w.loc.ID, from, to)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range slots {
		if s.Open {
			n += s.Capacity
		}
	}
	return n
}
