package ui_test

import (
	"context"
	"testing"

	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/uitest"
)

// TestE2EStaffBookingNew drives booking on a citizen's behalf in Chromium
// (ui/e2e/staff-booking-new.mjs) at 360 and 1280 px with axe on every page: a refused number,
// two cards, place, calendar, time, check page, the booking's detail and the list.
func TestE2EStaffBookingNew(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	acc := tenant.NewAccounts(e.db.App, nil)
	if _, err := acc.Create(ctx, e.city, "clerk8", "窓口", tenant.RoleStaff, "x-initial-123", "test"); err != nil {
		t.Fatal(err)
	}
	if err := acc.SetPasswordNoChange(ctx, e.city, "clerk8", "clerk password eight"); err != nil {
		t.Fatal(err)
	}
	bookingtest.MustLocation(t, e.svc, e.city, "本庁舎", 10)
	cards := map[string][]string{}
	for _, vp := range []string{"phone", "desktop"} {
		for range 2 {
			cards[vp] = append(cards[vp], bookingtest.MustCard(t, e.svc, e.city, "0101").CardNo)
		}
	}
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "staff-booking-new.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{
		"login": "clerk8", "password": "clerk password eight", "location": "本庁舎", "unknown": "000000001", "cards": cards,
	})
}
