package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/madoguchi/madoguchi/tenant"
)

// The ops console's host in the tests (BASE_DOMAIN=localhost), and the password opsMember's
// accounts choose at their first login.
const (
	opsHost     = "ops.localhost"
	opsPassword = "quiet harbour lanterns at dusk"
)

// opsAccount creates a vendor account as the madoguchi command does and returns it with its
// issued password.
func opsAccount(t *testing.T, e *env, login string, role tenant.OpsRole) (*tenant.OpsAccount, string) {
	t.Helper()
	acc, initial, err := e.ops.Create(context.Background(), login, "テスト "+login, role, tenant.VendorCLI())
	if err != nil {
		t.Fatalf("OpsAccounts.Create(%s): %v", login, err)
	}
	return acc, initial
}

// opsAllow puts a network on the ops console's allow-list as the madoguchi command does.
func opsAllow(t *testing.T, e *env, cidr string) {
	t.Helper()
	if _, err := e.ops.Allow(context.Background(), tenant.ConsoleOps, cidr, "test", tenant.VendorCLI()); err != nil {
		t.Fatalf("OpsAccounts.Allow(%s): %v", cidr, err)
	}
}

// vendorConsole is a vendor console as the tests recognise its pages: the login page's heading
// and the top page's title.
type vendorConsole struct{ login, home string }

var (
	opsConsole = vendorConsole{login: "運用管理 ログイン", home: "運用管理のトップ"}
	ccConsole  = vendorConsole{login: "コールセンター ログイン", home: "市区町村の選択"}
)

// opsFirstLogin logs b in for the first time on the ops console (vendorFirstLogin).
func opsFirstLogin(t *testing.T, e *env, b *browser, login, initial, pw string) string {
	t.Helper()
	return vendorFirstLogin(t, e, b, opsConsole, login, initial, pw)
}

// vendorFirstLogin logs b in for the first time on console k (the issued password, a new one,
// the TOTP enrolment) and returns the secret the enrolment page showed; b ends on the top page.
func vendorFirstLogin(t *testing.T, e *env, b *browser, k vendorConsole, login, initial, pw string) string {
	t.Helper()
	b.get("/login")
	b.want(200, k.login)
	b.post("/login", url.Values{"login_id": {login}, "password": {initial}})
	b.want(200, "パスワードの変更", "渡された初期パスワード")
	b.post("/password", url.Values{"current_password": {initial}, "new_password": {pw}, "new_password2": {pw}})
	b.want(200, "認証アプリの設定", `<img class="qr" src="data:image/png;base64,`)
	secret := strings.ReplaceAll(firstMatch(t, `id="mfa-secret">([A-Z2-7 ]+)<`, b.last), " ", "")
	b.post("/mfa", url.Values{"code": {totpCode(t, e, secret, 0)}})
	b.want(200, k.home, "でログイン中")
	return secret
}

// opsLogin logs b in with the password and a code. The env's clock moves on a minute first, so
// the code is never that of a step the account used before.
func opsLogin(t *testing.T, e *env, b *browser, login, pw, secret string) {
	t.Helper()
	e.clock.Add(time.Minute)
	b.get("/login")
	b.post("/login", url.Values{"login_id": {login}, "password": {pw}})
	b.want(200, "確認コードの入力", "madoguchi 事業者")
	b.post("/login/code", url.Values{"code": {totpCode(t, e, secret, 0)}})
	b.want(200, opsConsole.home)
}

// opsMember is a logged-in member of the ops team on the ops host.
func opsMember(t *testing.T, e *env, addr, login string) (*browser, *tenant.OpsAccount) {
	t.Helper()
	acc, initial := opsAccount(t, e, login, tenant.OpsRoleOps)
	b := newBrowser(t, addr, opsHost)
	opsFirstLogin(t, e, b, login, initial, opsPassword)
	return b, acc
}

// cookieOf returns the value of b's cookie name on its host, or "".
func cookieOf(b *browser, name string) string {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// rawGet sends a GET to host with exactly the cookies given (nothing from a jar) and does not
// follow redirects; it returns the response and its body.
func rawGet(t *testing.T, addr, host, path string, cookies map[string]string) (*http.Response, string) {
	t.Helper()
	return rawDo(t, addr, "GET", host, path, cookies, nil)
}

// rawDo sends one request with exactly the cookies given and the form (for a POST), without
// following redirects.
func rawDo(t *testing.T, addr, method, host, path string, cookies map[string]string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, "http://"+host+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	c := newBrowser(t, addr, host).c
	c.Jar = nil
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s%s: %v", method, host, path, err)
	}
	defer resp.Body.Close()
	buf := new(strings.Builder)
	_, _ = io_Copy(buf, resp)
	return resp, buf.String()
}
