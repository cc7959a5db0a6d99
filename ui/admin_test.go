package ui_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"io"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

var initialPasswordRE = regexp.MustCompile(`id="initial-password">([^<]+)<`)

// TestAdminAccountsHTTP covers the account pages: staff get 403 everywhere under
// /admin/accounts and /admin/audit; an admin creates an account and sees its initial password
// once; first login forces a change; reset, unlock, role change; disabling ends the account's live
// session at once; an admin cannot disable or demote themselves; another city's account ids are
// 404; CSRF on every form; every write is audit-logged without a password.
func TestAdminAccountsHTTP(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	boss := admAccount(t, e, e.city, "boss", tenant.RoleAdmin, "boss password one")
	clerk := admAccount(t, e, e.city, "clerk", tenant.RoleStaff, "clerk password one")
	other := tenanttestCity(t, e)
	foreign := admAccount(t, e, other, "clerk", tenant.RoleStaff, "foreign password one")
	addr := serve(t, e)
	host := e.city.Slug + ".localhost"

	// A clerk (role staff) is refused every admin URL, reading or writing.
	cb := newBrowser(t, addr, host)
	admLogin(t, cb, "clerk", "clerk password one")
	page := cb.last
	for _, path := range []string{"/admin/accounts", "/admin/accounts/new", "/admin/accounts/" + clerk.ID.String(), "/admin/accounts/" + boss.ID.String(),
		"/admin/audit", "/admin/audit?action=login"} {
		cb.get(path)
		cb.want(403)
	}
	for _, path := range []string{"/admin/accounts", "/admin/accounts/" + boss.ID.String() + "/reset", "/admin/accounts/" + boss.ID.String() + "/unlock",
		"/admin/accounts/" + boss.ID.String() + "/disable", "/admin/accounts/" + boss.ID.String() + "/enable",
		"/admin/accounts/" + clerk.ID.String() + "/role", "/admin/audit/export"} {
		cb.last = page
		cb.post(path, url.Values{"login_id": {"mole"}, "display_name": {"x"}, "role": {"admin"}})
		cb.want(403)
	}
	if accs, _ := admAccounts(e).List(ctx, e.city); len(accs) != 2 {
		t.Fatalf("a clerk's forms changed the accounts: %d accounts", len(accs))
	}
	if got, _ := admAccounts(e).ByID(ctx, e.city, boss.ID); got.Disabled || got.MustChange {
		t.Fatalf("a clerk's forms changed the admin: %+v", got)
	}

	b := newBrowser(t, addr, host)
	admLogin(t, b, "boss", "boss password one")
	b.get("/admin/accounts")
	b.want(200, "職員アカウント", "boss", "clerk", "市管理者", "職員")

	// Create: validation, then the initial password shown once with its 72-hour note.
	b.get("/admin/accounts/new")
	b.want(200, "アカウントを追加")
	b.post("/admin/accounts", url.Values{"login_id": {"Bad Id!"}, "display_name": {"新人"}, "role": {"staff"}})
	b.want(422, "ログインIDは半角英小文字")
	b.post("/admin/accounts", url.Values{"login_id": {"clerk"}, "display_name": {"新人"}, "role": {"staff"}})
	b.want(409, "このログインIDはすでに使われています")
	b.post("/admin/accounts", url.Values{"login_id": {"newbie"}, "display_name": {""}, "role": {"root"}})
	b.want(422, "氏名を100文字以内で入力してください", "権限を選んでください")
	b.post("/admin/accounts", url.Values{"login_id": {"newbie"}, "display_name": {"新人 一郎"}, "role": {"staff"}})
	b.want(200, "アカウント newbie を追加しました", "一度だけ表示", "72時間", "初回ログイン時に変更が必要")
	initial := firstMatch(t, initialPasswordRE.String(), b.last)
	newbie := findAccount(t, e, "newbie")
	b.get("/admin/accounts/" + newbie.ID.String())
	b.want(200, "初回ログイン待ち", "初期パスワードの有効期限")
	if strings.Contains(b.last, initial) {
		t.Fatal("the initial password is shown again")
	}

	// The new user logs in with it and must change it first.
	nb := newBrowser(t, addr, host)
	nb.get("/admin/login")
	nb.post("/admin/login", url.Values{"login_id": {"newbie"}, "password": {initial}})
	nb.want(200, "初めてのログインです")
	nb.get("/admin/cards")
	nb.want(200, "初めてのログインです")
	nb.post("/admin/password", url.Values{"current_password": {initial}, "new_password": {"green tea at the counter"}, "new_password2": {"green tea at the counter"}})
	nb.want(200, "パスワードを変更しました")

	// Disabling ends the live session at once: even re-enabled before its next request, the
	// session is gone (requireStaff alone would let it through then).
	b.get("/admin/accounts/" + newbie.ID.String())
	b.want(200, "アカウントの無効化")
	b.post("/admin/accounts/"+newbie.ID.String()+"/disable", url.Values{})
	b.want(200, "アカウントを無効にしました", "無効")
	b.post("/admin/accounts/"+newbie.ID.String()+"/enable", url.Values{})
	b.want(200, "アカウントを有効にしました")
	nb.get("/admin")
	nb.want(200, "職員ログイン")
	admLogin(t, nb, "newbie", "green tea at the counter")
	b.post("/admin/accounts/"+newbie.ID.String()+"/disable", url.Values{})
	b.want(200, "アカウントを無効にしました")
	nb.get("/admin/cards")
	nb.want(200, "職員ログイン")
	nb.post("/admin/login", url.Values{"login_id": {"newbie"}, "password": {"green tea at the counter"}})
	nb.want(401)
	b.post("/admin/accounts/"+newbie.ID.String()+"/enable", url.Values{})
	b.want(200, "アカウントを有効にしました")

	// Reset: a new initial password, the old password stops working, the session ends.
	admLogin(t, nb, "newbie", "green tea at the counter")
	b.post("/admin/accounts/"+newbie.ID.String()+"/reset", url.Values{})
	b.want(200, "初期パスワードを再発行しました", "72時間")
	again := firstMatch(t, initialPasswordRE.String(), b.last)
	if again == initial {
		t.Fatal("the reset issued the same password")
	}
	nb.get("/admin")
	nb.want(200, "職員ログイン")
	nb.post("/admin/login", url.Values{"login_id": {"newbie"}, "password": {"green tea at the counter"}})
	nb.want(401)
	nb.post("/admin/login", url.Values{"login_id": {"newbie"}, "password": {again}})
	nb.want(200, "初めてのログインです")

	// Unlock after ten failures.
	lb := newBrowser(t, addr, host)
	lb.get("/admin/login")
	for range 10 {
		lb.post("/admin/login", url.Values{"login_id": {"clerk"}, "password": {"guess"}})
	}
	b.get("/admin/accounts")
	b.want(200, "ログイン制限中")
	b.get("/admin/accounts/" + clerk.ID.String())
	b.post("/admin/accounts/"+clerk.ID.String()+"/unlock", url.Values{})
	b.want(200, "ログイン制限を解除しました")
	admLogin(t, lb, "clerk", "clerk password one")

	// Role change: the clerk becomes an admin, and their session ends so it applies at once.
	b.post("/admin/accounts/"+clerk.ID.String()+"/role", url.Values{"role": {"admin"}})
	b.want(200, "権限を変更しました")
	lb.get("/admin")
	lb.want(200, "職員ログイン")
	admLogin(t, lb, "clerk", "clerk password one")
	lb.get("/admin/accounts")
	lb.want(200, "職員アカウント")
	b.post("/admin/accounts/"+clerk.ID.String()+"/role", url.Values{"role": {"staff"}})
	b.want(200, "権限を変更しました")

	// An admin cannot disable, demote or reset themselves: no such buttons, and the forms are 403.
	b.get("/admin/accounts/" + boss.ID.String())
	b.want(200, "ご自身のアカウントです")
	if strings.Contains(b.last, "/disable") || strings.Contains(b.last, "/role") || strings.Contains(b.last, "/reset") {
		t.Error("the admin's own page offers disable, role or reset")
	}
	page = b.last
	for _, path := range []string{"/disable", "/role", "/reset"} {
		b.last = page
		b.post("/admin/accounts/"+boss.ID.String()+path, url.Values{"role": {"staff"}})
		b.want(403, "ご自身のアカウント")
	}
	if got, _ := admAccounts(e).ByID(ctx, e.city, boss.ID); got.Disabled || got.Role != tenant.RoleAdmin {
		t.Fatalf("the admin changed themselves: %+v", got)
	}

	// Another city's account id (or a malformed one) is 404 through every URL; nothing changes.
	for _, id := range []string{foreign.ID.String(), "nope"} {
		b.get("/admin/accounts/" + id)
		b.want(404)
		for _, action := range []string{"/reset", "/unlock", "/disable", "/enable", "/role"} {
			b.last = page
			b.post("/admin/accounts/"+id+action, url.Values{"role": {"admin"}})
			b.want(404)
		}
	}
	if got, _ := admAccounts(e).ByID(ctx, other, foreign.ID); got.Disabled || got.Role != tenant.RoleStaff || got.MustChange {
		t.Errorf("the other city's account changed: %+v", got)
	}

	// CSRF on every form.
	for _, path := range []string{"/admin/accounts", "/admin/accounts/" + clerk.ID.String() + "/reset", "/admin/accounts/" + clerk.ID.String() + "/unlock",
		"/admin/accounts/" + clerk.ID.String() + "/disable", "/admin/accounts/" + clerk.ID.String() + "/enable",
		"/admin/accounts/" + clerk.ID.String() + "/role", "/admin/audit/export"} {
		b.post(path, url.Values{"login_id": {"csrf"}, "display_name": {"x"}, "role": {"admin"}, "_csrf": {"forged"}})
		b.want(403)
		b.post(path, url.Values{"login_id": {"csrf"}, "display_name": {"x"}, "role": {"admin"}, "_nocsrf": {"1"}})
		b.want(403)
	}
	if got, _ := admAccounts(e).ByID(ctx, e.city, clerk.ID); got.Disabled || got.Role != tenant.RoleStaff {
		t.Errorf("a forged form changed the clerk: %+v", got)
	}

	// Every write is in the audit log, by the admin, with before/after, and no password anywhere.
	for _, want := range [][]string{
		{"boss account.create newbie", `"role": "staff"`},
		{"boss account.disable newbie", `{"disabled": false} {"disabled": true}`},
		{"boss account.enable newbie"},
		{"boss account.reset_password newbie", `"must_change": true`},
		{"boss account.unlock clerk", `"failed_count": 10`},
		{"boss account.role clerk", `{"role": "staff"} {"role": "admin"}`},
	} {
		admAuditHas(t, e, e.city, want...)
	}
	for _, row := range admAudit(t, e, e.city) {
		for _, pw := range []string{initial, again, "green tea at the counter"} {
			if strings.Contains(row, pw) {
				t.Errorf("the audit log holds a password: %s", row)
			}
		}
	}
}

// TestAdminAuditHTTP covers the audit screen: filters, pagination, and the CSV export (BOM,
// CRLF, formula cells defused) that is itself audit-logged with its row count and hash.
func TestAdminAuditHTTP(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	admAccount(t, e, e.city, "boss", tenant.RoleAdmin, "boss password one")
	other := tenanttestCity(t, e)
	if err := admAccounts(e).RecordAudit(ctx, other, tenant.AuditEntry{Actor: "spy", Action: "card.view", Target: "other-city"}); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, e)
	host := e.city.Slug + ".localhost"

	// A failed login whose login id is a spreadsheet formula: it reaches the log (lower-cased).
	evil := newBrowser(t, addr, host)
	evil.get("/admin/login")
	evil.post("/admin/login", url.Values{"login_id": {`=HYPERLINK("http://evil.example","x")`}, "password": {"whatever"}})
	evil.want(401)
	for i := range 60 {
		if err := admAccounts(e).RecordAudit(ctx, e.city, tenant.AuditEntry{Actor: "clerk", Action: "card.view", Target: "card:none", IP: "192.0.2." + string(rune('0'+i%10))}); err != nil {
			t.Fatal(err)
		}
	}

	b := newBrowser(t, addr, host)
	admLogin(t, b, "boss", "boss password one")
	b.get("/admin/audit")
	// 60 views, the failed login, boss's creation and login, and the env's own location.
	b.want(200, "監査ログ", "64件", "ログイン", "カードの閲覧", "次のページ", "1 / 2 ページ")
	if strings.Contains(b.last, "spy") || strings.Contains(b.last, "other-city") {
		t.Fatal("the audit screen shows another city's entries")
	}
	b.get("/admin/audit?page=2")
	b.want(200, "2 / 2 ページ", "前のページ")
	b.get("/admin/audit?action=login.failed")
	b.want(200, "1件", "ログイン失敗", "=hyperlink(")
	b.get("/admin/audit?actor=boss&action=login")
	b.want(200, "1件")
	b.get("/admin/audit?from=2000-01-01&to=2000-01-31")
	b.want(200, "0件", "条件に合う記録はありません")
	b.get("/admin/audit?from=2026-13-01")
	b.want(422, "日付は「2026-04-01」の形で入力してください")
	b.get("/admin/audit?from=2026-04-02&to=2026-04-01")
	b.want(422, "終了日は開始日以降にしてください")

	// The export: the same filter, Excel-ready CSV, itself logged with count and hash.
	b.get("/admin/audit")
	resp, err := b.c.PostForm(b.base+"/admin/audit/export", url.Values{"_csrf": {csrfOf(b.last)}, "action": {"login.failed"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	if !bytes.HasPrefix(body, []byte("\xEF\xBB\xBF")) {
		t.Error("the CSV has no UTF-8 BOM")
	}
	if bytes.Count(body, []byte("\r\n")) != 2 || bytes.Count(body, []byte("\n")) != 2 {
		t.Errorf("the CSV lines do not end in CRLF: %q", body)
	}
	rows, err := csv.NewReader(bytes.NewReader(body[3:])).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("CSV: %v, %d rows: %q", err, len(rows), body)
	}
	if rows[0][0] != "日時" || rows[1][2] != "login.failed" || rows[1][3] != "ログイン失敗" {
		t.Errorf("CSV rows = %q", rows)
	}
	if rows[1][1] != "anonymous" || rows[1][4] != `'=hyperlink("http://evil.example","x")` {
		t.Errorf("the formula cell is not defused: %q", rows[1])
	}
	sum := sha256.Sum256(body)
	admAuditHas(t, e, e.city, "boss audit.export", `"rows": 1`, `"sha256": "`+hex.EncodeToString(sum[:])+`"`, `"action": "login.failed"`)

	// The export of a bad filter is refused, and logs nothing.
	b.get("/admin/audit")
	resp, err = b.c.PostForm(b.base+"/admin/audit/export", url.Values{"_csrf": {csrfOf(b.last)}, "from": {"yesterday"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 422 {
		t.Errorf("export with a bad date = %d, want 422", resp.StatusCode)
	}
	n := 0
	for _, r := range admAudit(t, e, e.city) {
		if strings.Contains(r, "audit.export") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d audit.export entries, want 1", n)
	}
}

// admAccounts returns an account service on the env's database.
func admAccounts(e *env) *tenant.Accounts { return e.accounts }

func findAccount(t *testing.T, e *env, login string) *tenant.Account {
	t.Helper()
	var acc tenant.Account
	err := tenant.InTx(context.Background(), e.db.App, e.city.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&acc).Where("login_id = ?", login).Scan(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	return &acc
}
