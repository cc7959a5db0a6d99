package ui_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui"
)

// opsLog returns "actor action target" of the vendor's own log, oldest first.
func opsLog(t *testing.T, e *env) []string {
	t.Helper()
	var rows []string
	err := e.db.App.NewRaw(`SELECT actor || ' ' || action || ' ' || target FROM ops_audit_log ORDER BY at, id`).Scan(context.Background(), &rows)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestOpsAllowListHTTP: the console's allow-list page lists both consoles' networks, adds one
// (a bad one is refused beside its field) and removes one behind a check page, but not the last
// entry covering the member's own address; from an address outside the list every request, an
// unknown path, the login and a forged X-Real-IP included, gets a 403 page naming nothing but that
// address; behind a trusted proxy the address it reports is the one checked.
func TestOpsAllowListHTTP(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	opsAllow(t, e, "127.0.0.1")
	addr := serve(t, e)
	b, _ := opsMember(t, e, addr, "ops.yamada")

	b.get("/allow-list")
	b.want(200, "接続元IPアドレス", "127.0.0.1/32", `id="current-ip">127.0.0.1<`, "コールセンターの画面", "いまはだれもこの画面を使えません")
	b.post("/allow-list", url.Values{"console": {"ops"}, "cidr": {"10.0.0.300"}, "note": {"<b>本社</b>"}})
	b.want(422, "<title>エラー：", `href="#f-cidr"`, `id="e-cidr"`, "CIDR（例：203.0.113.0/24）", `value="10.0.0.300"`, `value="&lt;b&gt;本社&lt;/b&gt;"`)
	b.post("/allow-list", url.Values{"console": {"ops"}, "cidr": {"10.20.30.40/8"}, "note": {"本社 運用室"}})
	b.want(200, "接続元を登録しました", "10.0.0.0/8", "本社 運用室", "vendor:ops.yamada")
	b.post("/allow-list", url.Values{"console": {"callcenter"}, "cidr": {"203.0.113.0/24"}, "note": {"コールセンター"}})
	b.want(200, "接続元を登録しました", "203.0.113.0/24")

	// The last entry covering the member's own address stays.
	b.get("/allow-list/remove?console=ops&cidr=127.0.0.1/32")
	b.want(200, "127.0.0.1/32 を削除しますか", "今お使いの接続元アドレス（127.0.0.1）が含まれます")
	b.post("/allow-list/remove", url.Values{"console": {"ops"}, "cidr": {"127.0.0.1/32"}})
	b.want(422, "<title>エラー：", "削除できません", `href="#f-cidr"`)
	if ok, _ := e.ops.ConsoleAllowed(ctx, tenant.ConsoleOps, "127.0.0.1"); !ok {
		t.Fatal("the member's own entry was removed")
	}
	b.get("/allow-list/remove?console=ops&cidr=10.0.0.0/8")
	b.want(200, "10.0.0.0/8 を削除しますか")
	b.post("/allow-list/remove", url.Values{"console": {"ops"}, "cidr": {"10.0.0.0/8"}})
	b.want(200, "接続元を削除しました")
	b.get("/allow-list/remove?console=callcenter&cidr=203.0.113.0/24")
	b.post("/allow-list/remove", url.Values{"console": {"callcenter"}, "cidr": {"203.0.113.0/24"}})
	b.want(200, "接続元を削除しました")
	b.get("/allow-list")
	b.post("/allow-list", url.Values{"console": {"ops"}, "cidr": {"127.0.0.0/8"}})
	b.get("/allow-list/remove?console=ops&cidr=127.0.0.1/32")
	b.post("/allow-list/remove", url.Values{"console": {"ops"}, "cidr": {"127.0.0.1/32"}})
	b.want(200, "接続元を削除しました") // 127.0.0.0/8 still covers the member
	b.post("/allow-list/remove", url.Values{"console": {"ops"}, "cidr": {"127.0.0.0/8"}, "_csrf": {"forged"}})
	b.want(403)
	log := strings.Join(opsLog(t, e), "\n")
	for _, want := range []string{"vendor:ops.yamada platform.allow.add ops", "vendor:ops.yamada platform.allow.remove ops",
		"vendor:ops.yamada platform.allow.add callcenter"} {
		if !strings.Contains(log, want) {
			t.Errorf("vendor's log lacks %q:\n%s", want, log)
		}
	}

	// The office moves: 127.0.0.1 is outside. The live session gets nothing either.
	if err := e.ops.Disallow(ctx, tenant.ConsoleOps, "127.0.0.0/8", tenant.VendorCLI()); err != nil {
		t.Fatal(err)
	}
	opsAllow(t, e, "10.0.0.0/8")
	anon := newBrowser(t, addr, opsHost)
	for _, p := range []string{"/login", "/", "/cities", "/allow-list", "/accounts", "/help", "/login/code", "/nosuch", "/static/x"} {
		for _, c := range []*browser{anon, b} {
			c.get(p)
			if p == "/static/x" { // the shared static route answers before any console: nothing to leak
				continue
			}
			c.want(403, "登録された接続元からのみ利用できます", `id="client-ip">127.0.0.1<`)
			for _, leak := range []string{"<form", "password", "ログインID", "ops.yamada", "10.0.0.0/8", "運用メニュー"} {
				if strings.Contains(c.last, leak) {
					t.Errorf("GET %s from outside the list shows %q", p, leak)
				}
			}
		}
	}
	b.post("/logout", url.Values{"_csrf": {"x"}})
	b.want(403, "登録された接続元からのみ利用できます")
	anon.post("/login", url.Values{"_nocsrf": {"1"}, "login_id": {"ops.yamada"}, "password": {opsPassword}})
	anon.want(403, "登録された接続元からのみ利用できます")
	// X-Real-IP from a peer that is not a trusted proxy is ignored.
	req, _ := http.NewRequest("GET", "http://"+opsHost+"/login", nil)
	req.Header.Set("X-Real-IP", "10.1.2.3")
	req.Header.Set("X-Forwarded-For", "10.1.2.3")
	resp, err := anon.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("forged X-Real-IP: %d, want 403", resp.StatusCode)
	}

	// Behind the ingress (a trusted proxy) the address it reports is the client's.
	proxied := opsBehindProxy(t, e)
	for _, tc := range []struct {
		realIP string
		want   int
	}{{"10.1.2.3", 200}, {"192.0.2.7", 403}} {
		req, _ := http.NewRequest("GET", "http://"+opsHost+"/login", nil)
		req.Header.Set("X-Real-IP", tc.realIP)
		resp, err := newBrowser(t, proxied, opsHost).c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("behind the proxy, X-Real-IP %s: %d, want %d", tc.realIP, resp.StatusCode, tc.want)
		}
		if tc.want == 403 && !strings.Contains(string(body), `id="client-ip">`+tc.realIP+`<`) {
			t.Errorf("behind the proxy, the refusal does not name %s", tc.realIP)
		}
	}
}

// opsBehindProxy serves the env's services in an app that trusts 127.0.0.1 as its ingress, and
// returns its address.
func opsBehindProxy(t *testing.T, e *env) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	opt, err := redis.ParseURL(redisURL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	app, err := ui.New(ui.Deps{DB: e.db.App, Redis: rdb, Booking: e.svc, Accounts: e.accounts, Registry: reg, Gatherer: reg,
		ImportQueue: jobs.NewImportQueue(rdb),
		Tenants:     tenant.NewResolver(tenant.NewDirectory(tenant.NewService(e.db.App), 0), "localhost"),
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)), BaseDomain: "localhost", Now: e.now,
		TrustedProxies: []string{"127.0.0.1"}, Ops: e.ops, Cities: e.cities})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { _ = app.Shutdown() })
	return ln.Addr().String()
}
