package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/booking/slotfeed"
	"github.com/madoguchi/madoguchi/jobs/jobstest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// process is one web process as `madoguchi serve` opens it (Open, then Web), with an availability
// cache that lives an hour: only a change message makes it read a day again.
type process struct {
	*App
	web     *fiber.App
	applied chan slotfeed.Change // changes its cache applied from the feed, in order
}

func openProcess(t *testing.T, d *tenanttest.DB, redisAddr string, now func() time.Time) *process {
	t.Helper()
	a, err := Open(context.Background(), Options{DatabaseURL: d.AppDSN, RedisURL: "redis://" + redisAddr + "/0", DBMaxConns: 4,
		SecretKey: bookingtest.Key, Registry: prometheus.NewRegistry(), Now: now, AvailabilityCacheTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	p := &process{App: a, applied: make(chan slotfeed.Change, 1000)}
	a.SlotCache.OnChange(func(c slotfeed.Change) { p.applied <- c })
	if p.web, err = a.Web(WebOptions{Log: slog.New(slog.DiscardHandler), BaseDomain: "localhost"}); err != nil {
		t.Fatal(err)
	}
	// A message published before the subscription is confirmed is lost: publish markers until
	// one is applied. From then on the cache is live.
	for i := 0; !p.marked(t, p, 50*time.Millisecond); i++ {
		if i == 200 {
			t.Fatal("the slot change feed never delivered")
		}
	}
	return p
}

// marked publishes a marker from p and reports whether to applied it within wait, returning
// once it did; every change p published before was applied before it.
func (p *process) marked(t *testing.T, to *process, wait time.Duration) bool {
	t.Helper()
	marker := uuid.New()
	if err := p.SlotFeed.Publish(context.Background(), slotfeed.Change{Tenant: marker}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(wait)
	for {
		select {
		case c := <-to.applied:
			if c.Tenant == marker {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// changesTo returns the changes of city tn that p's feed brought to `to` up to now.
func (p *process) changesTo(t *testing.T, to *process, tn uuid.UUID) []slotfeed.Change {
	t.Helper()
	marker := uuid.New()
	if err := p.SlotFeed.Publish(context.Background(), slotfeed.Change{Tenant: marker}); err != nil {
		t.Fatal(err)
	}
	var out []slotfeed.Change
	for {
		select {
		case c := <-to.applied:
			if c.Tenant == marker {
				return out
			}
			if c.Tenant == tn {
				out = append(out, c)
			}
		case <-time.After(10 * time.Second): // only stops a broken test
			t.Fatal("the change never reached the other process")
		}
	}
}

// apiJSON sends one JSON API request to p's web app.
func (p *process) apiJSON(t *testing.T, method, host, path, token, body string, hdr ...string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Host = host
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := p.web.Test(req, 10000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var obj map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, obj
}

// remaining is what p's public API says is left of a slot (-1: not listed).
func (p *process) remaining(t *testing.T, host string, loc uuid.UUID, slot *booking.Slot) int {
	t.Helper()
	day := booking.DateFromDB(slot.Day)
	status, obj := p.apiJSON(t, "GET", host, fmt.Sprintf("/api/v1/availability?location=%s&from=%s&to=%s", loc, day, day), "", "")
	if status != 200 {
		t.Fatalf("GET /api/v1/availability = %d %v", status, obj)
	}
	days, _ := obj["days"].([]any)
	for _, d := range days {
		slots, _ := d.(map[string]any)["slots"].([]any)
		for _, s := range slots {
			if m := s.(map[string]any); m["id"] == slot.ID.String() {
				return int(m["remaining"].(float64))
			}
		}
	}
	return -1
}

// cacheReads returns madoguchi_availability_cache_reads_total by result.
func (p *process) cacheReads(t *testing.T) map[string]float64 {
	t.Helper()
	mfs, err := p.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() == "madoguchi_availability_cache_reads_total" {
			for _, m := range mf.GetMetric() {
				out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// TestAvailabilityCacheEveryChannel: a booking made in one web process, from any channel — a
// citizen on the web (hold, then book), the JSON API, a city's staff, the call center — shows at
// once in another web process that had the day cached for an hour. Nothing is waited for but
// the change's message (and the cache read before the booking is shown to have been a hit).
func TestAvailabilityCacheEveryChannel(t *testing.T) {
	d := tenanttest.NewDB(t)
	redis := jobstest.StartRedis(t)
	clock := tenanttest.NewClock()
	a := openProcess(t, d, redis.Addr(), clock.Now)
	b := openProcess(t, d, redis.Addr(), clock.Now)
	plain := booking.NewService(d.App, booking.Config{Now: clock.Now, SecretKey: bookingtest.Key})
	ctx := context.Background()
	tn := tenanttest.MustCreateTenant(t, d.App)
	host := tn.Slug + ".localhost"
	loc := bookingtest.MustLocation(t, a.Booking, tn, "本庁", 10)
	slot := bookingtest.FirstSlot(t, a.Booking, tn, loc, clock.Now())
	a.changesTo(t, b, tn.ID) // the setup's changes are applied

	for _, ch := range []struct {
		name string
		book func(t *testing.T)
	}{
		{"citizen on the web", func(t *testing.T) {
			c := bookingtest.MustCard(t, a.Booking, tn, "0312")
			h, err := a.Booking.HoldSlot(ctx, tn, slot.ID, 1, uuid.Nil, tenant.Citizen("192.0.2.1"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Booking.Reserve(ctx, tn, booking.ReserveInput{SlotID: slot.ID, HoldID: h.ID, CardIDs: []uuid.UUID{c.ID},
				Email: "web@example.jp", Actor: tenant.Citizen("192.0.2.1")}); err != nil {
				t.Fatal(err)
			}
		}},
		{"JSON API", func(t *testing.T) {
			c := bookingtest.MustCard(t, a.Booking, tn, "0312")
			status, obj := a.apiJSON(t, "POST", host, "/api/v1/session", "", fmt.Sprintf(`{"card_no":%q,"birth":"0312"}`, c.CardNo))
			if status != 201 {
				t.Fatalf("POST /api/v1/session = %d %v", status, obj)
			}
			status, obj = a.apiJSON(t, "POST", host, "/api/v1/reservations", obj["token"].(string),
				fmt.Sprintf(`{"slot_id":%q,"email":"api@example.jp"}`, slot.ID), "Idempotency-Key", uuid.NewString())
			if status != 201 {
				t.Fatalf("POST /api/v1/reservations = %d %v", status, obj)
			}
		}},
		{"staff", func(t *testing.T) {
			c := bookingtest.MustCard(t, a.Booking, tn, "0312")
			if _, err := a.Booking.Reserve(ctx, tn, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{c.ID},
				Actor: tenant.Staff(uuid.New(), "staff-1", "192.0.2.2")}); err != nil {
				t.Fatal(err)
			}
		}},
		{"call center", func(t *testing.T) {
			c := bookingtest.MustCard(t, a.Booking, tn, "0312")
			if _, err := a.Booking.Reserve(ctx, tn, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{c.ID},
				Actor: tenant.Actor{Channel: tenant.ChannelCallCenter, AccountID: uuid.New(), Login: "op-1", IP: "192.0.2.3"}}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(ch.name, func(t *testing.T) {
			before := b.remaining(t, host, loc.ID, slot)
			hits := b.cacheReads(t)["hit"]
			if again := b.remaining(t, host, loc.ID, slot); again != before || b.cacheReads(t)["hit"] <= hits {
				t.Fatalf("second read = %d (first %d), cache hits %v → %v: the day is not served from the cache", again, before, hits, b.cacheReads(t)["hit"])
			}
			ch.book(t)
			changes := a.changesTo(t, b, tn.ID)
			if len(changes) == 0 {
				t.Fatal("no change of the city reached the other process")
			}
			got := b.remaining(t, host, loc.ID, slot)
			fresh, err := plain.SlotsOn(ctx, tn, loc.ID, booking.DateFromDB(slot.Day), tenant.Citizen(""))
			if err != nil {
				t.Fatal(err)
			}
			want := -1
			for _, s := range fresh {
				if s.ID == slot.ID {
					want = s.Remaining()
				}
			}
			if got != before-1 || got != want {
				t.Errorf("the other process shows %d places left (before the booking %d, PostgreSQL %d)", got, before, want)
			}
			if own := a.remaining(t, host, loc.ID, slot); own != want {
				t.Errorf("the booking process shows %d places left, PostgreSQL %d", own, want)
			}
		})
	}
}

// TestAvailabilityCacheBypassedWhileRedisDown: while the change feed is down a web process
// reads every day from PostgreSQL (a booking made meanwhile, whose message is lost, shows at
// once) and stores nothing; when Redis is back it subscribes again by itself and caches again,
// from an empty cache.
func TestAvailabilityCacheBypassedWhileRedisDown(t *testing.T) {
	d := tenanttest.NewDB(t)
	redis := jobstest.StartRedis(t)
	clock := tenanttest.NewClock()
	a := openProcess(t, d, redis.Addr(), clock.Now)
	b := openProcess(t, d, redis.Addr(), clock.Now)
	ctx := context.Background()
	tn := tenanttest.MustCreateTenant(t, d.App)
	loc := bookingtest.MustLocation(t, a.Booking, tn, "本庁", 10)
	slot := bookingtest.FirstSlot(t, a.Booking, tn, loc, clock.Now())
	day := booking.DateFromDB(slot.Day)
	a.changesTo(t, b, tn.ID)
	left := func(p *process) int {
		t.Helper()
		slots, err := p.Booking.SlotsOn(ctx, tn, loc.ID, day, tenant.Citizen(""))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range slots {
			if s.ID == slot.ID {
				return s.Remaining()
			}
		}
		t.Fatal("slot not listed")
		return 0
	}
	book := func() {
		t.Helper()
		c := bookingtest.MustCard(t, a.Booking, tn, "0312")
		if _, err := a.Booking.Reserve(ctx, tn, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{c.ID},
			Actor: tenant.Staff(uuid.New(), "staff-1", "")}); err != nil {
			t.Fatal(err)
		}
	}
	// waitLive waits until b's cache is (not) used: the subscription's loss or return is noticed
	// by its own goroutine.
	waitLive := func(want bool) {
		t.Helper()
		for i := 0; b.SlotCache.Live() != want; i++ {
			if i == 1000 {
				t.Fatalf("cache live = %v after 10 s, want %v", !want, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	if n := left(b); n != 10 || left(b) != 10 || b.cacheReads(t)["hit"] == 0 {
		t.Fatalf("before the outage: %d places, hits %v; want 10 from the cache", n, b.cacheReads(t))
	}
	redis.Stop()
	waitLive(false)
	book() // its message cannot be published: Redis is down
	bypassed := b.cacheReads(t)["bypass"]
	if n := left(b); n != 9 {
		t.Errorf("with Redis down the other process shows %d places, want 9 (PostgreSQL)", n)
	}
	if n := left(b); n != 9 || b.cacheReads(t)["bypass"] != bypassed+2 {
		t.Errorf("with Redis down: %d places, reads %v; want 9 read from PostgreSQL each time (bypass)", n, b.cacheReads(t))
	}

	redis.Start()
	waitLive(true)
	hits := b.cacheReads(t)["hit"]
	if n := left(b); n != 9 || left(b) != 9 || b.cacheReads(t)["hit"] != hits+1 {
		t.Errorf("after Redis is back: %d places, reads %v; want 9, cached again", n, b.cacheReads(t))
	}
	for !a.marked(t, b, 50*time.Millisecond) { // a's own subscription is back too
	}
	book()
	a.changesTo(t, b, tn.ID)
	if n := left(b); n != 8 {
		t.Errorf("a booking after Redis is back: the other process shows %d places, want 8", n)
	}
}
