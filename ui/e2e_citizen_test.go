package ui_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/uitest"
)

// e2eCard is a card as a browser scenario types it from the 交付通知書.
type e2eCard struct {
	No    string `json:"no"`
	Month int    `json:"month"`
	Day   int    `json:"day"`
	card  *booking.Card
}

// mustE2ECard registers a card with the birthday mmdd ("0312").
func mustE2ECard(t *testing.T, e *env, mmdd string) e2eCard {
	t.Helper()
	m, _ := strconv.Atoi(mmdd[:2])
	d, _ := strconv.Atoi(mmdd[2:])
	c := bookingtest.MustCard(t, e.svc, e.city, mmdd)
	return e2eCard{No: c.CardNo, Month: m, Day: d, card: c}
}

// citizenE2EEnv is a city with two bookable places (besides newEnv's unscheduled 本庁).
func citizenE2EEnv(t *testing.T) (*env, *booking.Location, *booking.Location) {
	t.Helper()
	e := newBrowserEnv(t, nil)
	a := bookingtest.MustLocation(t, e.svc, e.city, "嬉野地域振興局", 2)
	b := bookingtest.MustLocation(t, e.svc, e.city, "塩田出張所", 2)
	return e, a, b
}

// TestE2ECitizenFlow books, changes and cancels in Chromium at phone and desktop size
// (ui/e2e/citizen.mjs): a wrong birthday first, a family member, the calendar's month change
// without reload, hold expiry, e-mail typed twice, done page with code and QR; axe on every page.
func TestE2ECitizenFlow(t *testing.T) {
	t.Parallel() // the three citizen scripts run side by side, each on its own database and port
	e, a, b := citizenE2EEnv(t)
	cards := map[string][]e2eCard{
		"phone":   {mustE2ECard(t, e, "0312"), mustE2ECard(t, e, "1105")},
		"desktop": {mustE2ECard(t, e, "0229"), mustE2ECard(t, e, "1231")},
	}
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "citizen.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{
		"cards": cards, "location": a.Name, "otherLocation": b.Name, "email": "taro@example.jp",
	})
	// Every booking made in the browser was cancelled at the end.
	for vp, cs := range cards {
		for _, c := range cs {
			if v, err := e.svc.CurrentReservation(context.Background(), e.city, c.card.ID); tenant.ErrorCode(err) != tenant.NotFound {
				t.Errorf("%s card %s: reservation %+v, %v; want it cancelled", vp, c.No, v, err)
			}
		}
	}
}

// TestE2ECitizenNoJS books with JavaScript switched off at phone size (ui/e2e/citizen-nojs.mjs):
// every form posts and redirects, month links load whole pages, a missing time is caught by the
// server.
func TestE2ECitizenNoJS(t *testing.T) {
	t.Parallel()
	e, a, _ := citizenE2EEnv(t)
	cards := map[string][]e2eCard{"phone": {mustE2ECard(t, e, "0704")}}
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "citizen-nojs.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{
		"cards": cards, "location": a.Name, "email": "hanako@example.jp",
	})
	for vp, cs := range cards {
		v, err := e.svc.CurrentReservation(context.Background(), e.city, cs[0].card.ID)
		if err != nil {
			t.Fatalf("%s: no reservation after the no-JS booking: %v", vp, err)
		}
		if v.PartySize != 1 || v.LocationID != a.ID || v.Email == nil || *v.Email != "hanako@example.jp" {
			t.Errorf("%s: reservation party %d at %s, e-mail %v; want 1 at %s with hanako@example.jp", vp, v.PartySize, v.LocationID, v.Email, a.ID)
		}
	}
}

// TestE2ECitizenEnglish switches the login page to English with the header link
// (ui/e2e/citizen-en.mjs): lang="en", English text, axe, and back to Japanese.
func TestE2ECitizenEnglish(t *testing.T) {
	t.Parallel()
	e := newBrowserEnv(t, nil)
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "citizen-en.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{"cityName": e.city.Name})
}
