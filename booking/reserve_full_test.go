package booking_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// TestFullSlotRefusedFromCache: once the database refused a booking because every place of the
// slot is booked, the next booking of that slot is refused "slot.full" from the availability
// cache without a transaction (proved by a transaction holding the card's row: a booking that
// went to the database would wait for it in its first statement). A cancellation by staff drops the mark at once: the
// next booking goes to the database and gets the place, with no clock moving. A request with a
// key always goes to the database (a repeated request must find its booking).
func TestFullSlotRefusedFromCache(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	tn := tenanttest.MustCreateTenant(t, d.App)
	clock := tenanttest.NewClock()
	cache, err := booking.NewSlotCache(booking.SlotCacheConfig{TTL: time.Hour, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	cache.SetLive(true)
	svc := booking.NewService(d.App, booking.Config{Now: clock.Now, SecretKey: bookingtest.Key, Cache: cache})
	loc := bookingtest.MustLocation(t, svc, tn, "本庁", 1)
	slot := bookingtest.FirstSlot(t, svc, tn, loc, clock.Now())
	a, b, c := bookingtest.MustCard(t, svc, tn, "0101"), bookingtest.MustCard(t, svc, tn, "0202"), bookingtest.MustCard(t, svc, tn, "0303")

	first, err := svc.Reserve(ctx, tn, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{a.ID}, Actor: web})
	if err != nil {
		t.Fatal(err)
	}
	isFull := func(err error) bool { e := tenant.AsError(err); return e != nil && e.Key == "slot.full" }
	if _, err := svc.Reserve(ctx, tn, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{b.ID}, Actor: web}); !isFull(err) {
		t.Fatalf("second booking of a one-place slot: %v, want slot.full", err)
	}

	// Hold c's row: from now on a booking of c that reaches the database waits.
	locked, release, held := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		held <- tenant.InTx(ctx, d.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "SELECT 1 FROM cards WHERE id = ? FOR UPDATE", c.ID); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	select {
	case <-locked:
	case err := <-held:
		t.Fatal(err)
	}
	quick, cancel := context.WithTimeout(ctx, 3*time.Second)
	_, err = svc.Reserve(quick, tn, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{c.ID}, Actor: web})
	cancel()
	if !isFull(err) {
		t.Errorf("booking of a slot the database found full: %v, want slot.full without a transaction", err)
	}
	// With a request key the database answers (here: after the row is free again).
	keyed, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err = svc.Reserve(keyed, tn, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{c.ID}, Actor: web, RequestKey: "k-1"})
	cancel()
	if isFull(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("keyed booking while the card's row is held: %v, want it to wait for the database", err)
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}

	if err := svc.Cancel(ctx, tn, first.ID, staff); err != nil {
		t.Fatal(err)
	}
	r, err := svc.Reserve(ctx, tn, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{c.ID}, Actor: web})
	if err != nil {
		t.Fatalf("booking right after staff cancelled the only booking: %v, want the place", err)
	}
	if r.SlotID != slot.ID {
		t.Errorf("booked slot %v, want %v", r.SlotID, slot.ID)
	}
	if _, err := svc.Reserve(ctx, tn, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{b.ID}, Actor: web}); !isFull(err) {
		t.Errorf("booking of the slot full again: %v, want slot.full", err)
	}
}
