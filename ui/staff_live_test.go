package ui_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/booking/slotfeed"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui"
	"github.com/madoguchi/madoguchi/ui/uitest"
	"github.com/madoguchi/madoguchi/ui/web"
)

// liveWiring is what cmd/internal/app adds for the live screens: a hub fed by one subscription to
// the slot change feed, and a booking service that announces its changes.
type liveWiring struct {
	hub  *web.Live
	svc  *booking.Service // announces every change (web, staff, call center alike)
	live chan bool
}

// withLive returns the env option that wires the live screens (keep-alive 200 ms, so a stream
// notices its session's end quickly) and the wiring, whose svc exists once the env is built.
func withLive(t *testing.T, cfg web.LiveConfig) (func(*ui.Deps), *liveWiring) {
	t.Helper()
	w := &liveWiring{live: make(chan bool, 16)}
	return func(d *ui.Deps) {
		w.hub = web.NewLive(nil, prometheus.NewRegistry(), web.WithLiveConfig(cfg))
		t.Cleanup(w.hub.Close)
		d.Live = w.hub
		rdb := d.Redis.(*redis.Client)
		pub, err := slotfeed.NewPublisher(slotfeed.PublisherConfig{Redis: rdb})
		if err != nil {
			t.Fatal(err)
		}
		w.svc = booking.NewService(d.DB, booking.Config{Now: d.Now, SecretKey: bookingtest.Key, Announce: pub.Announce})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = slotfeed.NewSubscriber(slotfeed.SubscriberConfig{Redis: rdb, OnChange: w.hub.Apply,
				OnLive: func(b bool) { w.hub.SetLive(b); w.live <- b }}).Run(ctx)
		}()
		t.Cleanup(func() { cancel(); <-done })
	}, w
}

// liveStream is an open SSE response read line by line.
type liveStream struct {
	resp    *http.Response
	updates chan string
	closed  chan struct{}
}

func openLive(t *testing.T, b *browser, path string) *liveStream {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &liveStream{resp: resp, updates: make(chan string, 16), closed: make(chan struct{})}
	go func() {
		defer close(s.closed)
		r := bufio.NewReader(resp.Body)
		var data []string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			if line == "" && data != nil {
				s.updates <- strings.Join(data, "\n")
				data = nil
			} else if d, ok := strings.CutPrefix(line, "data: "); ok {
				data = append(data, d)
			}
		}
	}()
	return s
}

func (s *liveStream) next(t *testing.T, within time.Duration) string {
	t.Helper()
	select {
	case u := <-s.updates:
		return u
	case <-s.closed:
		t.Fatal("stream ended")
	case <-time.After(within):
		t.Fatalf("no update within %v", within)
	}
	return ""
}

// TestStaffScreensLive: the /admin dashboard and the bookings list carry their stream, and a
// booking made through booking.Service (any channel) reaches an open stream of each within one
// second, as fragments drawn from the pages' own blocks. The streams are guarded like their
// pages, and a clerk's stream ends when the clerk logs out.
func TestStaffScreensLive(t *testing.T) {
	opt, w := withLive(t, web.LiveConfig{KeepAlive: 200 * time.Millisecond})
	e := newEnv(t, nil, opt)
	if !<-w.live {
		t.Fatal("feed not live")
	}
	ctx := context.Background()
	loc := bookingtest.MustLocation(t, e.svc, e.city, "本庁舎", 10)
	slot := bookingtest.FirstSlot(t, e.svc, e.city, loc, e.now())
	// The dashboard shows today and tomorrow: make the slot's day today (8:00, before it opens).
	day := booking.DateOf(slot.StartsAt)
	e.clock.Set(time.Date(day.Year, day.Month, day.Day, 8, 0, 0, 0, booking.JST))

	addr := serve(t, e)
	anon := newBrowser(t, addr, e.city.Slug+".localhost")
	req, _ := http.NewRequest(http.MethodGet, anon.base+"/admin/live/dashboard", nil)
	anon.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if resp, err := anon.c.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/login" {
		t.Fatalf("stream without a staff session: %d → %q, want 303 to the login", resp.StatusCode, resp.Header.Get("Location"))
	}

	admAccount(t, e, e.city, "clerk1", tenant.RoleStaff, "clerk password one")
	b := newBrowser(t, addr, e.city.Slug+".localhost")
	admLogin(t, b, "clerk1", "clerk password one")
	b.want(200, `data-live="/admin/live/dashboard"`, "予約 0人 ／ 定員 60人")
	dash := openLive(t, b, "/admin/live/dashboard")
	if got := dash.next(t, 5*time.Second); !strings.Contains(got, "予約 0人 ／ 定員 60人") || strings.Contains(got, "<h1") {
		t.Fatalf("first fragment %q", got)
	}
	b.get("/admin/bookings?from=" + day.String())
	b.want(200, `data-live="/admin/live/bookings?from=`+day.String()+`"`)
	list := openLive(t, b, "/admin/live/bookings?from="+day.String())
	list.next(t, 5*time.Second)

	card := bookingtest.MustCard(t, e.svc, e.city, "0101")
	start := time.Now()
	r, err := w.svc.Reserve(ctx, e.city, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{card.ID}, Actor: tenant.Actor{Channel: tenant.ChannelStaff, Login: "kanri"}})
	if err != nil {
		t.Fatal(err)
	}
	got := dash.next(t, time.Second)
	if took := time.Since(start); !strings.Contains(got, "予約 1人 ／ 定員 60人") || !strings.Contains(got, "1 / 10") {
		t.Fatalf("dashboard after the booking (%v): %q", took, got)
	} else {
		t.Logf("booking → dashboard stream: %v", took)
	}
	if got := list.next(t, 2*time.Second); !strings.Contains(got, r.ID.String()) {
		t.Errorf("bookings list after the booking lacks it: %q", got)
	}

	// Logging out ends both streams (at the next keep-alive).
	b.get("/admin")
	b.post("/admin/logout", url.Values{})
	for _, s := range []*liveStream{dash, list} {
		select {
		case <-s.closed:
		case <-time.After(5 * time.Second):
			t.Fatal("stream still open after logout")
		}
	}
}

// TestE2EStaffDashboardLive drives the live dashboard in Chromium at 360 px and 1280 px
// (ui/e2e/staff-live.mjs): while the clerk looks at /admin, the script has the test book a place
// through booking.Service (a POST to a test endpoint of its own), and the day's count changes
// without a reload; axe-clean after the update.
func TestE2EStaffDashboardLive(t *testing.T) {
	opt, w := withLive(t, web.LiveConfig{})
	e := newBrowserEnv(t, nil, opt)
	if !<-w.live {
		t.Fatal("feed not live")
	}
	ctx := context.Background()
	admAccount(t, e, e.city, "clerk1", tenant.RoleStaff, "clerk password one")
	loc := bookingtest.MustLocation(t, e.svc, e.city, "本庁舎", 10)
	slot := dashboardSlot(t, e, loc)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /book", func(rw http.ResponseWriter, r *http.Request) {
		card := bookingtest.MustCard(t, e.svc, e.city, "0101")
		if _, err := w.svc.Reserve(ctx, e.city, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{card.ID},
			Actor: tenant.Actor{Channel: tenant.ChannelStaff, Login: "other-clerk"}}); err != nil {
			t.Errorf("Reserve: %v", err)
			rw.WriteHeader(http.StatusInternalServerError)
		}
	})
	booker := httptest.NewServer(mux)
	defer booker.Close()
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "staff-live.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{
		"login": "clerk1", "password": "clerk password one", "bookURL": booker.URL + "/book",
	})
}

// dashboardSlot is a slot the dashboard shows (today or tomorrow) that has not started; when
// neither day has one (a public holiday, the year-end closure, after the last slot of today and
// tomorrow closed) it opens tomorrow with a dated override.
func dashboardSlot(t *testing.T, e *env, loc *booking.Location) *booking.Slot {
	t.Helper()
	ctx := context.Background()
	now := e.now()
	today := booking.DateOf(now)
	find := func() *booking.Slot {
		for _, d := range []booking.Date{today, today.AddDays(1)} {
			slots, err := e.svc.SlotsOn(ctx, e.city, loc.ID, d, bookingtest.Admin)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range slots {
				if s.StartsAt.After(now.Add(time.Hour)) {
					return &s
				}
			}
		}
		return nil
	}
	if s := find(); s != nil {
		return s
	}
	if err := e.svc.AddOverride(ctx, e.city, loc.ID, today.AddDays(1), booking.OverrideOpen,
		&booking.Window{Start: 9 * 60, End: 12 * 60, SlotMinutes: 30, Capacity: 10}, "test", bookingtest.Admin); err != nil {
		t.Fatal(err)
	}
	if s := find(); s != nil {
		return s
	}
	t.Fatal("no slot today or tomorrow even with an override")
	return nil
}
