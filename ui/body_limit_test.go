package ui_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// rawRequest sends head (the request line and headers, without the blank line) and body over a
// new connection and returns the response's status and how long it took to come. The client
// sends only body, whatever Content-Length announced: a server that waited for the rest would
// time out instead of answering.
func rawRequest(t *testing.T, addr, head, body string) (int, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now() // real time: how fast the server answers
	if _, err := fmt.Fprintf(conn, "%s\r\n\r\n%s", strings.ReplaceAll(head, "\n", "\r\n"), body); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Logf("%s: no response: %v", strings.SplitN(head, "\n", 2)[0], err)
		return 0, time.Since(start)
	}
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// TestBodyLimits: every route but the card upload takes at most 1 MiB, decided from the headers
// before the body is read; the upload takes 50 MB plus its form. A request announcing 51 MB to a
// citizen route, with a few bytes sent, is answered 413 at once.
func TestBodyLimits(t *testing.T) {
	e := newEnv(t, nil)
	addr := serve(t, e)
	host := e.city.Slug + ".localhost"
	const mb51 = 51 << 20
	cases := []struct {
		name, head, body string
		want             int
	}{
		{"citizen login, 51 MB announced", "POST /login HTTP/1.1\nHost: " + host +
			"\nContent-Type: application/x-www-form-urlencoded\nContent-Length: " + fmt.Sprint(mb51), "card_no=1", 413},
		{"API session, 51 MB announced", "POST /api/v1/session HTTP/1.1\nHost: " + host +
			"\nContent-Type: application/json\nContent-Length: " + fmt.Sprint(mb51), `{"card_no":`, 413},
		{"staff login, 1 MiB + 1 announced", "POST /admin/login HTTP/1.1\nHost: " + host +
			"\nContent-Type: application/x-www-form-urlencoded\nContent-Length: " + fmt.Sprint(1<<20+1), "login=x", 413},
		{"ops console, 51 MB announced", "POST /login HTTP/1.1\nHost: ops.localhost" +
			"\nContent-Type: application/x-www-form-urlencoded\nContent-Length: " + fmt.Sprint(mb51), "x=1", 413},
		{"unknown host, 51 MB announced", "POST / HTTP/1.1\nHost: nowhere.example" +
			"\nContent-Length: " + fmt.Sprint(mb51), "x=1", 413},
		{"card upload, over 51 MiB announced", "POST /admin/imports HTTP/1.1\nHost: " + host +
			"\nContent-Type: multipart/form-data; boundary=x\nContent-Length: " + fmt.Sprint(51<<20+1), "--x\r\n", 413},
		{"card upload, chunked", "POST /admin/imports HTTP/1.1\nHost: " + host +
			"\nContent-Type: multipart/form-data; boundary=x\nTransfer-Encoding: chunked", "5\r\n--x\r\n\r\n", 411},
		{"compressed body", "POST /login HTTP/1.1\nHost: " + host +
			"\nContent-Type: application/x-www-form-urlencoded\nContent-Encoding: gzip\nContent-Length: 10", "0123456789", 415},
		// A chunked body is read up to the limit: past it 413, below it the route answers (here
		// the CSRF check, as the post has no session).
		{"chunked over 1 MiB", "POST /login HTTP/1.1\nHost: " + host +
			"\nContent-Type: application/x-www-form-urlencoded\nTransfer-Encoding: chunked",
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", 1<<20+1, strings.Repeat("a", 1<<20+1)), 413},
		{"chunked small", "POST /login HTTP/1.1\nHost: " + host +
			"\nContent-Type: application/x-www-form-urlencoded\nTransfer-Encoding: chunked", "3\r\na=1\r\n0\r\n\r\n", 403},
	}
	for _, tc := range cases {
		status, took := rawRequest(t, addr, tc.head, tc.body)
		if status != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, status, tc.want)
		}
		if took > 2*time.Second {
			t.Errorf("%s: answered after %v, want at once", tc.name, took)
		}
	}
}

// TestStaffFormsRefuseControlChars: a staff or admin form with a control character in any field
// is refused with 422 and a plain message before anything changes; tab and line breaks pass.
func TestStaffFormsRefuseControlChars(t *testing.T) {
	e := newEnv(t, nil)
	mustStaffAccount(t, e, "ctl.admin", tenant.RoleAdmin, "admin password for control")
	addr := serve(t, e)
	b := newBrowser(t, addr, e.city.Slug+".localhost")
	staffLogin(t, b, "ctl.admin", "admin password for control")
	b.get("/admin/locations/new")
	csrf := csrfOf(b.last)
	for _, bad := range []string{"本庁\x07", "本庁\x00", "本庁\x1b[31m", "本庁\u0085", "本庁\x7f"} {
		b.post("/admin/locations", url.Values{"_csrf": {csrf}, "name": {bad}, "active": {"on"}})
		b.want(422, "制御文字")
	}
	if !web.HasControlChars("\xff") || web.HasControlChars("一行目\r\n二行目\tタブ") {
		t.Error("HasControlChars: invalid UTF-8 must count, tab and line breaks must not")
	}
}

// TestConsoleFormsRefuseControlChars: the vendor consoles' forms (ops and call center, the login
// form included) refuse a control character in any field with 422 and a plain message before
// anything changes, as the staff forms do.
func TestConsoleFormsRefuseControlChars(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	opsAllow(t, e, "127.0.0.1")
	addr := serve(t, e)
	b, _ := opsMember(t, e, addr, "ops.ctl")
	if _, _, err := e.cities.Onboard(ctx, tenant.OnboardInput{Slug: "tsu", Name: "津市", Code: "242012", AdminLogin: "tsu.admin"}, tenant.VendorCLI()); err != nil {
		t.Fatal(err)
	}
	b.get("/cities/tsu/mail-domains")
	for _, bad := range []string{"city.tsu.example.jp\x07", "city.tsu.example.jp\x00", "\x1b[31mcity.tsu.example.jp", "city.tsu.example.jp\u0085"} {
		b.post("/cities/tsu/mail-domains", url.Values{"mail_domains": {bad}})
		b.want(422, "制御文字")
	}
	if got, _ := e.cities.BySlug(ctx, "tsu"); len(got.MailDomains) != 0 {
		t.Errorf("mail domains after refused posts = %v", got.MailDomains)
	}
	b.get("/accounts/new")
	b.post("/accounts", url.Values{"login_id": {"ops.ctl2"}, "display_name": {"運用\x7f 花子"}, "role": {"ops"}})
	b.want(422, "制御文字")
	if _, err := e.ops.ByLogin(ctx, "ops.ctl2"); tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("an account was created from a refused form: %v", err)
	}
	o := newBrowser(t, addr, opsHost)
	o.get("/login")
	o.post("/login", url.Values{"login_id": {"ops.ctl\x00"}, "password": {opsPassword}})
	o.want(422, "制御文字")

	c, _ := ccOperator(t, e, addr, "cc.ctl", tenant.OpsRoleOperator, e.city)
	city := "/c/" + e.city.Slug
	c.get(city)
	c.post(city+"/verify", url.Values{"card_no": {"123456789\x00"}, "birth": {"0101"}})
	c.want(422, "制御文字")
}
