package ui_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/booking/guard"
	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/jobs/paging"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
	"github.com/madoguchi/madoguchi/ui"
)

type env struct {
	svc      *booking.Service
	accounts *tenant.Accounts // staff accounts, on the env's clock
	app      *fiber.App
	db       *tenanttest.DB
	city     *tenant.Tenant
	ops      *tenant.OpsAccounts  // the vendor's accounts, grants and console allow-lists
	cities   *tenant.Service      // tenants with the vendor's actions, on the env's clock
	reg      *prometheus.Registry // the app's metrics (served by the internal listener, ui/probe)
	paging   *paging.Service      // the escalation chain the ops console shows
	// clock is what every service of the env and the app itself take the time from: it stands
	// at tenanttest.Now() (MADOGUCHI_TEST_NOW) until a test moves it, so dates a test computes
	// from clock.Now() are the app's dates. Nil in a browser env (newBrowserEnv).
	clock *tenanttest.Clock
	now   func() time.Time // the clock handed to the services: clock.Now, or time.Now in a browser env
}

func redisURL() string {
	if u := os.Getenv("MADOGUCHI_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// newEnv builds a city, its app and services on a clock standing at tenanttest.Now().
func newEnv(t *testing.T, rdb *redis.Client, opts ...func(*ui.Deps)) *env {
	t.Helper()
	clock := tenanttest.NewClock()
	e := buildEnv(t, rdb, clock.Now, opts...)
	e.clock = clock
	return e
}

// newBrowserEnv is newEnv for a browser test (TestE2E*): its services run on the wall clock,
// because the browser scripts read it too (Date.now() for the hold countdown, the TOTP codes the
// "phone" computes). MADOGUCHI_TEST_NOW does not reach a browser; `make test-dates` leaves them out.
func newBrowserEnv(t *testing.T, rdb *redis.Client, opts ...func(*ui.Deps)) *env {
	t.Helper()
	return buildEnv(t, rdb, time.Now, opts...)
}

// buildEnv builds the env; opts change the app's dependencies before it is built.
func buildEnv(t *testing.T, rdb *redis.Client, now func() time.Time, opts ...func(*ui.Deps)) *env {
	t.Helper()
	d := tenanttest.NewDB(t)
	if rdb == nil {
		opt, err := redis.ParseURL(redisURL())
		if err != nil {
			t.Fatal(err)
		}
		rdb = redis.NewClient(opt)
		t.Cleanup(func() { rdb.Close() })
	}
	city := tenanttest.MustCreateTenant(t, d.App)
	reg := prometheus.NewRegistry()
	// A fresh guard key per test keeps counters (including the global per-IP ones) from
	// carrying over between runs that share Redis.
	g, err := guard.New(rdb, randomKey(), guard.DefaultConfig(), reg)
	if err != nil {
		t.Fatal(err)
	}
	bs := booking.NewService(d.App, booking.Config{Now: now, SecretKey: bookingtest.Key, Guard: g})
	if _, err := bs.AddLocation(context.Background(), city, booking.Location{Name: "本庁 <script>", Active: true}, bookingtest.Admin); err != nil {
		t.Fatal(err)
	}
	accounts := tenant.NewAccounts(d.App, now)
	ops, cities := tenant.NewOpsAccounts(d.App, now), tenant.NewService(d.App, tenant.WithClock(now), tenant.WithBaseDomain("localhost"))
	deps := ui.Deps{
		DB: d.App, Redis: rdb, Booking: bs, Accounts: accounts, Registry: reg, Gatherer: reg,
		ImportQueue: jobs.NewImportQueue(rdb),
		Tenants:     tenant.NewResolver(tenant.NewDirectory(tenant.NewService(d.App), 0), "localhost"),
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		BaseDomain:  "localhost", LoginPerMinute: 60,
		Now: now, Ops: ops, Cities: cities, Status: tenant.NewStatusPage(d.App, now),
		Paging: paging.New(d.App, paging.Config{Now: now}),
	}
	for _, o := range opts {
		o(&deps)
	}
	app, err := ui.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	app.Get("/boom", func(c *fiber.Ctx) error { panic("secret panic text") })
	app.Get("/dberr", func(c *fiber.Ctx) error {
		_, err := d.App.ExecContext(c.UserContext(), "SELECT * FROM no_such_table")
		return err
	})
	return &env{app: app, db: d, city: city, svc: bs, accounts: accounts, ops: ops, cities: cities, now: now, reg: reg,
		paging: deps.Paging.(*paging.Service)}
}

// metrics returns the env's metrics in the text format, as the internal listener serves them.
func (e *env) metrics(t *testing.T) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("metrics = %d", rec.Code)
	}
	return rec.Body.String()
}

// TestClockCanary checks that the env's clock is the one its services and the app itself run on:
// under MADOGUCHI_TEST_NOW all stand at that moment (tenanttest.CheckClock), and in any run the
// app's time, as it names the audit export, is the env's clock and follows it when it moves.
func TestClockCanary(t *testing.T) {
	e := newEnv(t, nil)
	tenanttest.CheckClock(t, "ui env", e.clock.Now)
	tenanttest.CheckClock(t, "booking service", e.svc.Now)

	admAccount(t, e, e.city, "kanri", tenant.RoleAdmin, "admin password one")
	b := newBrowser(t, serve(t, e), e.city.Slug+".localhost")
	admLogin(t, b, "kanri", "admin password one")
	nameRE := regexp.MustCompile(`filename="audit-.+-([0-9]{8}-[0-9]{6})\.csv"`)
	appNow := func() time.Time { // the app's clock, from the file name of the audit export
		t.Helper()
		b.get("/admin/audit")
		resp, err := b.c.PostForm(b.base+"/admin/audit/export", url.Values{"_csrf": {csrfOf(b.last)}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		m := nameRE.FindStringSubmatch(resp.Header.Get("Content-Disposition"))
		if resp.StatusCode != 200 || m == nil {
			t.Fatalf("audit export = %d, Content-Disposition %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
		}
		at, err := time.ParseInLocation("20060102-150405", m[1], booking.JST)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	tenanttest.CheckClock(t, "ui app", appNow)
	for _, d := range []time.Duration{0, 26*time.Hour + 90*time.Minute} {
		e.clock.Add(d)
		if got, want := appNow(), e.clock.Now().Truncate(time.Second); !got.Equal(want) {
			t.Errorf("the app's clock = %s, want the env's %s", got.Format(time.RFC3339), want.In(booking.JST).Format(time.RFC3339))
		}
	}
}

func (e *env) do(t *testing.T, method, host, path string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.Host = host
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.app.Test(req, 10000)
	if err != nil {
		t.Fatalf("%s %s%s: %v", method, host, path, err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestHTTP(t *testing.T) {
	e := newEnv(t, nil)
	other := tenanttest.MustCreateTenant(t, e.db.App)
	disabled := tenanttest.MustCreateTenant(t, e.db.App)
	if err := tenant.NewService(e.db.App).SetStatus(context.Background(), disabled.Slug, tenant.Disabled, tenant.System("test")); err != nil {
		t.Fatal(err)
	}
	cityHost := e.city.Slug + ".localhost:8080"
	tests := []struct {
		name       string
		method     string
		host, path string
		hdr        map[string]string
		status     int
		contains   []string
		absent     []string
	}{
		{name: "city top page", host: cityHost, path: "/", status: 200,
			contains: []string{e.city.Name, "マイナンバーカード", "本庁 &lt;script&gt;", `lang="ja"`}, absent: []string{"<script>"}},
		{name: "other city does not show this city's location", host: other.Slug + ".localhost", path: "/", status: 200,
			contains: []string{other.Name}, absent: []string{"本庁", e.city.Name}},
		{name: "unknown host", host: "nosuchcity.localhost", path: "/", status: 404,
			contains: []string{"見つかりませんでした"}, absent: []string{e.city.Name, other.Name, "nosuchcity"}},
		{name: "disabled city", host: disabled.Slug + ".localhost", path: "/", status: 404, absent: []string{disabled.Name}},
		{name: "reserved console host is not a city: the call center refuses an address off its list", host: "callcenter.localhost", path: "/", status: 403, absent: []string{e.city.Name}},
		{name: "foreign domain", host: "evil.example", path: "/", status: 404},
		{name: "unknown path", host: cityHost, path: "/nope", status: 404, contains: []string{"見つかりませんでした", "トップページへ戻る"}},
		{name: "JSON error by Accept", host: cityHost, path: "/nope", hdr: map[string]string{"Accept": "application/json"}, status: 404,
			contains: []string{`"code":"not_found"`, `"message_en"`, `"request_id"`}},
		{name: "panic is a generic 500", host: cityHost, path: "/boom", status: 500,
			contains: []string{"システムで問題が発生"}, absent: []string{"secret panic", "goroutine"}},
		{name: "database error text never reaches the client", host: cityHost, path: "/dberr", status: 500,
			absent: []string{"no_such_table", "SQLSTATE"}},
		{name: "healthz", host: "10.0.0.1:8080", path: "/healthz", status: 200, contains: []string{"ok"}},
		{name: "readyz", host: "10.0.0.1:8080", path: "/readyz", status: 200, contains: []string{`"postgres":"ok"`, `"redis":"ok"`}},
		{name: "TRACE refused", method: "TRACE", host: cityHost, path: "/", status: 405, contains: []string{"この操作は受け付けていません"}},
		{name: "static traversal", host: cityHost, path: "/static/x/..%2f..%2fgo.mod", status: 404},
		{name: "static unknown", host: cityHost, path: "/static/x/../../app.go", status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = "GET"
			}
			resp, body := e.do(t, method, tc.host, tc.path, tc.hdr)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s%s = %d, want %d; body: %.300s", method, tc.host, tc.path, resp.StatusCode, tc.status, body)
			}
			for _, s := range tc.contains {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q: %.500s", s, body)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(body, s) {
					t.Errorf("body contains %q", s)
				}
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			for h, want := range map[string]string{
				"X-Frame-Options":        "DENY",
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "same-origin",
			} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, d := range []string{"object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self'"} {
				if !strings.Contains(csp, d) {
					t.Errorf("CSP %q lacks %q", csp, d)
				}
			}
			if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/html") && !strings.Contains(ct, "charset=utf-8") {
				t.Errorf("Content-Type %q lacks charset", ct)
			}
		})
	}
}

func TestStaticAssetsHashed(t *testing.T) {
	e := newEnv(t, nil)
	_, body := e.do(t, "GET", e.city.Slug+".localhost", "/", nil)
	i := strings.Index(body, `href="/static/`)
	if i < 0 {
		t.Fatalf("no stylesheet link in %.300s", body)
	}
	href := body[i+6 : i+6+strings.Index(body[i+6:], `"`)]
	resp, css := e.do(t, "GET", e.city.Slug+".localhost", href, nil)
	if resp.StatusCode != 200 || !strings.Contains(css, "--text") {
		t.Fatalf("GET %s = %d", href, resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("Cache-Control = %q, want immutable", cc)
	}
}

// TestReadyzWhenRedisDown: /readyz says whether this process can serve (its templates, the
// status page's snapshot), not whether Redis answers: with Redis down it answers 200 and names
// Redis "down" in its body, so the web pods stay in the Service and the status page and the
// cities' error pages keep answering.
func TestReadyzWhenRedisDown(t *testing.T) {
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer dead.Close()
	e := newEnv(t, dead)
	resp, body := e.do(t, "GET", "localhost", "/readyz", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("readyz with Redis down = %d, want 200", resp.StatusCode)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil || got["redis"] != "down" || got["postgres"] != "ok" {
		t.Errorf("readyz body = %s", body)
	}
}

func TestMetricsBoundedLabels(t *testing.T) {
	e := newEnv(t, nil)
	for _, p := range []string{"/", "/a1", "/a2", "/a3"} {
		e.do(t, "GET", e.city.Slug+".localhost", p, nil)
	}
	// A method label must not change under a later request (Fiber reuses the request's buffers).
	e.do(t, "POST", e.city.Slug+".localhost", "/logout", nil)
	e.do(t, "GET", e.city.Slug+".localhost", "/lang", nil)
	// /metrics is not served by the web app on any host: the internal listener (ui/probe) has it.
	for _, host := range []string{"localhost", e.city.Slug + ".localhost", "10.0.0.1:8080"} {
		if resp, body := e.do(t, "GET", host, "/metrics", nil); resp.StatusCode != 404 || strings.Contains(body, "madoguchi_http") {
			t.Errorf("GET %s/metrics = %d, want 404 without metrics:\n%.200s", host, resp.StatusCode, body)
		}
	}
	body := e.metrics(t)
	if !strings.Contains(body, `madoguchi_http_requests_total{method="POST",route="/logout"`) {
		t.Errorf("metrics lack the POST counted:\n%s", grep(body, "madoguchi_http"))
	}
	if !strings.Contains(body, `madoguchi_http_requests_total{method="GET",route="/",status="200"} 1`) {
		t.Errorf("metrics lack the top-page counter:\n%s", grep(body, "madoguchi_http"))
	}
	if strings.Contains(body, `route="/a1"`) || strings.Contains(body, e.city.Slug) {
		t.Errorf("metrics carry raw paths or tenant names:\n%s", grep(body, "madoguchi_http"))
	}
	if !strings.Contains(body, `route="unmatched"`) {
		t.Errorf("unmatched paths are not folded into one label:\n%s", grep(body, "madoguchi_http"))
	}
}

// TestFasthttpPinned guards against HTTP header injection: fasthttp < 1.71 writes CR/LF from
// input into Location and Set-Cookie headers.
func TestFasthttpPinned(t *testing.T) {
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse("go.mod", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Require {
		if r.Mod.Path == "github.com/valyala/fasthttp" {
			if semver.Compare(r.Mod.Version, "v1.71.0") < 0 {
				t.Fatalf("fasthttp %s < v1.71.0 (header injection)", r.Mod.Version)
			}
			return
		}
	}
	t.Fatal("go.mod does not require fasthttp directly")
}

func TestRedirectStripsCRLF(t *testing.T) {
	app := fiber.New()
	app.Get("/r", func(c *fiber.Ctx) error { return c.Redirect("/x?" + c.Query("v")) })
	req := httptest.NewRequest("GET", "/r?v=a%0d%0aSet-Cookie:%20injected=1", nil)
	req.Host = "localhost"
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Set-Cookie") != "" {
		t.Fatalf("CR/LF in a redirect target injected a header: %v", resp.Header)
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func randomKey() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err)
	}
	return k
}
