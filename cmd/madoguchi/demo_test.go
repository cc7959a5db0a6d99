package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/pquerna/otp/totp"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// TestSeedDemoOps: the demo lets this machine reach the ops console and the call center
// (127.0.0.1 and ::1) and prints an issued password for its ops account and its call-center
// supervisor (granted the demo city); until an account finishes its first login, each run issues
// a new one (the old one stops working); after it, the account is left alone.
func TestSeedDemoOps(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	clock := tenanttest.NewClock()
	a := openAppAt(t, testEnv(t, d, ":0"), clock.Now)
	if err := seedDemo(ctx, a); err != nil {
		t.Fatal(err)
	}
	issued, err := seedDemoOps(ctx, a)
	first := issued[demoOpsLogin]
	if err != nil || first == "" || issued[demoCCLogin] == "" {
		t.Fatalf("seedDemoOps = %q, %v; want issued passwords", issued, err)
	}
	for _, console := range []tenant.Console{tenant.ConsoleOps, tenant.ConsoleCallCenter} {
		for _, ip := range []string{"127.0.0.1", "::1"} {
			if ok, err := a.Ops.ConsoleAllowed(ctx, console, ip); err != nil || !ok {
				t.Errorf("ConsoleAllowed(%s, %s) = %v, %v; want allowed", console, ip, ok, err)
			}
		}
	}
	cc, err := a.Ops.ByLogin(ctx, demoCCLogin)
	if err != nil || cc.Role != tenant.OpsRoleSupervisor {
		t.Fatalf("the demo's call-center account = %+v, %v", cc, err)
	}
	if grants, err := a.Ops.Grants(ctx, cc.ID); err != nil || len(grants) != 1 || grants[0].Slug != demoSlug {
		t.Errorf("the demo's call-center account serves %+v, %v; want the demo city", grants, err)
	}
	var out bytes.Buffer
	printDemoOps(&out, "http://%s.localhost:8080", issued)
	for _, want := range []string{"http://ops.localhost:8080/", "initial password: " + first, "http://callcenter.localhost:8080/", "initial password: " + issued[demoCCLogin]} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printed lacks %q:\n%s", want, out.String())
		}
	}

	again, err := seedDemoOps(ctx, a)
	second := again[demoOpsLogin]
	if err != nil || second == "" || second == first {
		t.Fatalf("seedDemoOps again = %q, %v; want a new password", second, err)
	}
	if _, err := a.Ops.Authenticate(ctx, demoOpsLogin, first, "127.0.0.1"); err == nil {
		t.Error("the first run's password still works")
	}
	acc, err := a.Ops.Authenticate(ctx, demoOpsLogin, second, "127.0.0.1")
	if err != nil || !acc.MustChange || acc.Role != tenant.OpsRoleOps {
		t.Fatalf("login with the printed password = %+v, %v", acc, err)
	}

	// The first login done (a new password, TOTP): the next run leaves the account alone.
	if err := a.Ops.ChangePassword(ctx, acc.ID, second, "a demo member's own passphrase", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	secret, err := tenant.NewOpsTOTPSecret(demoOpsLogin)
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCode(secret, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Ops.EnableTOTP(ctx, acc.ID, secret, code, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if third, err := seedDemoOps(ctx, a); err != nil || third[demoOpsLogin] != "" {
		t.Errorf("seedDemoOps after the first login = %q, %v; want nothing issued for %s", third, err, demoOpsLogin)
	}
	if _, err := a.Ops.Authenticate(ctx, demoOpsLogin, "a demo member's own passphrase", "127.0.0.1"); err != nil {
		t.Errorf("the member's own password after another run: %v", err)
	}
	out.Reset()
	printDemoOps(&out, "http://%s.localhost:8080", nil)
	if strings.Contains(out.String(), "initial password") || !strings.Contains(out.String(), "ops account reset "+demoOpsLogin) {
		t.Errorf("printed for a set-up account:\n%s", out.String())
	}
}
