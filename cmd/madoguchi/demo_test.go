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

// TestSeedDemoOps: the demo lets this machine reach the ops console (127.0.0.1 and ::1) and
// prints an issued password for its ops account; until that account finishes its first login,
// each run issues a new one (the old one stops working); after it, the account is left alone.
func TestSeedDemoOps(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	clock := tenanttest.NewClock()
	a := openAppAt(t, testEnv(t, d, ":0"), clock.Now)
	first, err := seedDemoOps(ctx, a)
	if err != nil || first == "" {
		t.Fatalf("seedDemoOps = %q, %v; want an issued password", first, err)
	}
	for _, ip := range []string{"127.0.0.1", "::1"} {
		if ok, err := a.Ops.ConsoleAllowed(ctx, tenant.ConsoleOps, ip); err != nil || !ok {
			t.Errorf("ConsoleAllowed(%s) = %v, %v; want allowed", ip, ok, err)
		}
	}
	var out bytes.Buffer
	printDemoOps(&out, "http://ops.localhost:8080", first)
	if !strings.Contains(out.String(), "http://ops.localhost:8080/") || !strings.Contains(out.String(), "initial password: "+first) {
		t.Errorf("printed:\n%s", out.String())
	}

	second, err := seedDemoOps(ctx, a)
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
	if third, err := seedDemoOps(ctx, a); err != nil || third != "" {
		t.Errorf("seedDemoOps after the first login = %q, %v; want nothing issued", third, err)
	}
	if _, err := a.Ops.Authenticate(ctx, demoOpsLogin, "a demo member's own passphrase", "127.0.0.1"); err != nil {
		t.Errorf("the member's own password after another run: %v", err)
	}
	out.Reset()
	printDemoOps(&out, "http://ops.localhost:8080", "")
	if strings.Contains(out.String(), "initial password") || !strings.Contains(out.String(), "ops account reset "+demoOpsLogin) {
		t.Errorf("printed for a set-up account:\n%s", out.String())
	}
}
