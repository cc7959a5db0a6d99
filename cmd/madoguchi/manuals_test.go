package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
	"github.com/madoguchi/madoguchi/ui/uitest"
)

// manualFiles are the PDF files `make manuals` writes (ui/e2e/manuals.mjs names them).
var manualFiles = []string{"staff-manual.pdf", "operations-manual.pdf", "citizen-guide.pdf",
	"callcenter-operator-manual.pdf", "ops-console-help.pdf"}

// TestManuals is `make manuals`: the demo city and the vendor's demo accounts as `madoguchi demo`
// seeds them, the web app on a free port, and Chromium printing each in-app manual and the demo
// city's citizen guide to A4 PDF files in MADOGUCHI_MANUALS_DIR; each file must have pages. Not
// part of `make test` (it skips without the variable); the guide's browser test runs the same
// printing code.
func TestManuals(t *testing.T) {
	out := os.Getenv("MADOGUCHI_MANUALS_DIR")
	if out == "" {
		t.Skip("set MADOGUCHI_MANUALS_DIR (make manuals)")
	}
	out, err := filepath.Abs(out)
	if err != nil {
		t.Fatal(err)
	}
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	// The wall clock: the browser computes the vendor accounts' TOTP codes from it.
	a := openAppAt(t, testEnv(t, d, ":0"), time.Now)
	if err := seedDemo(ctx, a); err != nil {
		t.Fatal(err)
	}
	initial, err := seedDemoOps(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	vendor := map[string]map[string]string{}
	for _, v := range demoVendors {
		vendor[v.host] = manualsVendorLogin(t, a, v.login, initial[v.login])
	}
	web, err := a.Web()
	if err != nil {
		t.Fatal(err)
	}
	base := uitest.Serve(t, web)
	_, port, _ := net.SplitHostPort(base[len("http://"):])
	url := func(host string) string { return fmt.Sprintf("http://%s.%s:%s", host, a.Config.BaseDomain, port) }
	vendor["ops"]["url"], vendor["callcenter"]["url"] = url("ops"), url("callcenter")
	for _, f := range manualFiles {
		_ = os.Remove(filepath.Join(out, f)) // a file left from an earlier run must not pass for this one's
	}
	uitest.RunScript(t, "manuals.mjs", url(demoSlug), map[string]any{
		"out":  out,
		"city": map[string]string{"url": url(demoSlug), "login": demoAdminLogin, "password": demoAdminPass},
		"ops":  vendor["ops"], "callcenter": vendor["callcenter"],
	})
	for _, f := range manualFiles {
		path := filepath.Join(out, f)
		n, err := uitest.PDFPages(path)
		if err != nil || n == 0 {
			t.Errorf("%s: %d pages, %v", path, n, err)
			continue
		}
		st, _ := os.Stat(path)
		t.Logf("%s: %d pages, %d bytes", path, n, st.Size())
	}
}

// manualsVendorLogin finishes a demo vendor account's first login as its owner would (a new
// password, an authenticator app) and returns what the script needs to log in.
func manualsVendorLogin(t *testing.T, a *App, login, issued string) map[string]string {
	t.Helper()
	ctx := context.Background()
	acc, err := a.Ops.ByLogin(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	const pw = "a manual printer's passphrase"
	if err := a.Ops.ChangePassword(ctx, acc.ID, issued, pw, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	secret, err := tenant.NewOpsTOTPSecret(login)
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Ops.EnableTOTP(ctx, acc.ID, secret, code, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"login": login, "password": pw, "secret": secret}
}
