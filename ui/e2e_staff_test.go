package ui_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/uitest"
)

// TestE2EStaffCheckin drives the counter check-in in Chromium (ui/e2e/staff.mjs): a scan is the
// code typed plus Enter, with no mouse; every page passes axe.
func TestE2EStaffCheckin(t *testing.T) {
	e := newBrowserEnv(t, nil)
	ctx := context.Background()
	acc := e.accounts
	if _, err := acc.Create(ctx, e.city, "counter1", "窓口", tenant.RoleStaff, "x-initial-123", "test"); err != nil {
		t.Fatal(err)
	}
	if err := acc.SetPasswordNoChange(ctx, e.city, "counter1", "counter password one"); err != nil {
		t.Fatal(err)
	}
	loc := bookingtest.MustLocation(t, e.svc, e.city, "本庁舎", 5)
	slot := bookingtest.FirstSlot(t, e.svc, e.city, loc, e.now())
	codes, cardNos := map[string]string{}, map[string]string{}
	for _, vp := range []string{"phone", "desktop"} {
		card := bookingtest.MustCard(t, e.svc, e.city, "0101")
		r, err := e.svc.Reserve(ctx, e.city, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{card.ID}, Actor: tenant.Citizen("")})
		if err != nil {
			t.Fatal(err)
		}
		codes[vp], cardNos[vp] = r.Code, card.CardNo
	}
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "staff.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{
		"login": "counter1", "password": "counter password one", "codes": codes, "cardNos": cardNos,
	})
}
