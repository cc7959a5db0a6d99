package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/madoguchi/madoguchi/tenant"
)

// TestAdminIPAllowListHTTP covers the /admin allow-list: the settings form refuses bad lines (by
// number), a list without the admin's own address and a forged token; a good list (full-width
// typed) is saved and audit-logged; and from outside the list every /admin page, login included,
// is a 403 page without data or form, whatever X-Real-IP the untrusted client sends, while the
// citizen pages and the API answer as before. The test server sees 127.0.0.1 and trusts no proxy.
func TestAdminIPAllowListHTTP(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	admAccount(t, e, e.city, "kanri", tenant.RoleAdmin, "admin password one")
	addr := serve(t, e)
	host := e.city.Slug + ".localhost"
	b := newBrowser(t, addr, host)
	admLogin(t, b, "kanri", "admin password one")

	form := func(list string) url.Values {
		return url.Values{"booking_deadline_days": {"1"}, "horizon_days": {"90"}, "reminder_hour": {"9"}, "admin_allow_list": {list}}
	}
	b.get("/admin/settings")
	b.want(200, "管理画面に接続できるIPアドレス", `id="current-ip">127.0.0.1<`)
	b.post("/admin/settings", form("10.0.0.0/8"))
	b.want(422, "あなたも管理画面に入れなくなるため、保存できません", `href="#f-admin_allow_list"`, `aria-invalid="true"`, "10.0.0.0/8</textarea>")
	b.post("/admin/settings", form("127.0.0.1\n10.0.0.300\n\nlgwan"))
	b.want(422, "正しくない行があります", "2行目「10.0.0.300」", "4行目「lgwan」")
	b.post("/admin/settings", form("<script>x</script>"))
	b.want(422, "1行目「&lt;script&gt;x&lt;/script&gt;」")
	b.get("/admin/settings")
	b.post("/admin/settings", url.Values{"_csrf": {"forged"}, "booking_deadline_days": {"1"}, "horizon_days": {"90"}, "reminder_hour": {"9"},
		"admin_allow_list": {"127.0.0.1"}})
	b.want(403)
	if got := freshCity(t, e).Settings.AdminAllowList; len(got) != 0 {
		t.Fatalf("a refused list was saved: %v", got)
	}
	b.get("/admin/settings")
	b.post("/admin/settings", form("１２７.０.０.０/８\n10.20.3.4/16\n"))
	b.want(200, "設定を保存しました", "127.0.0.0/8\n10.20.0.0/16</textarea>")
	if got := strings.Join(freshCity(t, e).Settings.AdminAllowList, ","); got != "127.0.0.0/8,10.20.0.0/16" {
		t.Fatalf("saved list = %s", got)
	}
	admAuditHas(t, e, e.city, "kanri settings.update", `"admin_allow_list": ["127.0.0.0/8", "10.20.0.0/16"]`)
	b.get("/admin")
	b.want(200, "本日と明日の予約") // inside the list

	// The city's network moves (or the list was set elsewhere): 127.0.0.1 is now outside.
	st := freshCity(t, e).Settings
	st.AdminAllowList = []string{"10.0.0.0/8"}
	if err := tenant.NewService(e.db.App).UpdateSettings(ctx, e.city.ID, st); err != nil {
		t.Fatal(err)
	}
	anon := newBrowser(t, addr, host)
	for _, p := range []string{"/admin/login", "/admin", "/admin/settings", "/admin/accounts", "/admin/mfa", "/admin/login/code", "/ADMIN/login", "/admin/nope"} {
		for _, c := range []*browser{anon, b} {
			c.get(p)
			c.want(403, "庁内ネットワーク", "連絡してください", `id="client-ip">127.0.0.1<`)
			for _, leak := range []string{"<form", "password", "ログインID", "本日と明日の予約", "kanri"} {
				if strings.Contains(c.last, leak) {
					t.Errorf("GET %s outside the list shows %q", p, leak)
				}
			}
		}
	}
	b.post("/admin/logout", url.Values{"_csrf": {"x"}})
	b.want(403, "庁内ネットワーク")
	anon.post("/admin/login", url.Values{"_nocsrf": {"1"}, "login_id": {"kanri"}, "password": {"admin password one"}})
	anon.want(403, "庁内ネットワーク")
	// X-Real-IP from a peer that is not a trusted proxy is ignored.
	req, _ := http.NewRequest("GET", "http://"+host+"/admin/login", nil)
	req.Header.Set("X-Real-IP", "10.1.2.3")
	req.Header.Set("X-Forwarded-For", "10.1.2.3")
	resp, err := anon.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("spoofed X-Real-IP: status %d, want 403", resp.StatusCode)
	}
	// Citizens and the API are not affected.
	anon.get("/")
	anon.want(200, e.city.Name)
	anon.get("/login")
	anon.want(200)
	anon.get("/api/v1/locations")
	anon.want(200)
	if n := len(admAudit(t, e, e.city)); n == 0 {
		t.Error("no audit entries")
	}
}
