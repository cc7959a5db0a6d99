package booking_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// TestReserveIsIdempotent checks that a repeated booking request — a double click on the
// confirm button, a reload, an API client retrying after a lost answer — finds the booking the
// first request made instead of making a second one or failing: by the hold when there is one,
// otherwise by the client's request key, scoped to who sent it.
func TestReserveIsIdempotent(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	f := newFixture(t, d, 5)
	slot := bookingtest.FirstSlot(t, f.svc, f.t, f.loc, tenanttest.Now())
	later := nextSlot(t, f, slot)
	mails := func(id uuid.UUID) int {
		t.Helper()
		var n int
		err := tenant.InTx(ctx, d.App, f.t.ID, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewRaw("SELECT count(*) FROM outbox WHERE reservation_id = ?", id).Scan(ctx, &n)
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("by the hold, concurrent repeats", func(t *testing.T) {
		card := bookingtest.MustCard(t, f.svc, f.t, "0101")
		h, err := f.svc.HoldSlot(ctx, f.t, slot.ID, 1, uuid.Nil, staff)
		if err != nil {
			t.Fatal(err)
		}
		in := booking.ReserveInput{SlotID: slot.ID, HoldID: h.ID, CardIDs: []uuid.UUID{card.ID}, Email: "repeat@example.jp", Actor: staff}
		const repeats = 6
		got := make([]*booking.Reservation, repeats)
		errs := make([]error, repeats)
		var wg sync.WaitGroup
		for i := range repeats {
			wg.Go(func() { got[i], errs[i] = f.svc.Reserve(ctx, f.t, in) })
		}
		wg.Wait()
		first := 0
		for i := range repeats {
			if errs[i] != nil {
				t.Fatalf("repeat %d: %v, want the first booking", i, errs[i])
			}
			if got[i].ID != got[0].ID {
				t.Fatalf("repeat %d booked %s, the first %s: two bookings for one hold", i, got[i].ID, got[0].ID)
			}
			if !got[i].Replayed {
				first++
			}
		}
		if first != 1 {
			t.Errorf("%d of %d answers were not replays, want exactly 1", first, repeats)
		}
		if n := mails(got[0].ID); n != 1 {
			t.Errorf("%d confirmation mails queued, want 1", n)
		}
		f.checkInvariant(t)
	})

	t.Run("by the client's key", func(t *testing.T) {
		card := bookingtest.MustCard(t, f.svc, f.t, "0202")
		other := bookingtest.MustCard(t, f.svc, f.t, "0303")
		in := booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{card.ID}, Actor: web, RequestKey: "req-7f3a"}
		r1, err := f.svc.Reserve(ctx, f.t, in)
		if err != nil || r1.Replayed {
			t.Fatalf("first request: %v (replayed %v)", err, r1 != nil && r1.Replayed)
		}
		r2, err := f.svc.Reserve(ctx, f.t, in)
		if err != nil || r2.ID != r1.ID || !r2.Replayed {
			t.Fatalf("repeat = %+v, %v; want the first booking, replayed", r2, err)
		}
		moved := in
		moved.SlotID = later.ID
		if _, err := f.svc.Reserve(ctx, f.t, moved); tenant.AsError(err) == nil || tenant.AsError(err).Key != "request.key_reused" {
			t.Errorf("same key, other slot: %v, want request.key_reused", err)
		}
		// Another citizen's request with the same key is theirs: the key is scoped to the card.
		theirs := booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{other.ID}, Actor: web, RequestKey: "req-7f3a"}
		r3, err := f.svc.Reserve(ctx, f.t, theirs)
		if err != nil || r3.ID == r1.ID || r3.Replayed {
			t.Errorf("another citizen's request with the same key = %+v, %v; want their own booking", r3, err)
		}
		f.checkInvariant(t)
	})

	t.Run("bad keys change nothing", func(t *testing.T) {
		card := bookingtest.MustCard(t, f.svc, f.t, "0404")
		for _, key := range []string{"two words", strings.Repeat("k", 256), "改行\n"} {
			_, err := f.svc.Reserve(ctx, f.t, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{card.ID}, Actor: web, RequestKey: key})
			if e := tenant.AsError(err); e == nil || e.Key != "request.key_invalid" {
				t.Errorf("key %q: %v, want request.key_invalid", key, err)
			}
		}
		if r, err := f.svc.CurrentReservation(ctx, f.t, card.ID); err == nil {
			t.Errorf("a refused request booked %s", r.Code)
		}
	})
}
