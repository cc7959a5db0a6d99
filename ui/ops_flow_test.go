package ui_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
)

// TestOpsOnboardFlowHTTP: from a database with no vendor account and an empty allow-list, the
// first ops account (created as the command does) logs in at ops.{BASE} from an allowed address —
// issued password, forced change, TOTP enrolment — onboards 津市, and the password the console
// printed once logs its first 市管理者 in at tsu.{BASE}/admin, who must change it, adds a place
// and its hours; a citizen books. The vendor's onboarding is in the city's audit log.
func TestOpsOnboardFlowHTTP(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	addr := serve(t, e)
	b := newBrowser(t, addr, opsHost)

	// An empty allow-list lets nobody in, the login page included.
	b.get("/login")
	b.want(403, "登録された接続元からのみ利用できます", `id="client-ip">127.0.0.1<`)
	acc, initial := opsAccount(t, e, "ops.yamada", tenant.OpsRoleOps)
	opsAllow(t, e, "127.0.0.1")

	// Anonymous: every page sends to the login.
	b.get("/cities")
	b.want(200, "運用管理 ログイン")
	b.post("/login", url.Values{"login_id": {"ops.yamada"}, "password": {"wrong password"}})
	b.want(401, "ログインIDまたはパスワードが正しくありません")
	b.post("/login", url.Values{"login_id": {"ops.yamada"}, "password": {initial}, "_csrf": {"forged"}})
	b.want(403)

	// First login: the issued password, a new one (refusals beside their fields), the enrolment.
	b.get("/login")
	b.post("/login", url.Values{"login_id": {"OPS.YAMADA"}, "password": {initial}})
	b.want(200, "パスワードの変更", "初めてのログイン")
	before := cookieOf(b, "mdg_ops")
	b.get("/") // not logged in yet: the password comes first, then the enrolment
	b.want(200, "運用管理 ログイン")
	b.post("/login", url.Values{"login_id": {"ops.yamada"}, "password": {initial}})
	b.want(200, "パスワードの変更")
	if after := cookieOf(b, "mdg_ops"); after == "" || after == before {
		t.Error("the session id did not change at the password step")
	}
	b.post("/password", url.Values{"current_password": {initial}, "new_password": {"short"}, "new_password2": {"short"}})
	b.want(422, "<title>エラー：", "12文字以上", `href="#f-new_password"`, `aria-invalid="true"`)
	b.post("/password", url.Values{"current_password": {initial}, "new_password": {"a long ops passphrase"}, "new_password2": {"another long one"}})
	b.want(422, "確認のパスワードが一致しません")
	b.post("/password", url.Values{"current_password": {"not it"}, "new_password": {"a long ops passphrase"}, "new_password2": {"a long ops passphrase"}})
	b.want(422, "現在のパスワードが正しくありません")
	b.post("/password", url.Values{"current_password": {initial}, "new_password": {"a long ops passphrase"}, "new_password2": {"a long ops passphrase"}})
	b.want(200, "認証アプリの設定", "Google Authenticator", "ops.yamada")
	secret := strings.ReplaceAll(firstMatch(t, `id="mfa-secret">([A-Z2-7 ]+)<`, b.last), " ", "")
	b.get("/cities") // still not logged in
	b.want(200, "運用管理 ログイン")
	b.post("/login", url.Values{"login_id": {"ops.yamada"}, "password": {"a long ops passphrase"}})
	b.want(200, "認証アプリの設定") // no TOTP yet: back to the enrolment, with the same key
	if got := strings.ReplaceAll(firstMatch(t, `id="mfa-secret">([A-Z2-7 ]+)<`, b.last), " ", ""); got == secret {
		t.Log("a new login session shows a new key") // either is fine; the session's key is the one that counts
	}
	secret = strings.ReplaceAll(firstMatch(t, `id="mfa-secret">([A-Z2-7 ]+)<`, b.last), " ", "")
	b.post("/mfa", url.Values{"code": {"000000"}})
	b.want(422, "確認コードが正しくありません", `href="#f-code"`, secret[:4]+" "+secret[4:8])
	b.post("/mfa", url.Values{"code": {totpCode(t, e, secret, 0)}})
	b.want(200, "運用管理のトップ", "ops.yamada でログイン中", `id="fleet-overview"`)
	resp, _ := rawGet(t, addr, opsHost, "/", map[string]string{"mdg_ops": cookieOf(b, "mdg_ops")})
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("top page: %d, Cache-Control %q; want 200, no-store", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}

	// Onboarding 津市: the admin's initial password is shown once, not cached.
	if n, _ := e.db.App.NewSelect().Table("tenants").Where("slug = 'tsu'").Count(ctx); n != 0 {
		t.Fatal("tsu exists before onboarding")
	}
	b.get("/cities/new")
	b.want(200, "自治体の開設", "全国地方公共団体コード", "最初の市管理者")
	form := url.Values{"_csrf": {csrfOf(b.last)}, "slug": {"tsu"}, "name": {"津市"}, "code": {"２４２０１２"}, "name_kana": {"つし"},
		"banner_color": {""}, "domain": {""}, "admin_login": {"tsu.admin"}, "admin_name": {""}}
	resp, body := rawDo(t, addr, "POST", opsHost, "/cities", map[string]string{"mdg_ops": cookieOf(b, "mdg_ops")}, form)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(body, "津市を開設しました") {
		t.Fatalf("onboarding: %d, Cache-Control %q: %.1500s", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
	cityPW := firstMatch(t, `id="initial-password">([^<]+)<`, body)
	for _, s := range []string{"http://tsu.localhost/admin", "tsu.admin", "交付場所と受付時間を登録"} {
		if !strings.Contains(body, s) {
			t.Errorf("the result page lacks %q", s)
		}
	}
	tsu, err := e.cities.BySlug(ctx, "tsu")
	if err != nil || tsu.Code != "242012" || tsu.NameKana != "ツシ" {
		t.Fatalf("tsu = %+v, %v", tsu, err)
	}
	admAuditHas(t, e, tsu, "vendor:ops.yamada vendor.tenant.create tsu")
	b.get("/cities/tsu")
	b.want(200, "津市", "ツシ", "242012", "利用中", "市管理者のパスワード再発行")
	if strings.Contains(b.last, cityPW) {
		t.Error("the city page shows the initial password again")
	}
	b.get("/cities?q=つし")
	b.want(200, `href="/cities/tsu"`, "1件")

	// The city console exists: its admin logs in with the printed password and must change it.
	admin := newBrowser(t, addr, "tsu.localhost")
	admin.get("/admin/login")
	admin.post("/admin/login", url.Values{"login_id": {"tsu.admin"}, "password": {cityPW}})
	admin.want(200, "パスワードの変更", "初めてのログインです")
	admin.post("/admin/password", url.Values{"current_password": {cityPW}, "new_password": {"tsu admin's own passphrase"},
		"new_password2": {"tsu admin's own passphrase"}})
	admin.want(200, "本日と明日の予約")

	// The admin adds a place open every day, 9:00–12:00.
	admin.get("/admin/locations/new")
	admin.post("/admin/locations", url.Values{"name": {"津市役所 本庁"}, "sort_order": {"1"}, "active": {"1"}})
	admin.want(200, "交付場所を追加しました")
	locs, err := e.svc.Locations(ctx, tsu.ID, false)
	if err != nil || len(locs) != 1 {
		t.Fatalf("tsu's locations = %v, %v", locs, err)
	}
	loc := &locs[0]
	hours := url.Values{}
	for wd := range 7 {
		k := fmt.Sprintf("w%d_0_", wd)
		hours.Set(k+"start", "9:00")
		hours.Set(k+"end", "12:00")
		hours.Set(k+"slot", "30")
		hours.Set(k+"capacity", "2")
	}
	admin.get("/admin/locations/" + loc.ID.String() + "/schedule")
	admin.post("/admin/locations/"+loc.ID.String()+"/schedule", hours)
	admin.want(200, "毎週の受付時間を保存し")

	// A citizen books.
	card := bookingtest.MustCard(t, e.svc, tsu, "0312")
	citizen := newBrowser(t, addr, "tsu.localhost")
	citizen.get("/login")
	citizen.post("/login", url.Values{"card_no": {card.CardNo}, "month": {"3"}, "day": {"12"}})
	citizen.want(200, "受け取る人")
	first := booking.DateFromDB(bookingtest.FirstSlot(t, e.svc, tsu, loc, e.clock.Now()).Day)
	citizen.get("/calendar?location=" + loc.ID.String() + "&month=" + first.String()[:7])
	citizen.want(200, `<table class="cal"`)
	dayLink := firstMatch(t, `href="(/times\?location=[^"]+)"`, citizen.last)
	citizen.get(strings.ReplaceAll(dayLink, "&amp;", "&"))
	citizen.want(200, "この時間で予約に進む")
	citizen.post("/hold", url.Values{"slot": {firstMatch(t, `name="slot" value="([^"]+)"`, citizen.last)}, "location": {loc.ID.String()}})
	citizen.want(200, "予約内容を確認してください")
	citizen.post("/reserve", url.Values{"email": {"taro@example.jp"}, "email2": {"taro@example.jp"}})
	citizen.want(200, "予約が完了しました", "津市")
	if r, err := e.svc.CurrentReservation(ctx, tsu, card.ID); err != nil || r.PartySize != 1 {
		t.Errorf("the citizen's reservation = %+v, %v", r, err)
	}

	// The fleet at a glance: once the worker's fleet job has counted the city, the top page shows
	// its booking (counts only: never the citizen's e-mail or card number), sortable by a column,
	// and the fleet's bookings per day as a chart with its figures in a table.
	if err := e.svc.UpdateFleetFigures(ctx, tsu); err != nil {
		t.Fatal(err)
	}
	b.get("/?sort=bookings")
	b.want(200, `id="fleet-overview"`, `data-reload="300" checked`, `<a href="/cities/tsu">津市</a>`, `aria-sort="descending"`, "<svg role=\"img\"", "グラフの数値を表で見る")
	row := firstMatch(t, `(?s)<a href="/cities/tsu">津市</a></th>\s*<td class="num">(\d+)</td>`, b.last)
	if row != "1" {
		t.Errorf("津市's bookings today on the fleet overview = %s, want 1", row)
	}
	if strings.Contains(b.last, "taro@example.jp") || strings.Contains(b.last, card.CardNo) {
		t.Error("the fleet overview shows a citizen's e-mail or card number")
	}
	b.get("/?sort=nonsense")
	b.want(200, `id="fleet-overview"`)
	b.get("/cities/tsu")
	b.want(200, "津市の1日ごとの予約数（直近30日）", "<svg role=\"img\"")
	_ = acc
}

// TestOpsOnboardRefusalsHTTP: a duplicate slug, each reserved name, a wrong check digit and a slug
// that is not a DNS label are each refused beside their field in Japanese (422, the form keeps
// what was typed), and no tenant row is created.
func TestOpsOnboardRefusalsHTTP(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	opsAllow(t, e, "127.0.0.1")
	addr := serve(t, e)
	b, _ := opsMember(t, e, addr, "ops.sato")
	count := func() int {
		n, err := e.db.App.NewSelect().Table("tenants").Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return int(n)
	}
	good := func() url.Values {
		return url.Values{"slug": {"tsu"}, "name": {"津市"}, "code": {"242012"}, "name_kana": {"つし"}, "admin_login": {"tsu.admin"}}
	}
	b.get("/cities/new")
	b.post("/cities", good())
	b.want(200, "津市を開設しました")
	n := count()

	for _, tc := range []struct {
		name, field, value string
		want               []string
	}{
		{"duplicate slug", "slug", "tsu", []string{"この識別名はすでに使われています"}},
		{"reserved ops", "slug", "ops", []string{"この識別名は予約されているため使用できません"}},
		{"reserved callcenter", "slug", "callcenter", []string{"この識別名は予約されているため使用できません"}},
		{"reserved status", "slug", "status", []string{"この識別名は予約されているため使用できません"}},
		{"reserved www", "slug", "www", []string{"この識別名は予約されているため使用できません"}},
		{"reserved api", "slug", "api", []string{"この識別名は予約されているため使用できません"}},
		{"not a DNS label", "slug", "tsu_city", []string{"識別名は英小文字で始まる半角英小文字・数字・ハイフン3〜32文字で"}},
		{"not a DNS label (hyphen first)", "slug", "-tsu", []string{"識別名は英小文字で始まる"}},
		{"bad check digit", "code", "242013", []string{"検査数字（6桁目）が合いません"}},
		{"code taken", "code", "242012", []string{"この全国地方公共団体コードの自治体はすでに登録されています"}},
		{"markup in the name", "name", "<script>x</script>" + strings.Repeat("市", 100), []string{"自治体名を100文字以内で", "&lt;script&gt;"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := good()
			f.Set("slug", "kameyama")
			f.Set("code", "242101")
			f.Set(tc.field, tc.value)
			b.get("/cities/new")
			b.post("/cities", f)
			b.want(422, append([]string{"<title>エラー：", `href="#f-` + tc.field + `"`, `id="e-` + tc.field + `"`, `aria-invalid="true"`}, tc.want...)...)
			if !strings.Contains(b.last, `value="`+strings.ReplaceAll(strings.ReplaceAll(tc.value, "<", "&lt;"), ">", "&gt;")) {
				t.Errorf("the form does not keep %q", tc.value)
			}
			if strings.Contains(b.last, "initial-password") {
				t.Error("a refused onboarding shows a password")
			}
			if got := count(); got != n {
				t.Errorf("tenants: %d, want %d (nothing created)", got, n)
			}
		})
	}
	// Several problems at once: each beside its field, the summary in the form's order.
	b.get("/cities/new")
	b.post("/cities", url.Values{"slug": {"ops"}, "name": {""}, "code": {"242013"}, "banner_color": {"#ffff00"}, "admin_login": {"X"}})
	b.want(422, "予約されている", "自治体名を", "検査数字", "明るすぎて", "ログインIDは半角英小文字")
	order := []string{`href="#f-slug"`, `href="#f-name"`, `href="#f-code"`, `href="#f-banner_color"`, `href="#f-admin_login"`}
	last := -1
	for _, s := range order {
		i := strings.Index(b.last, s)
		if i < last {
			t.Errorf("the summary is not in the form's order at %s", s)
		}
		last = i
	}
	if got := count(); got != n {
		t.Errorf("tenants: %d, want %d", got, n)
	}
}

// TestOpsLoginCodeHTTP: after the first login, a member logs in with the password and then a
// code: nothing opens between the two steps; a wrong code and a replayed one are refused (the
// form again); the code page waits five minutes; the session id changes at each step; after
// logout the old cookie opens nothing.
func TestOpsLoginCodeHTTP(t *testing.T) {
	e := newEnv(t, nil)
	opsAllow(t, e, "127.0.0.1")
	addr := serve(t, e)
	acc, initial := opsAccount(t, e, "ops.yamada", tenant.OpsRoleOps)
	// The session cookie: its own name, host-only, not readable by scripts, gone with the browser.
	resp, _ := rawGet(t, addr, opsHost, "/login", nil)
	cookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"mdg_ops=", "HttpOnly", "SameSite=Lax", "path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("Set-Cookie %q lacks %s", cookie, want)
		}
	}
	for _, bad := range []string{"domain=", "max-age=", "expires="} {
		if strings.Contains(strings.ToLower(cookie), bad) {
			t.Errorf("Set-Cookie %q has %s", cookie, bad)
		}
	}
	b := newBrowser(t, addr, opsHost)
	secret := opsFirstLogin(t, e, b, "ops.yamada", initial, opsPassword)
	b.post("/logout", url.Values{})
	b.want(200, "運用管理 ログイン")

	opsLogin(t, e, b, "ops.yamada", opsPassword, secret)
	session := cookieOf(b, "mdg_ops")
	b.post("/logout", url.Values{})
	if resp, _ := rawGet(t, addr, opsHost, "/cities", map[string]string{"mdg_ops": session}); resp.StatusCode != 303 {
		t.Errorf("the logged-out session's cookie: %d, want 303 to the login", resp.StatusCode)
	}

	e.clock.Add(time.Minute)
	b.get("/login")
	b.post("/login", url.Values{"login_id": {"ops.yamada"}, "password": {opsPassword}})
	b.want(200, "確認コードの入力")
	for _, p := range []string{"/", "/password", "/mfa"} { // between the steps nothing opens
		b.get(p)
		if strings.Contains(b.last, "でログイン中") || strings.Contains(b.last, "新しいパスワード") || strings.Contains(b.last, "mfa-secret") {
			t.Errorf("GET %s between the password and the code opens a page", p)
		}
	}
	b.get("/login/code")
	b.post("/login/code", url.Values{"code": {"000000"}})
	b.want(401, "確認コードが正しくありません", `aria-invalid="true"`)
	used := totpCode(t, e, secret, -time.Minute) // the step of the previous login
	b.post("/login/code", url.Values{"code": {used}})
	if b.status != 401 {
		t.Errorf("an old code: %d, want 401", b.status)
	}
	e.clock.Add(6 * time.Minute)
	b.post("/login/code", url.Values{"code": {totpCode(t, e, secret, 0)}})
	b.want(401, "時間がたったため、もう一度ログインしてください")
	opsLogin(t, e, b, "ops.yamada", opsPassword, secret)
	if got, err := e.ops.ByID(context.Background(), acc.ID); err != nil || got.FailedCount != 0 {
		t.Errorf("after a login: %+v, %v; want the failures cleared", got, err)
	}
}
