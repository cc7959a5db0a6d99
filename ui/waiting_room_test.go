package ui_test

import (
	"context"
	"html"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/ui"
)

// roomGate holds requests in the waiting room: a request carrying the X-Test-Hold header, once
// let in, waits until the test opens the gate; entered says it is in.
type roomGate struct {
	entered chan struct{}
	open    chan struct{}
}

// newWaitingEnv builds an env (with newEnv, or build when given) whose city lets limit requests
// in at once, and the gate that holds them there.
func newWaitingEnv(t *testing.T, limit int, build ...func(*testing.T, *redis.Client, ...func(*ui.Deps)) *env) (*env, *roomGate) {
	t.Helper()
	mk := newEnv
	if len(build) > 0 {
		mk = build[0]
	}
	g := &roomGate{entered: make(chan struct{}, 8), open: make(chan struct{})}
	e := mk(t, nil, func(d *ui.Deps) {
		d.CitizenConcurrency = limit
		ui.SetAdmitted(d, func(c *fiber.Ctx) {
			if c.Get("X-Test-Hold") != "" {
				g.entered <- struct{}{}
				<-g.open
			}
		})
	})
	return e, g
}

// hold sends GET path with the hold header from its own client and returns once the request is
// in the room; the returned channel gets its status when the gate opens.
func (g *roomGate) hold(t *testing.T, addr, host, path string) <-chan int {
	t.Helper()
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", "http://"+host+path, nil)
		req.Header.Set("X-Test-Hold", "1")
		tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
		resp, err := (&http.Client{Transport: tr, Timeout: time.Minute}).Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	select {
	case <-g.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the held request never got into the room")
	}
	return done
}

// refreshRE reads the queue page's Refresh header.
var refreshRE = regexp.MustCompile(`^(\d+); url=(.+)$`)

// wantQueued asserts that the browser's last page is the queue page at position, refreshing to
// next, usable without JavaScript.
func wantQueued(t *testing.T, b *browser, position int, next string) {
	t.Helper()
	b.want(200, `role="status"`, "あなたの順番："+strconv.Itoa(position)+"番目", "待ち時間の目安",
		"自動で更新", `href="`+next+`"`, "今すぐ順番を確認する", "順番は保たれます", "自動更新を止める")
	m := refreshRE.FindStringSubmatch(b.header.Get("Refresh"))
	if m == nil {
		t.Fatalf("queue page has no Refresh header (%q)", b.header.Get("Refresh"))
	}
	if strings.Contains(b.last, "http-equiv") {
		t.Error("the queue page refreshes by a meta element (axe fails it): want the Refresh header alone")
	}
	if n, _ := strconv.Atoi(m[1]); n < 3 || n > 75 {
		t.Errorf("refresh after %s s, want 3..75", m[1])
	}
	if m[2] != html.UnescapeString(next) {
		t.Errorf("refresh goes to %q, want %q", m[2], next)
	}
	// Nothing on the page needs a script: the refresh and the links do it all.
	if strings.Contains(b.last, "<noscript") || strings.Contains(b.last, "onclick") {
		t.Error("the queue page relies on a script")
	}
}

// TestWaitingRoomQueue fills a city's room (limit 1) with a held request: the next arrivals get
// the queue page at positions 1 and 2 and keep them, and are let in in that order as places
// free; the JSON API answers 429; staff, the home page and probes never queue.
func TestWaitingRoomQueue(t *testing.T) {
	t.Parallel()
	e, gate := newWaitingEnv(t, 1)
	me := bookingtest.MustCard(t, e.svc, e.city, "0312")
	addr := serve(t, e)
	host := e.city.Slug + ".localhost"
	codes := errorCodes(t)

	held := gate.hold(t, addr, host, "/login")

	first, second := newBrowser(t, addr, host), newBrowser(t, addr, host)
	first.get("/login")
	wantQueued(t, first, 1, "/login")
	if cookieOf(first, "mdg_wait") == "" {
		t.Fatal("the queued browser has no ticket cookie")
	}
	second.get("/calendar?location=x&month=2026-06")
	wantQueued(t, second, 2, "/calendar?location=x&amp;month=2026-06")
	// Refreshing keeps the place; it does not jump the line.
	second.get("/calendar?location=x&month=2026-06")
	wantQueued(t, second, 2, "/calendar?location=x&amp;month=2026-06")
	// Without automatic refresh: the same place, a link to check, and one to turn it back on.
	first.get("/login?wait=manual")
	first.want(200, "あなたの順番：1番目", "自動更新を止めています", `href="/login?wait=manual"`, `href="/login"`, "自動更新を再開する")
	if first.header.Get("Refresh") != "" || strings.Contains(first.last, "http-equiv") {
		t.Error("the queue page refreshes after the citizen turned it off")
	}
	// A form posted while the room is full is not lost silently: the page says so and comes back
	// to the form's page.
	third := newBrowser(t, addr, host)
	third.post("/login", url.Values{"card_no": {me.CardNo}, "month": {"3"}, "day": {"12"}, "_nocsrf": {"1"}})
	wantQueued(t, third, 3, "/login")
	third.want(200, "送信された内容は、まだ受け付けていません")

	// English, by the language switch.
	en := newBrowser(t, addr, host)
	en.get("/lang?to=en&next=/login")
	wantQueuedEN := func() {
		t.Helper()
		en.want(200, "Your place in line: 4", "refreshes itself", "Check my place now")
	}
	wantQueuedEN()

	// The API is refused with 429, Retry-After and the error shape.
	for _, path := range []string{"/api/v1/locations", "/api/v1/reservations/current"} {
		r := e.api(t, "GET", host, path, "", "")
		if r.status != 429 || r.str("code") != "waiting.busy" {
			t.Fatalf("GET %s while the room is full = %d %s, want 429 waiting.busy", path, r.status, r.body)
		}
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("Retry-After = %q, want whole seconds ≥ 1", r.header.Get("Retry-After"))
		}
		checkAPIError(t, r, codes)
	}
	if r := e.api(t, "GET", host, "/api/v1/openapi.json", "", ""); r.status != 200 {
		t.Errorf("the API description while the room is full = %d", r.status)
	}

	// Staff, the home page, static files and probes never queue.
	staff := newBrowser(t, addr, host)
	staff.get("/admin/login")
	staff.want(200, `name="password"`)
	if strings.Contains(staff.last, "あなたの順番") {
		t.Error("the staff login queued")
	}
	for _, p := range []string{"/", "/healthz"} {
		other := newBrowser(t, addr, host)
		other.get(p)
		if other.status != 200 || strings.Contains(other.last, "あなたの順番") {
			t.Errorf("GET %s while the room is full = %d (queued: %v)", p, other.status, strings.Contains(other.last, "あなたの順番"))
		}
	}

	// The held request ends: the first in line is let in, the second moves up.
	close(gate.open)
	if s := <-held; s != 200 {
		t.Fatalf("held request = %d", s)
	}
	second.get("/calendar?location=x&month=2026-06")
	wantQueued(t, second, 1, "/calendar?location=x&amp;month=2026-06")
	first.get("/login")
	first.want(200, "製造管理番号")
	if cookieOf(first, "mdg_wait") != "" || cookieOf(first, "mdg_pass") == "" {
		t.Errorf("let in: ticket %q, pass %q; want the ticket gone and a pass", cookieOf(first, "mdg_wait"), cookieOf(first, "mdg_pass"))
	}
	// The second is let in where it was going (the calendar: without a login, to /login).
	second.get("/calendar?location=x&month=2026-06")
	second.want(200, "製造管理番号")
	// The third comes back to the login form and sends it again.
	third.get("/login")
	third.want(200, "製造管理番号")
	third.post("/login", url.Values{"card_no": {me.CardNo}, "month": {"3"}, "day": {"12"}})
	third.want(200, "受け取る人")
	en.get("/login")
	en.want(200, "card")

	// The first, holding a pass, goes on booking without queueing again.
	first.post("/login", url.Values{"card_no": {me.CardNo}, "month": {"3"}, "day": {"12"}})
	first.want(200, "受け取る人")
	first.get("/locations")
	first.want(200, "本庁")

	// The API is served again.
	if r := e.api(t, "GET", host, "/api/v1/locations", "", ""); r.status != 200 {
		t.Errorf("GET /api/v1/locations after the rush = %d %s", r.status, r.body)
	}

	// Metrics: queue length per city, time in queue, outcomes.
	body := e.metrics(t)
	for _, want := range []string{
		`madoguchi_waiting_room_queue_length{tenant="` + e.city.Slug + `"} 0`,
		`madoguchi_waiting_room_wait_seconds_count 4`,
		`madoguchi_waiting_room_requests_total{result="refused"} 2`,
		`madoguchi_waiting_room_requests_total{result="ticket"} 4`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, grep(body, "madoguchi_waiting_room"))
		}
	}
}

// TestWaitingRoomOff: with no limit set, nothing queues and no cookie is set.
func TestWaitingRoomOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := newBrowser(t, serve(t, e), e.city.Slug+".localhost")
	b.get("/login")
	b.want(200, "製造管理番号")
	if cookieOf(b, "mdg_pass") != "" || cookieOf(b, "mdg_wait") != "" {
		t.Error("the waiting room set a cookie while off")
	}
}

// TestWaitingRoomOpenAPI: every citizen API operation documents the waiting room's 429, with
// its code and Retry-After.
func TestWaitingRoomOpenAPI(t *testing.T) {
	t.Parallel()
	_, raw := loadOpenAPI(t)
	resolve := func(v map[string]any) map[string]any {
		if ref, ok := v["$ref"].(string); ok {
			var cur any = raw
			for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
				m, _ := cur.(map[string]any)
				cur = m[part]
			}
			v, _ = cur.(map[string]any)
		}
		return v
	}
	paths, _ := raw["paths"].(map[string]any)
	for path, ops := range paths {
		if path == "/api/v1/openapi.json" {
			continue
		}
		for method, op := range ops.(map[string]any) {
			responses, _ := op.(map[string]any)["responses"].(map[string]any)
			r, _ := responses["429"].(map[string]any)
			r = resolve(r)
			desc, _ := r["description"].(string)
			headers, _ := r["headers"].(map[string]any)
			if !strings.Contains(desc, "`waiting.busy`") || headers["Retry-After"] == nil {
				t.Errorf("%s %s: 429 = %v, want waiting.busy with Retry-After", method, path, r)
			}
		}
	}
}
