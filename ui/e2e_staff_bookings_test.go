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

// TestE2EStaffBookings drives the staff bookings pages in Chromium (ui/e2e/staff-bookings.mjs):
// list filtered → detail → cancel through the check page, the CSV form and the print views, with
// axe on every page, and the pick list rendered as print (screenshot and PDF).
func TestE2EStaffBookings(t *testing.T) {
	e := newBrowserEnv(t, nil)
	ctx := context.Background()
	acc := e.accounts
	if _, err := acc.Create(ctx, e.city, "clerk9", "窓口", tenant.RoleStaff, "x-initial-123", "test"); err != nil {
		t.Fatal(err)
	}
	if err := acc.SetPasswordNoChange(ctx, e.city, "clerk9", "clerk password nine"); err != nil {
		t.Fatal(err)
	}
	loc := bookingtest.MustLocation(t, e.svc, e.city, "本庁舎", 10)
	slot := bookingtest.FirstSlot(t, e.svc, e.city, loc, e.now())
	reserve := func(cards ...*booking.Card) *booking.Reservation {
		var ids []uuid.UUID
		for _, c := range cards {
			ids = append(ids, c.ID)
		}
		r, err := e.svc.Reserve(ctx, e.city, booking.ReserveInput{SlotID: slot.ID, CardIDs: ids, Actor: tenant.Citizen("")})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	bookings := map[string]any{}
	for _, vp := range []string{"phone", "desktop"} {
		r := reserve(bookingtest.MustCard(t, e.svc, e.city, "0101"))
		bookings[vp] = map[string]string{"id": r.ID.String(), "code": r.Code}
	}
	// Cards that stay booked, for the pick list.
	var pick []string
	a, b, c := bookingtest.MustCard(t, e.svc, e.city, "0202"), bookingtest.MustCard(t, e.svc, e.city, "0303"), bookingtest.MustCard(t, e.svc, e.city, "0404")
	reserve(a, b)
	reserve(c)
	for _, x := range []*booking.Card{a, b, c} {
		pick = append(pick, x.CardNo)
	}
	// A second location with a booking on the same day: the day list prints a page per location.
	loc2 := bookingtest.MustLocation(t, e.svc, e.city, "嬉野地域振興局", 10)
	slot2 := bookingtest.FirstSlot(t, e.svc, e.city, loc2, e.now())
	if booking.DateOf(slot2.StartsAt) != booking.DateOf(slot.StartsAt) {
		t.Fatal("the two locations' first days differ")
	}
	if _, err := e.svc.Reserve(ctx, e.city, booking.ReserveInput{SlotID: slot2.ID, CardIDs: []uuid.UUID{bookingtest.MustCard(t, e.svc, e.city, "0505").ID},
		Actor: tenant.Actor{Channel: tenant.ChannelStaff, Login: "clerk9"}}); err != nil {
		t.Fatal(err)
	}
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "staff-bookings.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{
		"login": "clerk9", "password": "clerk password nine", "day": booking.DateOf(slot.StartsAt).String(), "dayLocations": 2,
		"bookings": bookings, "pickCards": pick,
	})
}
