package ui_test

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/redis/go-redis/v9"

	"github.com/madoguchi/madoguchi/tenant"
)

// totpCode is the code of secret at offset from the env's clock (the one its account service
// checks codes at), as the member's phone shows it.
func totpCode(t *testing.T, e *env, secret string, offset time.Duration) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, e.clock.Now().Add(offset))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mfaEnrol enrols the logged-in member of b (current password pw) from /admin/mfa and returns
// the secret shown.
func mfaEnrol(t *testing.T, e *env, b *browser, pw string) string {
	t.Helper()
	b.get("/admin/mfa")
	b.want(200, "二段階認証（認証アプリ）", "Google Authenticator", "Microsoft Authenticator", `<img class="qr" src="data:image/png;base64,`)
	secret := strings.ReplaceAll(firstMatch(t, `id="mfa-secret">([A-Z2-7 ]+)<`, b.last), " ", "")
	b.post("/admin/mfa/enable", url.Values{"password": {pw}, "code": {totpCode(t, e, secret, 0)}})
	b.want(200, "二段階認証を設定しました", "設定済みです")
	if strings.Contains(b.last, secret[:8]) || strings.Contains(b.last, "mfa-secret") {
		t.Fatal("the secret is shown again after enrolment")
	}
	return secret
}

// staffSessionOf returns the Redis key of b's staff session.
func staffSessionOf(t *testing.T, b *browser) string {
	t.Helper()
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "mdg_staff" {
			return "mdg:sess:mdg_staff:" + c.Value
		}
	}
	t.Fatal("no staff session cookie")
	return ""
}

// TestStaffMFAHTTP covers TOTP over HTTP: enrolment (QR and key, a wrong code, CSRF), the
// two-step login (not logged in between, wrong code, replay refused, the 5-minute limit), the
// admin's reset for a lost phone (ends the member's sessions), the city's "required" setting and
// turning TOTP off with password and code.
func TestStaffMFAHTTP(t *testing.T) {
	opt, err := redis.ParseURL(redisURL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	e := newEnv(t, rdb)
	ctx := context.Background()
	admAccount(t, e, e.city, "kanri", tenant.RoleAdmin, "admin password one")
	tanaka := admAccount(t, e, e.city, "tanaka", tenant.RoleStaff, "counter password one")
	addr := serve(t, e)
	host := e.city.Slug + ".localhost"

	b := newBrowser(t, addr, host)
	admLogin(t, b, "tanaka", "counter password one")
	b.get("/admin")
	b.want(200, `href="/admin/mfa"`)
	b.get("/admin/mfa")
	secret := strings.ReplaceAll(firstMatch(t, `id="mfa-secret">([A-Z2-7 ]+)<`, b.last), " ", "")
	b.post("/admin/mfa/enable", url.Values{"_csrf": {"forged"}, "password": {"counter password one"}, "code": {totpCode(t, e, secret, 0)}})
	b.want(403)
	b.get("/admin/mfa")
	if again := strings.ReplaceAll(firstMatch(t, `id="mfa-secret">([A-Z2-7 ]+)<`, b.last), " ", ""); again != secret {
		t.Fatalf("the enrolment key changed on reload: %s → %s", secret, again)
	}
	b.post("/admin/mfa/enable", url.Values{"password": {"counter password one"}, "code": {"12345"}})
	b.want(422, "確認コードが正しくありません", `aria-invalid="true"`, secret[:4])
	// Enrolment re-authenticates: without the current password, or with a wrong one, nothing changes.
	for _, pw := range []string{"", "not my password at all"} {
		b.post("/admin/mfa/enable", url.Values{"password": {pw}, "code": {totpCode(t, e, secret, 0)}})
		b.want(422, "現在のパスワードが正しくありません", `id="e-password"`, secret[:4])
	}
	if acc := findAccount(t, e, "tanaka"); acc.TOTPEnabled {
		t.Fatal("a wrong code or password enabled TOTP")
	}
	b.post("/admin/mfa/enable", url.Values{"password": {"counter password one"}, "code": {totpCode(t, e, secret, 0)}})
	b.want(200, "二段階認証を設定しました", "設定済みです")

	// The two-step login: after the password the session is not logged in.
	b.post("/admin/logout", url.Values{})
	b.get("/admin/login")
	b.post("/admin/login", url.Values{"login_id": {"tanaka"}, "password": {"counter password one"}})
	b.want(200, "確認コードの入力", "認証アプリ", `autocomplete="one-time-code"`)
	b.get("/admin/bookings")
	b.want(200, "職員ログイン")
	b.get("/admin/login/code")
	b.want(200, "確認コードの入力")
	b.post("/admin/login/code", url.Values{"_csrf": {"forged"}, "code": {totpCode(t, e, secret, 30*time.Second)}})
	b.want(403)
	b.get("/admin/login/code")
	b.post("/admin/login/code", url.Values{"code": {"000000"}})
	b.want(401, "確認コードが正しくありません")
	if acc := findAccount(t, e, "tanaka"); acc.FailedCount != 1 {
		t.Errorf("failed count after a wrong code = %d, want 1", acc.FailedCount)
	}
	next := totpCode(t, e, secret, 30*time.Second) // the phone one step ahead: accepted once
	b.post("/admin/login/code", url.Values{"code": {next}})
	b.want(200, "本日と明日の予約")
	b.post("/admin/logout", url.Values{})
	b.get("/admin/login")
	b.post("/admin/login", url.Values{"login_id": {"tanaka"}, "password": {"counter password one"}})
	b.post("/admin/login/code", url.Values{"code": {next}})
	b.want(401, "すでに使われています")

	// The pending state lasts 5 minutes.
	key := staffSessionOf(t, b)
	raw, err := rdb.Get(ctx, key).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var sess map[string]any
	_ = json.Unmarshal(raw, &sess)
	sess["mfa_pending_at"] = e.clock.Now().Add(-6 * time.Minute)
	raw, _ = json.Marshal(sess)
	if err := rdb.Set(ctx, key, raw, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	b.post("/admin/login/code", url.Values{"code": {totpCode(t, e, secret, 30*time.Second)}})
	b.want(401, "もう一度ログインしてください", "職員ログイン")
	b.get("/admin/login/code")
	b.want(401, "もう一度ログインしてください")

	// The admin resets it for a lost phone: the member's sessions end; the next login is by password.
	member := newBrowser(t, addr, host)
	member.get("/admin/login")
	member.post("/admin/login", url.Values{"login_id": {"tanaka"}, "password": {"counter password one"}})
	member.want(200, "確認コードの入力")
	adm := newBrowser(t, addr, host)
	admLogin(t, adm, "kanri", "admin password one")
	adm.get("/admin/accounts")
	if !regexp.MustCompile(`>tanaka</a></td>(?s:.*?)<td>設定済み</td>`).MatchString(adm.last) {
		t.Errorf("the accounts list does not show tanaka's TOTP as 設定済み: %.2000s", adm.last)
	}
	adm.get("/admin/accounts/" + tanaka.ID.String())
	adm.want(200, "二段階認証", "設定済み", "二段階認証を解除する")
	adm.post("/admin/accounts/"+tanaka.ID.String()+"/mfa/reset", url.Values{"_csrf": {"forged"}})
	adm.want(403)
	if !findAccount(t, e, "tanaka").TOTPEnabled {
		t.Fatal("a forged reset went through")
	}
	adm.get("/admin/accounts/" + tanaka.ID.String())
	csrf := csrfOf(adm.last)
	for _, id := range []string{"not-a-uuid", "00000000-0000-4000-8000-000000000000"} {
		adm.post("/admin/accounts/"+id+"/mfa/reset", url.Values{"_csrf": {csrf}})
		adm.want(404)
	}
	adm.get("/admin/accounts/" + tanaka.ID.String())
	adm.post("/admin/accounts/"+tanaka.ID.String()+"/mfa/reset", url.Values{})
	adm.want(200, "二段階認証を解除しました", "未設定")
	admAuditHas(t, e, e.city, "kanri account.reset_mfa tanaka")
	member.get("/admin/login/code")
	member.post("/admin/login/code", url.Values{"code": {totpCode(t, e, secret, 0)}})
	member.want(401, "職員ログイン") // TOTP gone: the half-done login starts again
	admLogin(t, member, "tanaka", "counter password one")

	// Required for all staff: a member without TOTP enrols before anything else and cannot turn it off.
	adm.get("/admin/settings")
	adm.want(200, "すべての職員に二段階認証を必須にする")
	adm.post("/admin/settings", url.Values{"booking_deadline_days": {"1"}, "horizon_days": {"90"}, "reminder_hour": {"9"}, "totp_required": {"1"}})
	adm.want(200, "すべての職員に二段階認証の設定をお願いしています") // the admin too, at once
	if !freshCity(t, e).Settings.TOTPRequired {
		t.Fatal("totp_required not saved")
	}
	mfaEnrol(t, e, adm, "admin password one")
	member.get("/admin/bookings")
	member.want(200, "すべての職員に二段階認証の設定をお願いしています")
	if strings.Contains(member.last, `class="staff-nav"`) {
		t.Error("the enrolment page shows the staff menu while enrolment is required")
	}
	mfaEnrol(t, e, member, "counter password one")
	member.get("/admin/bookings")
	member.want(200, "予約の検索")
	member.get("/admin/mfa")
	member.want(200, "ご自身では解除できません")
	member.post("/admin/mfa/disable", url.Values{"password": {"counter password one"}, "code": {totpCode(t, e, secret, 0)}})
	member.want(403)
	// A new member, while TOTP is required, changes the initial password first and then enrols
	// (the two requirements used to send each other's pages back and forth without end).
	if _, err := e.accounts.Create(context.Background(), e.city, "suzuki", "テスト suzuki", tenant.RoleStaff, "x-initial-password", "kanri"); err != nil {
		t.Fatal(err)
	}
	newcomer := newBrowser(t, addr, host)
	newcomer.get("/admin/login")
	newcomer.post("/admin/login", url.Values{"login_id": {"suzuki"}, "password": {"x-initial-password"}})
	newcomer.want(200, "初めてのログインです")
	newcomer.post("/admin/password", url.Values{"current_password": {"x-initial-password"},
		"new_password": {"a long quiet river in spring"}, "new_password2": {"a long quiet river in spring"}})
	newcomer.want(200, "すべての職員に二段階認証の設定をお願いしています")

	// Not required: a member turns it off with their password and a fresh code.
	adm.get("/admin/settings")
	adm.post("/admin/settings", url.Values{"booking_deadline_days": {"1"}, "horizon_days": {"90"}, "reminder_hour": {"9"}})
	adm.want(200, "設定を保存しました")
	sato := newBrowser(t, addr, host)
	admAccount(t, e, e.city, "sato", tenant.RoleStaff, "counter password two")
	admLogin(t, sato, "sato", "counter password two")
	s2 := mfaEnrol(t, e, sato, "counter password two")
	sato.post("/admin/mfa/disable", url.Values{"_csrf": {"forged"}, "password": {"counter password two"}, "code": {totpCode(t, e, s2, 30*time.Second)}})
	sato.want(403)
	sato.get("/admin/mfa")
	sato.post("/admin/mfa/disable", url.Values{"password": {"wrong password here"}, "code": {totpCode(t, e, s2, 30*time.Second)}})
	sato.want(422, "現在のパスワードが正しくありません")
	sato.post("/admin/mfa/disable", url.Values{"password": {"counter password two"}, "code": {totpCode(t, e, s2, 30*time.Second)}})
	sato.want(200, "二段階認証を解除しました")
	if findAccount(t, e, "sato").TOTPEnabled {
		t.Error("sato still has TOTP")
	}
	// Current-password checks are limited per account: after 5 wrong ones in 15 minutes the
	// password change is refused (429), the right password too.
	sato.get("/admin/password")
	for range 5 {
		sato.post("/admin/password", url.Values{"current_password": {"wrong password here"}, "new_password": {"counter password three"}, "new_password2": {"counter password three"}})
		sato.want(422, "現在のパスワードが正しくありません")
	}
	sato.post("/admin/password", url.Values{"current_password": {"counter password two"}, "new_password": {"counter password three"}, "new_password2": {"counter password three"}})
	sato.want(429, "15分ほど待ってから")
	admAuditHas(t, e, e.city, "sato password.recheck_failed")
	admAuditHas(t, e, e.city, "tanaka mfa.enable")
	admAuditHas(t, e, e.city, "sato mfa.disable")
	admAuditHas(t, e, e.city, "tanaka login.mfa_failed")
	admAuditHas(t, e, e.city, "kanri settings.update", `"totp_required": true`)

	// The manuals explain it to the people who use it.
	sato.get("/admin/help")
	sato.want(200, `href="#mfa"`, "二段階認証（認証アプリ）を設定して使う", "Google Authenticator", "スマートフォンを替えるとき・なくしたとき")
	sato.get("/admin/help/operations")
	sato.want(200, "二段階認証と、管理画面に接続できる場所の制限", "スマートフォンをなくした職員の二段階認証を解除する", "自分たちが締め出されないために")
}
