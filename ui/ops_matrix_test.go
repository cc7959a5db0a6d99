package ui_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/ops"
	"github.com/madoguchi/madoguchi/ui/web"
)

// opsRoutes lists every route of the ops console's own app (consoleRoutes).
func opsRoutes(t *testing.T) []string {
	t.Helper()
	return consoleRoutes(t, func(core *web.Core) (*web.Console, error) {
		return ops.New(core, fiber.New(), ops.Deps{BaseDomain: "localhost", Training: booking.NewService(nil, booking.Config{})})
	})
}

// consoleRoutes lists every route of the console app build makes on a fresh web core (Fiber's
// GetRoutes), HEAD folded into GET, as sorted "METHOD /path".
func consoleRoutes(t *testing.T, build func(core *web.Core) (*web.Console, error)) []string {
	t.Helper()
	core, err := web.New(slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	k, err := build(core)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range k.App.GetRoutes(true) {
		if r.Method != fiber.MethodHead {
			seen[r.Method+" "+r.Path] = true
		}
	}
	var out []string
	for r := range seen {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// opsRoute is a route of the matrix: the guard its line in ui/ops/routes.go names and a real path
// for its parameters.
type opsRoute struct {
	guard string // "open", "enrol" or "ops"
	path  string
}

// TestOpsAuthorizationMatrix enumerates every route of the ops console and checks who gets what:
// anonymous visitors, a city's staff and citizen sessions replayed on the ops host (under their own
// cookie names and under the ops one) get no page with data — a redirect to the login, the login
// form, or 401/403 — and every form refuses a request without the session's CSRF token; a
// logged-in call-center operator gets 403 on every ops route; an ops member gets every page; and
// an ops session replayed on a city's host gets nothing of /admin or the citizens' pages. A route
// added to ui/ops/routes.go without an entry here fails the test.
func TestOpsAuthorizationMatrix(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	opsAllow(t, e, "127.0.0.1")
	addr := serve(t, e)
	member, me := opsMember(t, e, addr, "ops.yamada")
	other, _ := opsAccount(t, e, "ops.kato", tenant.OpsRoleOps)
	op, opInitial := opsAccount(t, e, "cc.tanaka", tenant.OpsRoleOperator)
	member.get("/cities/new")
	member.post("/cities", url.Values{"slug": {"tsu"}, "name": {"津市"}, "code": {"242012"}, "admin_login": {"tsu.admin"},
		"domain": {"yoyaku.tsu.example.jp"}})
	member.want(200, "津市を開設しました")
	tsu, err := e.cities.BySlug(ctx, "tsu")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ops.Grant(ctx, op.ID, "tsu", tenant.VendorCLI()); err != nil {
		t.Fatal(err)
	}

	pg := opsTestPage(t, e)
	matrix := map[string]opsRoute{
		"GET /pages":                          {"ops", "/pages"},
		"GET /pages/:id":                      {"ops", "/pages/" + pg.String()},
		"POST /pages/:id/ack":                 {"ops", "/pages/" + pg.String() + "/ack"},
		"POST /pages/:id/resolve":             {"ops", "/pages/" + pg.String() + "/resolve"},
		"GET /login":                          {"open", "/login"},
		"POST /login":                         {"open", "/login"},
		"GET /login/code":                     {"open", "/login/code"},
		"POST /login/code":                    {"open", "/login/code"},
		"POST /logout":                        {"open", "/logout"},
		"GET /password":                       {"enrol", "/password"},
		"POST /password":                      {"enrol", "/password"},
		"GET /mfa":                            {"enrol", "/mfa"},
		"POST /mfa":                           {"enrol", "/mfa"},
		"GET /":                               {"ops", "/"},
		"GET /help":                           {"ops", "/help"},
		"GET /cities":                         {"ops", "/cities"},
		"GET /cities/new":                     {"ops", "/cities/new"},
		"POST /cities":                        {"ops", "/cities"},
		"GET /cities/:slug":                   {"ops", "/cities/tsu"},
		"GET /cities/:slug/status":            {"ops", "/cities/tsu/status"},
		"POST /cities/:slug/status":           {"ops", "/cities/tsu/status"},
		"GET /cities/:slug/admin-reset":       {"ops", "/cities/tsu/admin-reset"},
		"POST /cities/:slug/admin-reset":      {"ops", "/cities/tsu/admin-reset"},
		"GET /cities/:slug/domains":           {"ops", "/cities/tsu/domains"},
		"POST /cities/:slug/domains":          {"ops", "/cities/tsu/domains"},
		"GET /cities/:slug/domains/remove":    {"ops", "/cities/tsu/domains/remove?domain=yoyaku.tsu.example.jp"},
		"POST /cities/:slug/domains/remove":   {"ops", "/cities/tsu/domains/remove"},
		"GET /cities/:slug/allow-list":        {"ops", "/cities/tsu/allow-list"},
		"POST /cities/:slug/allow-list/clear": {"ops", "/cities/tsu/allow-list/clear"},
		"GET /cities/:slug/mail-domains":      {"ops", "/cities/tsu/mail-domains"},
		"POST /cities/:slug/mail-domains":     {"ops", "/cities/tsu/mail-domains"},
		"GET /cities/:slug/training":          {"ops", "/cities/tsu/training"},
		"POST /cities/:slug/training":         {"ops", "/cities/tsu/training"},
		"GET /cities/:slug/training/reset":    {"ops", "/cities/tsu/training/reset"},
		"POST /cities/:slug/training/reset":   {"ops", "/cities/tsu/training/reset"},
		"GET /accounts":                       {"ops", "/accounts"},
		"GET /accounts/new":                   {"ops", "/accounts/new"},
		"POST /accounts":                      {"ops", "/accounts"},
		"GET /accounts/:id":                   {"ops", "/accounts/" + other.ID.String()},
		"POST /accounts/:id/reset":            {"ops", "/accounts/" + other.ID.String() + "/reset"},
		"POST /accounts/:id/disable":          {"ops", "/accounts/" + other.ID.String() + "/disable"},
		"POST /accounts/:id/enable":           {"ops", "/accounts/" + other.ID.String() + "/enable"},
		"GET /accounts/:id/grants":            {"ops", "/accounts/" + op.ID.String() + "/grants"},
		"POST /accounts/:id/grants":           {"ops", "/accounts/" + op.ID.String() + "/grants"},
		"POST /accounts/:id/grants/revoke":    {"ops", "/accounts/" + op.ID.String() + "/grants/revoke"},
		"GET /allow-list":                     {"ops", "/allow-list"},
		"POST /allow-list":                    {"ops", "/allow-list"},
		"GET /allow-list/remove":              {"ops", "/allow-list/remove?console=ops&cidr=127.0.0.1/32"},
		"POST /allow-list/remove":             {"ops", "/allow-list/remove"},
	}
	routes := opsRoutes(t)
	for _, r := range routes {
		if _, ok := matrix[r]; !ok {
			t.Errorf("route %s of the ops console has no entry in the authorization matrix", r)
		}
	}
	for r := range matrix {
		if !strings.Contains(strings.Join(routes, "\n")+"\n", r+"\n") {
			t.Errorf("matrix entry %s is not a route of the ops console", r)
		}
	}

	// What a page for someone without an ops session must never show.
	leaks := []string{"津市", "242012", "tsu.admin", "yoyaku.tsu.example.jp", "ops.yamada", "ops.kato", "127.0.0.1/32", "initial-password"}
	noData := func(t *testing.T, who, route, body string, extra ...string) {
		t.Helper()
		for _, l := range append(leaks, extra...) {
			if strings.Contains(body, l) {
				t.Errorf("%s: %s shows %q", who, route, l)
			}
		}
	}

	// The city's own sessions: a clerk and a citizen of the env's city.
	admAccount(t, e, e.city, "kanri", tenant.RoleAdmin, "admin password one")
	staff := newBrowser(t, addr, e.city.Slug+".localhost")
	admLogin(t, staff, "kanri", "admin password one")
	card := bookingtest.MustCard(t, e.svc, e.city, "0312")
	citizen := newBrowser(t, addr, e.city.Slug+".localhost")
	citizen.get("/login")
	citizen.post("/login", url.Values{"card_no": {card.CardNo}, "month": {"3"}, "day": {"12"}})
	citizen.want(200, "受け取る人")
	staffID, citizenID := cookieOf(staff, "mdg_staff"), cookieOf(citizen, "mdg_sid")
	if staffID == "" || citizenID == "" {
		t.Fatal("no city session cookies")
	}
	strangers := []struct {
		name    string
		cookies map[string]string
	}{
		{"anonymous", nil},
		{"city staff cookie", map[string]string{"mdg_staff": staffID}},
		{"city staff session as mdg_ops", map[string]string{"mdg_ops": staffID}},
		{"citizen cookie", map[string]string{"mdg_sid": citizenID}},
		{"citizen session as mdg_ops", map[string]string{"mdg_ops": citizenID}},
	}
	for _, s := range strangers {
		for _, r := range routes {
			m := matrix[r]
			method := strings.Fields(r)[0]
			resp, body := rawDo(t, addr, method, opsHost, m.path, s.cookies, formFor(method, ""))
			got, loc := resp.StatusCode, resp.Header.Get("Location")
			switch {
			case method == "POST" && got == 403: // no session, no CSRF token
			case method == "GET" && (m.guard == "ops" || m.guard == "enrol") && got == 303 && loc == "/login":
			case r == "GET /login" && got == 200 && strings.Contains(body, "運用管理 ログイン"):
			case r == "GET /login/code" && got == 401 && strings.Contains(body, "もう一度ログインしてください"):
			default:
				t.Errorf("%s: %s = %d (Location %q), want a redirect to the login, the login form or 401/403", s.name, r, got, loc)
			}
			noData(t, s.name, r, body)
		}
	}

	// An anonymous ops session with its own CSRF token still gets no page behind a login.
	anon := newBrowser(t, addr, opsHost)
	anon.get("/login")
	anonCookies := map[string]string{"mdg_ops": cookieOf(anon, "mdg_ops")}
	token := csrfOf(anon.last)
	for _, r := range routes {
		m := matrix[r]
		method := strings.Fields(r)[0]
		if method != "POST" || m.guard == "open" {
			continue
		}
		resp, body := rawDo(t, addr, method, opsHost, m.path, anonCookies, formFor(method, token))
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login" {
			t.Errorf("anonymous with a CSRF token: %s = %d (Location %q), want 303 to /login", r, resp.StatusCode, resp.Header.Get("Location"))
		}
		noData(t, "anonymous with a CSRF token", r, body)
	}

	// A call-center operator, fully logged in here, is refused every ops page (403) and shown no
	// menu; their own password page and logging out stay theirs.
	operator := newBrowser(t, addr, opsHost)
	opsFirstLogin403(t, e, operator, "cc.tanaka", opInitial)
	opCookies := map[string]string{"mdg_ops": cookieOf(operator, "mdg_ops")}
	operator.get("/password")
	opToken := csrfOf(operator.last)
	for _, r := range routes {
		m := matrix[r]
		if m.guard != "ops" {
			continue
		}
		method := strings.Fields(r)[0]
		resp, body := rawDo(t, addr, method, opsHost, m.path, opCookies, formFor(method, opToken))
		if resp.StatusCode != 403 || !strings.Contains(body, "コールセンターの画面をお使いください") {
			t.Errorf("operator: %s = %d, want 403 naming the call-center console", r, resp.StatusCode)
		}
		noData(t, "operator", r, body, `href="/cities"`)
	}

	// The member sees every page (each GET of the matrix answers 200), and every form refuses a
	// token that is not the session's.
	memberCookies := map[string]string{"mdg_ops": cookieOf(member, "mdg_ops")}
	for _, r := range routes {
		m := matrix[r]
		method := strings.Fields(r)[0]
		if method == "GET" && m.guard == "ops" {
			if resp, body := rawGet(t, addr, opsHost, m.path, memberCookies); resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("ops member: %s = %d (Cache-Control %q): %.300s", r, resp.StatusCode, resp.Header.Get("Cache-Control"), body)
			}
		}
		if method == "POST" {
			if resp, _ := rawDo(t, addr, method, opsHost, m.path, memberCookies, formFor(method, opToken)); resp.StatusCode != 403 {
				t.Errorf("ops member with another session's token: %s = %d, want 403", r, resp.StatusCode)
			}
		}
	}

	// Bad ids are 404, never a 500.
	for _, p := range []string{"/cities/nosuch", "/cities/nosuch/status", "/cities/nosuch/domains", "/cities/tsu/domains/remove?domain=other.example.jp",
		"/accounts/not-an-id", "/accounts/" + tsu.ID.String(), "/accounts/not-an-id/grants", "/allow-list/remove?console=ops&cidr=10.0.0.0/8",
		"/allow-list/remove?console=shell&cidr=127.0.0.1/32", "/pages/not-an-id", "/pages/" + tsu.ID.String(), "/nosuch"} {
		member.get(p)
		member.want(404, "<h1>エラー</h1>")
	}

	// An ops session replayed on a city's host gets nothing of /admin or the citizens' pages.
	opsID := cookieOf(member, "mdg_ops")
	for _, host := range []string{"tsu.localhost", e.city.Slug + ".localhost"} {
		for _, cookies := range []map[string]string{{"mdg_ops": opsID}, {"mdg_staff": opsID}, {"mdg_sid": opsID}} {
			for _, p := range []string{"/admin", "/admin/accounts", "/admin/settings", "/admin/audit", "/admin/mfa"} {
				resp, body := rawGet(t, addr, host, p, cookies)
				if resp.StatusCode != 303 || resp.Header.Get("Location") != "/admin/login" {
					t.Errorf("ops session on %s%s (%v): %d, want 303 to /admin/login", host, p, cookies, resp.StatusCode)
				}
				noData(t, "ops session on "+host, p, body)
			}
			resp, body := rawGet(t, addr, host, "/menu", cookies)
			if !(resp.StatusCode == 303 && resp.Header.Get("Location") == "/login") &&
				!(resp.StatusCode == 200 && strings.Contains(body, "交付通知書の番号と誕生日を入力してください")) {
				t.Errorf("ops session on %s/menu (%v): %d, want the citizens' login", host, cookies, resp.StatusCode)
			}
			noData(t, "ops session on "+host, "/menu", body)
		}
	}
	_ = me
}

// formFor is the body of a request: a form with the CSRF token for a POST, none for a GET.
func formFor(method, token string) url.Values {
	if method != "POST" {
		return nil
	}
	f := url.Values{"slug": {"tsu"}, "login_id": {"tsu.admin"}, "status": {"disabled"}, "domain": {"x.example.jp"}, "cidr": {"127.0.0.1/32"}, "console": {"ops"}}
	if token != "" {
		f.Set("_csrf", token)
	}
	return f
}

// opsFirstLogin403 is opsFirstLogin for a call-center operator: the login ends on the top page,
// which refuses them.
func opsFirstLogin403(t *testing.T, e *env, b *browser, login, initial string) {
	t.Helper()
	b.get("/login")
	b.post("/login", url.Values{"login_id": {login}, "password": {initial}})
	b.post("/password", url.Values{"current_password": {initial}, "new_password": {opsPassword}, "new_password2": {opsPassword}})
	secret := strings.ReplaceAll(firstMatch(t, `id="mfa-secret">([A-Z2-7 ]+)<`, b.last), " ", "")
	b.post("/mfa", url.Values{"code": {totpCode(t, e, secret, 0)}})
	b.want(403, "コールセンターの画面をお使いください", "ログアウトする")
}
