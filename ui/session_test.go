package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
)

// TestSessionIdleRenewedByActivity: a clerk's and a citizen's session time out after 30 minutes
// without a request, counted from the last request, not from the last change to the session:
// with a session about to expire, one page view gives it 30 minutes again.
func TestSessionIdleRenewedByActivity(t *testing.T) {
	opt, err := redis.ParseURL(redisURL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	e := newEnv(t, rdb)
	ctx := context.Background()
	admAccount(t, e, e.city, "tanaka", tenant.RoleStaff, "counter password one")
	card := bookingtest.MustCard(t, e.svc, e.city, "0312")
	addr := serve(t, e)
	host := e.city.Slug + ".localhost"

	renewed := func(b *browser, cookie, path string) {
		t.Helper()
		key := "mdg:sess:" + cookie + ":" + cookieOf(b, cookie)
		if err := rdb.Expire(ctx, key, 5*time.Second).Err(); err != nil {
			t.Fatal(err)
		}
		b.get(path)
		b.want(200)
		ttl, err := rdb.TTL(ctx, key).Result()
		if err != nil || ttl < 29*time.Minute || ttl > 30*time.Minute {
			t.Errorf("%s: idle time left after a request = %s, %v; want 30 minutes", cookie, ttl, err)
		}
	}

	clerk := newBrowser(t, addr, host)
	admLogin(t, clerk, "tanaka", "counter password one")
	renewed(clerk, "mdg_staff", "/admin")

	citizen := newBrowser(t, addr, host)
	citizen.get("/login")
	citizen.post("/login", url.Values{"card_no": {card.CardNo}, "month": {"3"}, "day": {"12"}})
	citizen.want(200, "受け取る人")
	renewed(citizen, "mdg_sid", "/menu")
}

// TestCrossOriginPostRefused: a form posted from another site is refused (403) even with the
// session's CSRF token, by its Origin or, without one, its Referer; the same post from the
// city's own pages goes through.
func TestCrossOriginPostRefused(t *testing.T) {
	e := newEnv(t, nil)
	admAccount(t, e, e.city, "tanaka", tenant.RoleStaff, "counter password one")
	addr := serve(t, e)
	host := e.city.Slug + ".localhost"
	b := newBrowser(t, addr, host)
	admLogin(t, b, "tanaka", "counter password one")
	csrf := csrfOf(b.last)
	post := func(header, value string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, b.base+"/admin/logout", strings.NewReader(url.Values{"_csrf": {csrf}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if header != "" {
			req.Header.Set(header, value)
		}
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, h := range [][2]string{{"Origin", "https://evil.example"}, {"Origin", "null"}, {"Referer", "https://evil.example/page"},
		{"Origin", "http://other." + host}} {
		if got := post(h[0], h[1]); got != http.StatusForbidden {
			t.Errorf("logout posted with %s: %s = %d, want 403", h[0], h[1], got)
		}
	}
	if got := post("Origin", "http://"+host); got != http.StatusOK {
		t.Errorf("logout posted from the city's own page = %d, want 200 (the login page after the redirect)", got)
	}
}

// TestCookielessGetStoresNoSession: a GET without a cookie that is only redirected (a page
// behind a login) leaves no session in Redis and sets no cookie; a page with a form (the login
// pages) does, so its CSRF token is bound to a session.
func TestCookielessGetStoresNoSession(t *testing.T) {
	e := newEnv(t, nil)
	host := e.city.Slug + ".localhost"
	get := func(host, path string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+host+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := e.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, p := range [][2]string{{host, "/"}, {host, "/menu"}, {host, "/reservation"}, {host, "/admin"}, {host, "/admin/bookings"},
		{host, "/admin/password"}, {opsHost, "/"}, {host, "/no-such-page"}} {
		resp := get(p[0], p[1])
		if c := resp.Header.Values("Set-Cookie"); len(c) != 0 || resp.StatusCode == http.StatusOK && p[1] != "/" {
			t.Errorf("GET %s%s without a cookie: %d, Set-Cookie %q; want a redirect or refusal and no session", p[0], p[1], resp.StatusCode, c)
		}
	}
	for _, p := range [][2]string{{host, "/login"}, {host, "/admin/login"}} {
		resp := get(p[0], p[1])
		if resp.StatusCode != http.StatusOK || len(resp.Header.Values("Set-Cookie")) != 1 {
			t.Errorf("GET %s%s: %d, Set-Cookie %q; want the form with its session", p[0], p[1], resp.StatusCode, resp.Header.Values("Set-Cookie"))
		}
	}
}
