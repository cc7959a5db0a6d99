package ui_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/madoguchi/madoguchi/tenant"
)

// TestOpsSupportActionsHTTP: the support actions on a city, each behind its check page or confirm
// form, each written to the city's audit log as the vendor: a locked-out 市管理者 gets a new
// password shown once (a clerk's or an unknown login is refused beside the field) and their open
// session ends; custom domains are added (the host answers at once; the deployment step is said)
// and removed; the city's /admin allow-list that kept its admin out is cleared; mail sender
// domains are set; the city is disabled (its hosts answer 404) and enabled again.
func TestOpsSupportActionsHTTP(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	opsAllow(t, e, "127.0.0.1")
	addr := serve(t, e)
	b, _ := opsMember(t, e, addr, "ops.yamada")
	tsu, adminPW, err := e.cities.Onboard(ctx, tenant.OnboardInput{Slug: "tsu", Name: "津市", Code: "242012", AdminLogin: "tsu.admin"}, tenant.VendorCLI())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.accounts.Create(ctx, tsu, "tsu.clerk", "窓口 太郎", tenant.RoleStaff, "x-initial-password", "test"); err != nil {
		t.Fatal(err)
	}
	admin := newBrowser(t, addr, "tsu.localhost")
	admin.get("/admin/login")
	admin.post("/admin/login", url.Values{"login_id": {"tsu.admin"}, "password": {adminPW}})
	admin.post("/admin/password", url.Values{"current_password": {adminPW}, "new_password": {"tsu admin's own passphrase"},
		"new_password2": {"tsu admin's own passphrase"}})
	admin.want(200, "本日と明日の予約")

	b.get("/cities/tsu")
	b.want(200, "津市", "この市の監査ログに「システム事業者」の操作として記録", `href="/cities/tsu/admin-reset"`, `href="/cities/tsu/status"`)

	// Reset the admin: the form refuses what is not this city's 市管理者, beside the field.
	b.get("/cities/tsu/admin-reset")
	b.want(200, "津市の市管理者のパスワードを再発行します", "折り返し")
	for login, want := range map[string]string{"nobody": "この自治体に、このログインIDのアカウントはありません", "tsu.clerk": "このアカウントは市管理者ではありません"} {
		b.post("/cities/tsu/admin-reset", url.Values{"login_id": {login}})
		b.want(422, "<title>エラー：", `href="#f-login_id"`, `id="e-login_id"`, want, `value="`+login+`"`)
	}
	resp, body := rawDo(t, addr, "POST", opsHost, "/cities/tsu/admin-reset", map[string]string{"mdg_ops": cookieOf(b, "mdg_ops")},
		url.Values{"_csrf": {csrfOf(b.last)}, "login_id": {"TSU.ADMIN"}})
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(body, "ログイン中の画面を1件終了しました") {
		t.Fatalf("admin reset: %d, Cache-Control %q: %.1500s", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
	newPW := firstMatch(t, `id="initial-password">([^<]+)<`, body)
	admin.get("/admin") // the admin's open session ended
	admin.want(200, "職員ログイン")
	admin.post("/admin/login", url.Values{"login_id": {"tsu.admin"}, "password": {newPW}})
	admin.want(200, "パスワードの変更", "初めてのログインです")
	admAuditHas(t, e, tsu, "vendor:ops.yamada vendor.account.reset_password tsu.admin")

	// Custom domains: refused beside the field; added, the host answers at once; removed.
	b.get("/cities/tsu/domains")
	b.want(200, "津市の独自ドメイン", "イングレス（ingress）のホストとTLS証明書", "独自ドメインは登録されていません")
	for host, want := range map[string]string{"not a host": "ホスト名は「yoyaku.city.example.lg.jp」のような形で", "tsu.localhost": "ホスト名は「yoyaku"} {
		b.post("/cities/tsu/domains", url.Values{"domain": {host}})
		b.want(422, `href="#f-domain"`, `id="e-domain"`, want)
	}
	b.post("/cities/tsu/domains", url.Values{"domain": {"Yoyaku.City.Tsu.Example.JP."}})
	b.want(200, "独自ドメインを登録しました。イングレスのホストとTLS証明書を追加するデプロイ作業", "yoyaku.city.tsu.example.jp")
	b.post("/cities/tsu/domains", url.Values{"domain": {"yoyaku.city.tsu.example.jp"}})
	b.want(422, "このホスト名はすでに登録されています")
	custom := newBrowser(t, addr, "yoyaku.city.tsu.example.jp")
	custom.get("/")
	custom.want(200, "津市")
	b.get("/cities/tsu/domains/remove?domain=yoyaku.city.tsu.example.jp")
	b.want(200, "yoyaku.city.tsu.example.jp を削除しますか", "イングレスからこのホスト名を取り除いて")
	b.post("/cities/tsu/domains/remove", url.Values{"domain": {"yoyaku.city.tsu.example.jp"}})
	b.want(200, "独自ドメインを削除しました", "独自ドメインは登録されていません")
	custom.get("/")
	custom.want(404)
	b.get("/cities/tsu/domains")
	b.post("/cities/tsu/domains/remove", url.Values{"domain": {"yoyaku.city.tsu.example.jp"}})
	b.want(404, "この自治体には、このホスト名は登録されていません")
	admAuditHas(t, e, tsu, "vendor:ops.yamada vendor.domain.add yoyaku.city.tsu.example.jp")
	admAuditHas(t, e, tsu, "vendor:ops.yamada vendor.domain.remove yoyaku.city.tsu.example.jp")

	// The city locked its admins out with its own /admin allow-list; the vendor clears it.
	st := tsu.Settings
	st.AdminAllowList = []string{"10.20.0.0/16"}
	if err := e.cities.UpdateSettings(ctx, tsu.ID, st); err != nil {
		t.Fatal(err)
	}
	admin.get("/admin/login")
	admin.want(403, "庁内ネットワーク")
	b.get("/cities/tsu")
	b.want(200, "あり（1件）")
	b.get("/cities/tsu/allow-list")
	b.want(200, "10.20.0.0/16", "接続元の制限を解除する")
	b.post("/cities/tsu/allow-list/clear", url.Values{})
	b.want(200, "管理画面の接続元制限を解除しました", "制限なし")
	admin.get("/admin/login")
	admin.want(200, "職員ログイン")
	b.get("/cities/tsu/allow-list")
	b.want(200, "解除するものはありません")
	admAuditHas(t, e, tsu, "vendor:ops.yamada settings.allow_list_cleared tsu")

	// Mail sender domains.
	b.get("/cities/tsu/mail-domains")
	b.want(200, "津市のメールの送信元ドメイン", "SPF")
	b.post("/cities/tsu/mail-domains", url.Values{"mail_domains": {"city.tsu.example.jp\nnot a domain!"}})
	b.want(422, `href="#f-mail_domains"`, "メールの送信元ドメインは「city.example.lg.jp」のような形で", "not a domain!</textarea>")
	b.post("/cities/tsu/mail-domains", url.Values{"mail_domains": {"City.Tsu.Example.JP\r\nmail.tsu.example.jp、city.tsu.example.jp"}})
	b.want(200, "メールの送信元ドメインを保存しました", "city.tsu.example.jp", "mail.tsu.example.jp")
	if got, _ := e.cities.BySlug(ctx, "tsu"); strings.Join(got.MailDomains, ",") != "city.tsu.example.jp,mail.tsu.example.jp" {
		t.Errorf("mail domains = %v", got.MailDomains)
	}
	admAuditHas(t, e, tsu, "vendor:ops.yamada vendor.mail_domains.set tsu")

	// Disable and enable.
	b.get("/cities/tsu/status")
	b.want(200, "津市の利用を停止しますか", "データは消えません")
	b.post("/cities/tsu/status", url.Values{"status": {"disabled"}, "_csrf": {"forged"}})
	b.want(403)
	b.get("/cities/tsu/status")
	b.post("/cities/tsu/status", url.Values{"status": {"disabled"}})
	b.want(200, "利用を停止しました", `id="city-status"><strong>停止中`)
	admin.get("/admin/login")
	admin.want(404)
	b.get("/cities?q=tsu")
	b.want(200, "停止中")
	b.get("/cities/tsu/status")
	b.want(200, "津市の利用を再開しますか")
	b.post("/cities/tsu/status", url.Values{"status": {"active"}})
	b.want(200, "利用を再開しました", `id="city-status">利用中`)
	admin.get("/admin/login")
	admin.want(200, "職員ログイン")
	admAuditHas(t, e, tsu, "vendor:ops.yamada vendor.tenant.disable tsu")
	admAuditHas(t, e, tsu, "vendor:ops.yamada vendor.tenant.enable tsu")
}

// TestOpsAccountsHTTP: vendor accounts are created (refusals beside their fields; the issued
// password shown once), reset (with the TOTP: enrolled again; the account's sessions end) and
// disabled (sessions end, no login) or enabled, never one's own; an operator is granted a city
// (an unknown slug said beside the field) and revoked, both in the city's audit log.
func TestOpsAccountsHTTP(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	opsAllow(t, e, "127.0.0.1")
	addr := serve(t, e)
	b, me := opsMember(t, e, addr, "ops.yamada")
	tsu, _, err := e.cities.Onboard(ctx, tenant.OnboardInput{Slug: "tsu", Name: "津市", Code: "242012", AdminLogin: "tsu.admin"}, tenant.VendorCLI())
	if err != nil {
		t.Fatal(err)
	}

	b.get("/accounts")
	b.want(200, "事業者アカウント", "ops.yamada", "運用担当者")
	b.get("/accounts/new")
	b.want(200, "アカウントを追加", "コールセンターのオペレーター")
	b.post("/accounts", url.Values{"login_id": {"X"}, "display_name": {""}, "role": {"root"}})
	b.want(422, "<title>エラー：", `href="#f-login_id"`, `href="#f-display_name"`, `href="#f-role"`, "ログインIDは半角英小文字",
		"役割は「運用（ops）」「オペレーター（operator）」")
	b.post("/accounts", url.Values{"login_id": {"ops.yamada"}, "display_name": {"別人"}, "role": {"ops"}})
	b.want(422, "このログインIDはすでに使われています", `value="別人"`)
	resp, body := rawDo(t, addr, "POST", opsHost, "/accounts", map[string]string{"mdg_ops": cookieOf(b, "mdg_ops")},
		url.Values{"_csrf": {csrfOf(b.last)}, "login_id": {"cc.tanaka"}, "display_name": {"田中 花子"}, "role": {"operator"}})
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(body, "アカウント cc.tanaka を追加しました") {
		t.Fatalf("create: %d, Cache-Control %q: %.1500s", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
	opPW := firstMatch(t, `id="initial-password">([^<]+)<`, body)
	op, err := e.ops.ByLogin(ctx, "cc.tanaka")
	if err != nil || op.Role != tenant.OpsRoleOperator || op.CreatedBy != "vendor:ops.yamada" {
		t.Fatalf("cc.tanaka = %+v, %v", op, err)
	}
	if _, err := e.ops.Authenticate(ctx, "cc.tanaka", opPW, "127.0.0.1"); err != nil {
		t.Errorf("the printed password does not log in: %v", err)
	}

	// An operator's cities.
	grants := "/accounts/" + op.ID.String() + "/grants"
	b.get("/accounts/" + op.ID.String())
	b.want(200, "cc.tanaka", "コールセンターのオペレーター", `href="`+grants+`"`)
	b.get(grants)
	b.want(200, "cc.tanaka の担当自治体", "まだ自治体が割り当てられていません")
	b.post(grants, url.Values{"slug": {"nosuch"}})
	b.want(422, `href="#f-slug"`, `id="e-slug"`, "この識別名の自治体は登録されていません。自治体の一覧で", `value="nosuch"`)
	b.post(grants, url.Values{"slug": {"TSU"}})
	b.want(200, "自治体を割り当てました", `href="/cities/tsu"`, "津市の割り当てを取り消す")
	if gs, _ := e.ops.Grants(ctx, op.ID); len(gs) != 1 || gs[0].Slug != "tsu" {
		t.Errorf("grants = %+v", gs)
	}
	b.post(grants+"/revoke", url.Values{"slug": {"tsu"}})
	b.want(200, "自治体の割り当てを取り消しました", "まだ自治体が割り当てられていません")
	b.post(grants+"/revoke", url.Values{"slug": {"tsu"}})
	b.want(404)
	admAuditHas(t, e, tsu, "vendor:ops.yamada vendor.operator.grant cc.tanaka")
	admAuditHas(t, e, tsu, "vendor:ops.yamada vendor.operator.revoke cc.tanaka")
	b.get("/accounts/" + me.ID.String() + "/grants")
	b.want(200, "担当自治体を割り当てられるのは、コールセンターのオペレーターだけです")

	// One's own account: no reset, no disable (a forged post is refused).
	b.get("/accounts/" + me.ID.String())
	b.want(200, "ご自身のアカウントは")
	if strings.Contains(b.last, "/reset") || strings.Contains(b.last, "/disable") {
		t.Error("one's own account offers a reset or a disable")
	}
	b.post("/accounts/"+me.ID.String()+"/disable", url.Values{})
	b.want(403)

	// A colleague lost their phone: reset with the TOTP; their session ends; they enrol again.
	kato, katoPW := opsAccount(t, e, "ops.kato", tenant.OpsRoleOps)
	k := newBrowser(t, addr, opsHost)
	opsFirstLogin(t, e, k, "ops.kato", katoPW, opsPassword)
	b.get("/accounts/" + kato.ID.String())
	b.want(200, "認証アプリの設定もやり直す", "設定済み")
	b.post("/accounts/"+kato.ID.String()+"/reset", url.Values{"totp": {"1"}})
	b.want(200, "アカウント ops.kato の初期パスワードを再発行しました", "続けて認証アプリを設定します")
	katoPW = firstMatch(t, `id="initial-password">([^<]+)<`, b.last)
	k.get("/")
	k.want(200, "運用管理 ログイン")
	e.clock.Add(time.Minute)
	opsFirstLogin(t, e, k, "ops.kato", katoPW, "a new quiet passphrase")

	// Someone left: disabled, their session ends and they cannot log in; enabled again, they can.
	b.get("/accounts/" + kato.ID.String())
	b.post("/accounts/"+kato.ID.String()+"/disable", url.Values{})
	b.want(200, "アカウントを無効にしました", "無効")
	k.get("/cities")
	k.want(200, "運用管理 ログイン")
	k.post("/login", url.Values{"login_id": {"ops.kato"}, "password": {"a new quiet passphrase"}})
	k.want(401, "ログインIDまたはパスワードが正しくありません")
	b.post("/accounts/"+kato.ID.String()+"/enable", url.Values{})
	b.want(200, "アカウントを有効にしました")
	if got, err := e.ops.ByID(ctx, kato.ID); err != nil || got.Disabled {
		t.Fatalf("kato = %+v, %v", got, err)
	}
	log := strings.Join(opsLog(t, e), "\n")
	for _, want := range []string{"vendor:ops.yamada platform.account.create cc.tanaka", "vendor:ops.yamada platform.account.reset ops.kato",
		"vendor:ops.yamada platform.account.disable ops.kato", "vendor:ops.yamada platform.account.enable ops.kato"} {
		if !strings.Contains(log, want) {
			t.Errorf("vendor's log lacks %q:\n%s", want, log)
		}
	}
}
