package ui_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/uitest"
)

// TestE2EStaffCardsList drives ui/e2e/staff-cards-list.mjs in Chromium at phone and desktop size:
// the filtered card list with its print view, the change of every matching card after its check
// page, and one card typed by hand; axe on every page.
func TestE2EStaffCardsList(t *testing.T) {
	e := newBrowserEnv(t, nil)
	ctx := context.Background()
	admAccount(t, e, e.city, "e2e.clerk", tenant.RoleStaff, "clerk password for e2e")
	prefixes := map[string]string{"phone": "41", "desktop": "42"}
	newCards := map[string]string{"phone": "490000001", "desktop": "490000002"}
	for _, p := range prefixes {
		for i := 1; i <= 3; i++ {
			if _, err := e.svc.AddCard(ctx, e.city, booking.CardInput{CardNo: fmt.Sprintf("%s000000%d", p, i), Birth: "0401", StoragePos: "棚B-1"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A place with some bookings over the next days, for the dashboard's chart.
	loc := bookingtest.MustLocation(t, e.svc, e.city, "本庁舎 市民課", 2)
	from := booking.FirstBookableDay(e.city, e.now())
	slots, err := e.svc.BookableSlots(ctx, e.city, loc.ID, from, from.AddDays(6), tenant.Citizen(""))
	if err != nil {
		t.Fatal(err)
	}
	for i, sl := range slots {
		if i%3 != 0 {
			continue // about a third of the slots, the first day's fuller than the rest
		}
		for k := range 2 - min(i/12, 1) {
			c, err := e.svc.AddCard(ctx, e.city, booking.CardInput{CardNo: fmt.Sprintf("43%03d%04d", i, k), Birth: "0401"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Reserve(ctx, e.city, booking.ReserveInput{SlotID: sl.ID, CardIDs: []uuid.UUID{c.ID}, Actor: tenant.Staff(uuid.Nil, "seed", "")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "staff-cards-list.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{
		"login": "e2e.clerk", "password": "clerk password for e2e", "prefixes": prefixes, "newCards": newCards,
	})
	for vp, p := range prefixes {
		list, err := e.svc.SearchCards(ctx, e.city, booking.CardQuery{No: p, Status: booking.CardNoticeSent}, tenant.System("test"))
		if err != nil || list.Total != 3 {
			t.Errorf("%s: %d cards %s… are notice_sent (%v), want 3", vp, list.Total, p, err)
		}
		admAuditHas(t, e, e.city, "e2e.clerk card.status.filter", `"q": "`+p+`"`, `"count": 3`)
		admAuditHas(t, e, e.city, "e2e.clerk card.print", `"q": "`+p+`"`)
	}
	for vp, no := range newCards {
		list, err := e.svc.SearchCards(ctx, e.city, booking.CardQuery{No: no}, tenant.System("test"))
		if err != nil || list.Total != 1 {
			t.Errorf("%s: card %s was not added (%v)", vp, no, err)
		}
	}
}
