package booking_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

var deskClerk = tenant.Actor{Channel: staff.Channel, Login: staff.Login, IP: "192.0.2.1"}

func toWide(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			r = r - '0' + '０'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func TestStaffLookupCards(t *testing.T) {
	d := tenanttest.NewDB(t)
	f := newFixture(t, d, 5)
	ctx := context.Background()
	ok1, ok2 := bookingtest.MustCard(t, f.svc, f.t, "0101"), bookingtest.MustCard(t, f.svc, f.t, "0202")
	booked := bookingtest.MustCard(t, f.svc, f.t, "0303")
	slot := bookingtest.FirstSlot(t, f.svc, f.t, f.loc, tenanttest.Now())
	r, err := f.svc.Reserve(ctx, f.t, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{booked.ID}, Actor: web})
	if err != nil {
		t.Fatal(err)
	}
	void := bookingtest.MustCard(t, f.svc, f.t, "0404")
	if err := f.svc.ChangeCardStatus(ctx, f.t, []uuid.UUID{void.ID}, booking.CardVoid, tenant.Staff(uuid.Nil, "x", "")); err != nil {
		t.Fatal(err)
	}
	other := newFixture(t, d, 5)
	foreign := bookingtest.MustCard(t, other.svc, other.t, "0505")

	wide := toWide(ok2.CardNo[:3] + "-" + ok2.CardNo[3:])
	lines, err := f.svc.StaffLookupCards(ctx, f.t, []string{ok1.CardNo, "", wide}, deskClerk)
	if err != nil {
		t.Fatalf("StaffLookupCards(ok) = %v", err)
	}
	if len(lines) != 2 || lines[0].Card.ID != ok1.ID || lines[1].Card.ID != ok2.ID || lines[1].Line != 3 {
		t.Fatalf("lines = %+v", lines)
	}

	lines, err = f.svc.StaffLookupCards(ctx, f.t, []string{booked.CardNo, void.CardNo, foreign.CardNo, ok1.CardNo, ok1.CardNo, "123456789012"}, deskClerk)
	e := tenant.AsError(err)
	if e == nil || e.Code != tenant.Invalid {
		t.Fatalf("StaffLookupCards(bad) = %v, want invalid", err)
	}
	want := map[string]string{"card1": "behalf.card.booked", "card2": "behalf.card.void", "card3": "behalf.card.not_found",
		"card5": "behalf.card.duplicate", "card6": "login.card_no.my_number"}
	for k, v := range want {
		if e.Fields[k] != v {
			t.Errorf("field %s = %q, want %q", k, e.Fields[k], v)
		}
	}
	if _, bad := e.Fields["card4"]; bad || lines[0].Existing == nil || lines[0].Existing.Code != r.Code {
		t.Errorf("line 4 refused or line 1 lacks its booking: %+v", lines)
	}
	if _, err := f.svc.StaffLookupCards(ctx, f.t, []string{"12345"}, deskClerk); tenant.AsError(err) == nil || tenant.AsError(err).Fields["card1"] != "login.card_no.invalid" {
		t.Errorf("short number = %v", err)
	}
	if _, err := f.svc.StaffLookupCards(ctx, f.t, []string{"1", "2", "3", "4", "5", "6", "7"}, deskClerk); tenant.AsError(err) == nil || tenant.AsError(err).Key != "reserve.party.invalid" {
		t.Errorf("seven lines = %v", err)
	}
	if lines[2].Card != nil {
		t.Error("another tenant's card was found")
	}
	if _, err := f.svc.StaffLookupCards(ctx, f.t, []string{"", " "}, deskClerk); tenant.AsError(err) == nil || tenant.AsError(err).Fields["card1"] != "behalf.card.required" {
		t.Errorf("no lines = %v", err)
	}
	if _, err := f.svc.StaffBookingCards(ctx, f.t, []uuid.UUID{ok1.ID, foreign.ID}); tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("StaffBookingCards(foreign) = %v, want not_found", err)
	}
}

func TestStaffReserveAudited(t *testing.T) {
	d := tenanttest.NewDB(t)
	f := newFixture(t, d, 5)
	ctx := context.Background()
	a, b := bookingtest.MustCard(t, f.svc, f.t, "0101"), bookingtest.MustCard(t, f.svc, f.t, "0202")
	// The first open day moves inside the citizens' deadline (one day more than it is away):
	// closed to citizens, staff may still book it.
	today := booking.DateOf(f.clock.Now())
	open := booking.DateFromDB(bookingtest.FirstSlot(t, f.svc, f.t, f.loc, f.clock.Now()).Day)
	n := int(open.StdTime().Sub(today.StdTime()).Hours()/24) + 1
	f.t.Settings.BookingDeadlineDays = &n
	slots, err := f.svc.SlotsOn(ctx, f.t, f.loc.ID, open, deskClerk)
	if err != nil || len(slots) == 0 {
		t.Fatalf("SlotsOn(%s) for staff = %v, %v", open, slots, err)
	}
	days, err := f.svc.Availability(ctx, f.t, f.loc.ID, open, open, 2, deskClerk)
	if err != nil || len(days) != 1 || days[0].Mark == booking.MarkClosed {
		t.Fatalf("Availability(%s) for staff = %v, %v", open, days, err)
	}
	if cd, _ := f.svc.Availability(ctx, f.t, f.loc.ID, days[0].Day, days[0].Day, 2, bookingtest.Citizen); cd[0].Mark != booking.MarkClosed {
		t.Fatalf("citizen Availability(%s) with a %d-day deadline = %v, want closed", open, n, cd)
	}
	h, err := f.svc.HoldSlot(ctx, f.t, slots[0].ID, 2, uuid.Nil, staff)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.svc.Reserve(ctx, f.t, booking.ReserveInput{SlotID: slots[0].ID, HoldID: h.ID, CardIDs: []uuid.UUID{a.ID, b.ID}, Actor: deskClerk})
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	if r.Channel != tenant.ChannelStaff || r.PartySize != 2 || r.Email != nil {
		t.Errorf("reservation = %+v", r)
	}
	var after string
	err = tenant.InTx(ctx, f.d.App, f.t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT after::text FROM audit_log WHERE action = 'reservation.create' AND target = ? AND actor = 'staff-1'", r.Code).Scan(ctx, &after)
	})
	if err != nil || !strings.Contains(after, a.CardNo) || !strings.Contains(after, b.CardNo) {
		t.Errorf("audit after = %q, %v", after, err)
	}
	// A second submit of the same form books nothing more: it returns the booking it made.
	if again, err := f.svc.Reserve(ctx, f.t, booking.ReserveInput{SlotID: slots[0].ID, HoldID: h.ID, CardIDs: []uuid.UUID{a.ID, b.ID}, Actor: deskClerk}); err != nil || again.ID != r.ID {
		t.Errorf("second Reserve = %v, %v; want the first booking %s again", again, err, r.ID)
	}
	// A time that has started is refused even to staff.
	// (the clock is moved to one minute after a slot's start).
	later := bookingtest.Service(f.d.App, func() time.Time { return slots[1].StartsAt.Add(time.Minute) })
	c := bookingtest.MustCard(t, f.svc, f.t, "0303")
	if _, err := later.Reserve(ctx, f.t, booking.ReserveInput{SlotID: slots[1].ID, CardIDs: []uuid.UUID{c.ID}, Actor: deskClerk}); tenant.AsError(err) == nil || tenant.AsError(err).Key != "slot.closed" {
		t.Errorf("Reserve(past) = %v, want slot.closed", err)
	}
	f.checkInvariant(t)
}

// TestStaffAndCitizenRaceForLastPlace: a deskClerk holding the last place and a citizen trying to
// book it, or both booking one card: exactly one wins, the other gets a conflict.
func TestStaffAndCitizenRaceForLastPlace(t *testing.T) {
	d := tenanttest.NewDB(t)
	f := newFixture(t, d, 1)
	ctx := context.Background()
	for round := range 10 {
		slot := freeSlot(t, f)
		clerkCard, citizenCard := bookingtest.MustCard(t, f.svc, f.t, "0101"), bookingtest.MustCard(t, f.svc, f.t, "0202")
		shared := clerkCard.ID
		if round%2 == 1 { // odd rounds: both book the same card
			citizenCard = clerkCard
		}
		var wg sync.WaitGroup
		results := make([]error, 2)
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			h, err := f.svc.HoldSlot(ctx, f.t, slot.ID, 1, uuid.Nil, staff)
			if err != nil {
				results[0] = err
				return
			}
			_, results[0] = f.svc.Reserve(ctx, f.t, booking.ReserveInput{SlotID: slot.ID, HoldID: h.ID, CardIDs: []uuid.UUID{shared}, Actor: deskClerk})
		}()
		go func() {
			defer wg.Done()
			<-start
			_, results[1] = f.svc.Reserve(ctx, f.t, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{citizenCard.ID}, Actor: web})
		}()
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range results {
			if err == nil {
				wins++
			} else if e := tenant.AsError(err); e == nil || e.Code != tenant.Conflict {
				t.Errorf("round %d: loser got %v, want a conflict", round, err)
			}
		}
		if wins != 1 {
			t.Errorf("round %d: %d winners, want 1 (%v)", round, wins, results)
		}
	}
	f.checkInvariant(t)
}

// freeSlot returns the first slot a citizen can still book (past the city's deadline) with a free
// place.
func freeSlot(t *testing.T, f *fixture) *booking.Slot {
	t.Helper()
	day := booking.DateOf(f.svc.Now()).AddDays(booking.DeadlineDays(f.t))
	slots, err := f.svc.SlotsBetween(context.Background(), f.t, f.loc.ID, day, day.AddDays(30))
	if err != nil {
		t.Fatal(err)
	}
	for i := range slots {
		if slots[i].Open && slots[i].Remaining() > 0 {
			return &slots[i]
		}
	}
	t.Fatal("no free slot")
	return nil
}

func TestStaffMarkNoShow(t *testing.T) {
	d := tenanttest.NewDB(t)
	f := newFixture(t, d, 5)
	ctx := context.Background()
	card := bookingtest.MustCard(t, f.svc, f.t, "0101")
	slot := bookingtest.FirstSlot(t, f.svc, f.t, f.loc, tenanttest.Now())
	r, err := f.svc.Reserve(ctx, f.t, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{card.ID}, Actor: deskClerk})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.StaffMarkNoShow(ctx, f.t, r.ID, deskClerk); tenant.AsError(err) == nil || tenant.AsError(err).Key != "behalf.noshow.too_early" {
		t.Fatalf("StaffMarkNoShow before the time = %v, want too_early", err)
	}
	other := newFixture(t, d, 5)
	if err := other.svc.StaffMarkNoShow(ctx, other.t, r.ID, deskClerk); tenant.ErrorCode(err) != tenant.NotFound {
		t.Fatalf("StaffMarkNoShow from another tenant = %v, want not_found", err)
	}
	later := bookingtest.Service(f.d.App, func() time.Time { return slot.EndsAt.Add(time.Hour) })
	if err := later.StaffMarkNoShow(ctx, f.t, r.ID, deskClerk); err != nil {
		t.Fatalf("StaffMarkNoShow: %v", err)
	}
	v, _ := f.svc.ReservationByID(ctx, f.t, r.ID)
	c, _ := f.svc.CardByID(ctx, f.t.ID, card.ID)
	if v.Status != booking.NoShow || c.Status != booking.CardNoticeSent {
		t.Fatalf("after no-show: reservation %s, card %s", v.Status, c.Status)
	}
	if err := later.StaffMarkNoShow(ctx, f.t, r.ID, deskClerk); tenant.AsError(err) == nil || tenant.AsError(err).Key != "reservation.not_active" {
		t.Errorf("second StaffMarkNoShow = %v, want reservation.not_active", err)
	}
	// The card can be booked again.
	if _, err := f.svc.Reserve(ctx, f.t, booking.ReserveInput{SlotID: freeSlot(t, f).ID, CardIDs: []uuid.UUID{card.ID}, Actor: web}); err != nil {
		t.Errorf("booking again after a no-show: %v", err)
	}
}
