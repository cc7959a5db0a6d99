package ui_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/uitest"
)

// TestE2EStaffBookingNew drives booking on a citizen's behalf in Chromium
// (ui/e2e/staff-booking-new.mjs) at 360 and 1280 px with axe on every page: a refused number,
// two cards, place, calendar, time, check page, the booking's detail and the list; then
// 「来庁なし」 for a booking whose time has passed.
func TestE2EStaffBookingNew(t *testing.T) {
	e := newBrowserEnv(t, nil)
	ctx := context.Background()
	acc := e.accounts
	if _, err := acc.Create(ctx, e.city, "clerk8", "窓口", tenant.RoleStaff, "x-initial-123", "test"); err != nil {
		t.Fatal(err)
	}
	if err := acc.SetPasswordNoChange(ctx, e.city, "clerk8", "clerk password eight"); err != nil {
		t.Fatal(err)
	}
	loc := bookingtest.MustLocation(t, e.svc, e.city, "本庁舎", 10)
	cards := map[string][]string{}
	noShow := map[string]string{}
	slot := bookingtest.FirstSlot(t, e.svc, e.city, loc, e.now())
	for _, vp := range []string{"phone", "desktop"} {
		for range 2 {
			cards[vp] = append(cards[vp], bookingtest.MustCard(t, e.svc, e.city, "0101").CardNo)
		}
		r, err := e.svc.Reserve(ctx, e.city, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{bookingtest.MustCard(t, e.svc, e.city, "0202").ID},
			Actor: tenant.Citizen("")})
		if err != nil {
			t.Fatal(err)
		}
		noShow[vp] = r.ID.String()
	}
	// Those bookings' time has passed (as if the clock had run on).
	now := e.now()
	err := tenant.InTx(ctx, e.db.App, e.city.ID, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE slots SET starts_at = ?, ends_at = ? WHERE id = ?", now.Add(-2*time.Hour), now.Add(-90*time.Minute), slot.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE reservations SET starts_at = ? WHERE slot_id = ?", now.Add(-2*time.Hour), slot.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "staff-booking-new.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{
		"login": "clerk8", "password": "clerk password eight", "location": "本庁舎", "unknown": "000000001", "cards": cards, "noShow": noShow,
	})
}
