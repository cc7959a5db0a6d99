package ui_test

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/booking/guard"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
	"github.com/madoguchi/madoguchi/ui"
)

// TestCalendarPageFollowsEveryChange: the citizen calendar page, served from the availability
// cache (lifetime one hour: only a change can make it read again), with its location and its
// rendered month kept between requests, shows on the very next request — no waiting — a place
// taken or given back by any channel (citizen on the web or the API, staff, call center), a
// location renamed or deactivated by staff; the rendered month is never shared between two cities
// with the same schedule, nor between party sizes or months. (The other processes' caches follow
// the same changes through the feed: booking's TestSlotChangesReachEveryProcess.)
func TestCalendarPageFollowsEveryChange(t *testing.T) {
	ctx := context.Background()
	cache, err := booking.NewSlotCache(booking.SlotCacheConfig{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cache.SetLive(true)
	var svc *booking.Service // the app's service, on the cache
	e := newEnv(t, nil, func(d *ui.Deps) {
		g, err := guard.New(d.Redis, randomKey(), guard.DefaultConfig(), prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		svc = booking.NewService(d.DB, booking.Config{Now: d.Now, SecretKey: bookingtest.Key, Guard: g, Cache: cache})
		d.Booking = svc
	})
	plain := booking.NewService(e.db.App, booking.Config{Now: e.clock.Now, SecretKey: bookingtest.Key}) // PostgreSQL as it is
	addr := serve(t, e)

	// Two cities with the same schedule: two places a slot, six slots a day.
	city2 := tenanttest.MustCreateTenant(t, e.db.App)
	loc1 := bookingtest.MustLocation(t, svc, e.city, "第一庁舎", 2)
	loc2 := bookingtest.MustLocation(t, svc, city2, "第二庁舎", 2)
	first := booking.DateFromDB(bookingtest.FirstSlot(t, svc, e.city, loc1, e.clock.Now()).Day)
	month := first.String()[:7]

	login := func(city *tenant.Tenant, mmdd ...string) *browser {
		t.Helper()
		b := newBrowser(t, addr, city.Slug+".localhost")
		me := bookingtest.MustCard(t, svc, city, mmdd[0])
		b.get("/login")
		b.post("/login", url.Values{"card_no": {me.CardNo}, "month": {mmdd[0][:2]}, "day": {mmdd[0][2:]}})
		b.want(200)
		for _, m := range mmdd[1:] {
			kid := bookingtest.MustCard(t, svc, city, m)
			b.get("/family")
			b.post("/family", url.Values{"card_no": {kid.CardNo}, "month": {m[:2]}, "day": {m[2:]}})
			b.want(200, "家族を追加しました")
		}
		return b
	}
	one, two := login(e.city, "0312"), login(e.city, "0401", "0402")
	other := login(city2, "0503")

	// rest returns the count the page shows for day, "" when the day shows none.
	restRE := regexp.MustCompile(`(?s)day=` + first.String() + `"[^>]*>.*?<span class="rest">残り(\d+)</span>`)
	page := func(b *browser, loc *booking.Location, month string) string {
		t.Helper()
		b.get("/calendar?location=" + loc.ID.String() + "&month=" + month)
		b.want(200, `<table class="cal"`)
		return b.last
	}
	rest := func(b *browser, loc *booking.Location) string {
		t.Helper()
		if m := restRE.FindStringSubmatch(page(b, loc, month)); m != nil {
			return m[1]
		}
		return ""
	}
	// want is what PostgreSQL holds, as a citizen's party of n sees first.
	want := func(city *tenant.Tenant, loc *booking.Location, n int) string {
		t.Helper()
		days, err := plain.Availability(ctx, city, loc.ID, first, first, n, tenant.Citizen(""))
		if err != nil || len(days) != 1 {
			t.Fatalf("availability: %v %v", days, err)
		}
		if days[0].Remaining == 0 {
			return ""
		}
		return strconv.Itoa(days[0].Remaining)
	}
	check := func(after string) {
		t.Helper()
		for _, c := range []struct {
			name string
			b    *browser
			city *tenant.Tenant
			loc  *booking.Location
			n    int
		}{{"party of one", one, e.city, loc1, 1}, {"party of two", two, e.city, loc1, 2}, {"other city", other, city2, loc2, 1}} {
			if got, w := rest(c.b, c.loc), want(c.city, c.loc, c.n); got != w {
				t.Errorf("after %s, %s: the page shows %q places left on %s, PostgreSQL holds %q", after, c.name, got, first, w)
			}
		}
	}
	check("nothing")
	if p := page(other, loc2, month); strings.Contains(p, loc1.ID.String()) || !strings.Contains(p, loc2.ID.String()) {
		t.Error("the other city's calendar shows the first city's location")
	}
	if p := page(one, loc1, month); strings.Contains(p, loc2.ID.String()) {
		t.Error("the first city's calendar shows the other city's location")
	}

	slots, err := plain.SlotsOn(ctx, e.city, loc1.ID, first, tenant.Citizen(""))
	if err != nil || len(slots) < 2 {
		t.Fatalf("slots on %s: %d, %v", first, len(slots), err)
	}
	staffActor := tenant.Staff(uuid.New(), "clerk", "127.0.0.1")
	reserve := func(city *tenant.Tenant, slot uuid.UUID, a tenant.Actor) *booking.Reservation {
		t.Helper()
		card := bookingtest.MustCard(t, svc, city, "0707")
		r, err := svc.Reserve(ctx, city, booking.ReserveInput{SlotID: slot, CardIDs: []uuid.UUID{card.ID}, Lang: "ja", Actor: a})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// One place of the first slot: a party of two no longer fits there.
	reserve(e.city, slots[0].ID, tenant.Citizen("192.0.2.1"))
	check("a citizen's booking")
	byStaff := reserve(e.city, slots[1].ID, staffActor)
	check("a staff booking")
	reserve(e.city, slots[1].ID, tenant.Operator(uuid.New(), "op", "127.0.0.1"))
	check("a call-center booking")
	if err := svc.Cancel(ctx, e.city, byStaff.ID, staffActor); err != nil {
		t.Fatal(err)
	}
	check("a staff cancellation")
	if _, err := svc.Reserve(ctx, e.city, booking.ReserveInput{SlotID: slots[1].ID, CardIDs: []uuid.UUID{bookingtest.MustCard(t, svc, e.city, "0808").ID},
		Lang: "en", Actor: tenant.Citizen("192.0.2.2"), RequestKey: "api-key-1"}); err != nil {
		t.Fatal(err)
	}
	check("an API booking")

	// Months are keys: the next month's page is its own.
	next := booking.DateOf(first.Time(12, 0).AddDate(0, 1, 0)).String()[:7]
	if p := page(one, loc1, next); strings.Contains(p, "day="+first.String()) {
		t.Errorf("the page of %s shows %s", next, first)
	}

	// Staff rename the location, then close it: the next page shows it.
	l := *loc1
	l.Name = "新庁舎"
	if _, err := svc.UpdateLocation(ctx, e.city, l, staffActor); err != nil {
		t.Fatal(err)
	}
	if p := page(one, loc1, month); !strings.Contains(p, "新庁舎") {
		t.Error("the page does not show the location's new name")
	}
	l.Active = false
	if _, err := svc.UpdateLocation(ctx, e.city, l, staffActor); err != nil {
		t.Fatal(err)
	}
	one.get("/calendar?location=" + loc1.ID.String() + "&month=" + month)
	if one.status != 404 {
		t.Errorf("the calendar of a closed location = %d, want 404", one.status)
	}
}
