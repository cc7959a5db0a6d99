package tenant_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

func mustCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTOTP walks one account through enrolment, two-step logins (skew, replay, wrong codes up to
// the lockout), disabling and the admin's reset, on a fixed clock.
func TestTOTP(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	tn := tenanttest.MustCreateTenant(t, d.App)
	clk := &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)} // on a 30-second boundary
	accs := tenant.NewAccounts(d.App, clk.now)
	acc, err := accs.Create(ctx, tn, "suzuki", "鈴木", tenant.RoleStaff, "x-initial-password", "admin1")
	if err != nil {
		t.Fatal(err)
	}
	const pw = "a long staff password"
	if err := accs.SetPasswordNoChange(ctx, tn, "suzuki", pw); err != nil {
		t.Fatal(err)
	}
	secret, err := tenant.NewTOTPSecret(tn, "suzuki")
	if err != nil || len(secret) != 32 {
		t.Fatalf("NewTOTPSecret = %q, %v; want 32 base32 characters", secret, err)
	}
	if url, err := tenant.TOTPURL(tn, "suzuki", secret); err != nil || !strings.HasPrefix(url, "otpauth://totp/") || !strings.Contains(url, "secret="+secret) {
		t.Fatalf("TOTPURL = %q, %v", url, err)
	}

	// Enrolment needs the current password (re-authentication): a wrong one or a wrong code
	// changes nothing; the right ones (the code typed full-width, with a space) enable.
	if err := accs.EnableTOTP(ctx, tn, acc.ID, pw, secret, "000000", "192.0.2.1"); tenant.AsError(err) == nil || tenant.AsError(err).Fields["code"] != "mfa.code.wrong" {
		t.Fatalf("EnableTOTP(wrong code) = %v; want invalid code", err)
	}
	code := mustCode(t, secret, clk.now())
	if err := accs.EnableTOTP(ctx, tn, acc.ID, "not the password", secret, code, "192.0.2.1"); tenant.AsError(err) == nil || tenant.AsError(err).Fields["password"] != "staff.password.current_wrong" {
		t.Fatalf("EnableTOTP(wrong password) = %v; want invalid password", err)
	}
	fw := strings.Map(func(r rune) rune { return r - '0' + '０' }, code[:3]) + " " + code[3:]
	if err := accs.EnableTOTP(ctx, tn, acc.ID, pw, secret, fw, "192.0.2.1"); err != nil {
		t.Fatalf("EnableTOTP(%q) = %v", fw, err)
	}
	if err := accs.EnableTOTP(ctx, tn, acc.ID, pw, secret, mustCode(t, secret, clk.now().Add(30*time.Second)), ""); tenant.ErrorCode(err) != tenant.Conflict {
		t.Errorf("EnableTOTP twice = %v; want conflict", err)
	}
	got, _ := accs.ByID(ctx, tn, acc.ID)
	if !got.TOTPEnabled || got.TOTPSecret != secret {
		t.Fatalf("after enrolment: enabled=%v", got.TOTPEnabled)
	}

	// The enrolment code was used: the same step is refused at login (replay) and counts.
	clk.add(10 * time.Second)
	if _, err := accs.Authenticate(ctx, tn, "suzuki", pw, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := accs.VerifyLoginCode(ctx, tn, acc.ID, code, "192.0.2.1"); tenant.AsError(err) == nil || tenant.AsError(err).Key != "mfa.code.used" {
		t.Fatalf("replayed code = %v; want mfa.code.used", err)
	}
	// One step ahead (the phone's clock runs 30 s fast) is accepted, and then that code is spent.
	ahead := mustCode(t, secret, clk.now().Add(30*time.Second))
	if a, err := accs.VerifyLoginCode(ctx, tn, acc.ID, ahead, "192.0.2.1"); err != nil || a.FailedCount != 0 {
		t.Fatalf("code of the next step = %+v, %v; want login with failures cleared", a, err)
	}
	if _, err := accs.VerifyLoginCode(ctx, tn, acc.ID, ahead, "192.0.2.1"); tenant.AsError(err) == nil || tenant.AsError(err).Key != "mfa.code.used" {
		t.Fatalf("the same code twice = %v; want mfa.code.used", err)
	}
	// Two steps away is wrong; one step behind (after the last used one) is right.
	clk.add(90 * time.Second)
	if _, err := accs.VerifyLoginCode(ctx, tn, acc.ID, mustCode(t, secret, clk.now().Add(-60*time.Second)), ""); tenant.AsError(err) == nil || tenant.AsError(err).Key != "mfa.code.wrong" {
		t.Fatalf("code two steps old = %v; want mfa.code.wrong", err)
	}
	if _, err := accs.VerifyLoginCode(ctx, tn, acc.ID, mustCode(t, secret, clk.now().Add(-30*time.Second)), ""); err != nil {
		t.Fatalf("code one step old = %v; want accepted", err)
	}

	// Wrong codes count toward the password lockout, and a right password does not clear them.
	clk.add(time.Minute)
	for i := range 9 {
		if _, err := accs.VerifyLoginCode(ctx, tn, acc.ID, "123456x", ""); tenant.ErrorCode(err) != tenant.Unauthorized {
			t.Fatalf("wrong code %d = %v; want unauthorized", i+1, err)
		}
		if _, err := accs.Authenticate(ctx, tn, "suzuki", pw, ""); err != nil {
			t.Fatalf("password after %d wrong codes = %v", i+1, err)
		}
	}
	if _, err := accs.VerifyLoginCode(ctx, tn, acc.ID, "999999", ""); tenant.ErrorCode(err) != tenant.Unauthorized {
		t.Fatalf("10th wrong code = %v", err)
	}
	if _, err := accs.VerifyLoginCode(ctx, tn, acc.ID, mustCode(t, secret, clk.now()), ""); tenant.ErrorCode(err) != tenant.Throttled {
		t.Fatalf("right code while locked = %v; want throttled", err)
	}
	// The locked account answers like an unknown one (the lock is not revealed).
	if _, err := accs.Authenticate(ctx, tn, "suzuki", pw, ""); tenant.AsError(err) == nil || tenant.AsError(err).Key != "staff.login.failed" {
		t.Fatalf("password while locked = %v; want unauthorized staff.login.failed", err)
	}
	clk.add(16 * time.Minute)
	if _, err := accs.VerifyLoginCode(ctx, tn, acc.ID, mustCode(t, secret, clk.now()), ""); err != nil {
		t.Fatalf("right code after the lock = %v", err)
	}

	// Disabling needs the password and a fresh code; while the city requires TOTP it is refused.
	clk.add(time.Minute)
	err = accs.DisableTOTP(ctx, tn, acc.ID, "wrong password!", "000000", "")
	if e := tenant.AsError(err); e == nil || e.Fields["password"] == "" || e.Fields["code"] == "" {
		t.Fatalf("DisableTOTP(wrong, wrong) = %v; want both fields", err)
	}
	req := *tn
	req.Settings.TOTPRequired = true
	if err := accs.DisableTOTP(ctx, &req, acc.ID, pw, mustCode(t, secret, clk.now()), ""); tenant.ErrorCode(err) != tenant.Forbidden {
		t.Fatalf("DisableTOTP while required = %v; want forbidden", err)
	}
	if err := accs.DisableTOTP(ctx, tn, acc.ID, pw, mustCode(t, secret, clk.now()), ""); err != nil {
		t.Fatalf("DisableTOTP = %v", err)
	}
	if got, _ := accs.ByID(ctx, tn, acc.ID); got.TOTPEnabled || got.TOTPSecret != "" {
		t.Fatalf("after disable: %+v", got)
	}
	if a, err := accs.Authenticate(ctx, tn, "suzuki", pw, ""); err != nil || a.TOTPEnabled {
		t.Fatalf("password login without TOTP = %v", err)
	}

	// The admin's reset for a lost phone: not for oneself, audit-logged, and the secret is gone.
	if err := accs.EnableTOTP(ctx, tn, acc.ID, pw, secret, mustCode(t, secret, clk.now().Add(30*time.Second)), ""); err != nil {
		t.Fatal(err)
	}
	admin, err := accs.Create(ctx, tn, "kanri", "管理", tenant.RoleAdmin, "x-initial-password", "test")
	if err != nil {
		t.Fatal(err)
	}
	by := tenant.Actor{Channel: tenant.ChannelStaff, AccountID: admin.ID, Login: "kanri", IP: "192.0.2.9"}
	if _, err := accs.ResetTOTP(ctx, tn, admin.ID, by); tenant.ErrorCode(err) != tenant.Forbidden {
		t.Errorf("ResetTOTP(self) = %v; want forbidden", err)
	}
	if a, err := accs.ResetTOTP(ctx, tn, acc.ID, by); err != nil || a.TOTPEnabled {
		t.Fatalf("ResetTOTP = %+v, %v", a, err)
	}
	other := tenanttest.MustCreateTenant(t, d.App)
	if _, err := accs.ResetTOTP(ctx, other, acc.ID, by); tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("ResetTOTP from another city = %v; want not_found", err)
	}
	log := strings.Join(auditLog(t, d.App, tn), "\n")
	for _, want := range []string{"suzuki mfa.enable suzuki", "suzuki login.password_ok", "suzuki login.mfa_failed", `suzuki login  - {"mfa": true}`,
		"suzuki mfa.disable suzuki", "kanri account.reset_mfa suzuki"} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, secret) {
		t.Error("the TOTP secret is in the audit log")
	}
}

// TestTOTPConcurrentCode submits one code from 8 requests at once: exactly one logs in, the
// rest are refused as a replay.
func TestTOTPConcurrentCode(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	tn := tenanttest.MustCreateTenant(t, d.App)
	clk := &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	accs := tenant.NewAccounts(d.App, clk.now)
	acc, err := accs.Create(ctx, tn, "ito", "伊藤", tenant.RoleStaff, "x-initial-password", "admin1")
	if err != nil {
		t.Fatal(err)
	}
	if err := accs.SetPasswordNoChange(ctx, tn, "ito", "ito's staff password"); err != nil {
		t.Fatal(err)
	}
	secret, _ := tenant.NewTOTPSecret(tn, "ito")
	if err := accs.EnableTOTP(ctx, tn, acc.ID, "ito's staff password", secret, mustCode(t, secret, clk.now()), ""); err != nil {
		t.Fatal(err)
	}
	code := mustCode(t, secret, clk.now().Add(30*time.Second))
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string]int{}
	for range 8 { // fewer than the 10 failures that lock the account
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := accs.VerifyLoginCode(ctx, tn, acc.ID, code, "")
			key := "ok"
			if e := tenant.AsError(err); e != nil {
				key = e.Key
			} else if err != nil {
				key = err.Error()
			}
			mu.Lock()
			results[key]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if results["ok"] != 1 || results["mfa.code.used"] != 7 {
		t.Errorf("8 concurrent submissions of one code: %v; want 1 ok and 7 mfa.code.used", results)
	}
}

func TestParseAllowList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
		bad  []int
	}{
		{name: "empty", in: "\n  \n"},
		{name: "addresses and CIDRs, normalised", in: "10.20.3.4/16\n192.0.2.7\r\n 2001:db8::1 \n::ffff:198.51.100.1\n",
			want: []string{"10.20.0.0/16", "192.0.2.7/32", "2001:db8::1/128", "198.51.100.1/32"}},
		{name: "bad lines by number", in: "10.0.0.0/8\n10.0.0.300\n\nlgwan\n10.0.0.0/33\nfe80::1%eth0",
			want: []string{"10.0.0.0/8"}, bad: []int{2, 4, 5, 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, bad := tenant.ParseAllowList(tc.in)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("ParseAllowList(%q) = %v, want %v", tc.in, got, tc.want)
			}
			var lines []int
			for _, b := range bad {
				lines = append(lines, b.Line)
			}
			if fmt.Sprint(lines) != fmt.Sprint(tc.bad) && len(lines)+len(tc.bad) > 0 {
				t.Errorf("bad lines = %v, want %v", lines, tc.bad)
			}
		})
	}
	list := []string{"10.0.0.0/8", "192.0.2.7/32"}
	for ip, want := range map[string]bool{"10.1.2.3": true, "192.0.2.7": true, "192.0.2.8": false, "::ffff:10.0.0.1": true, "": false, "garbage": false} {
		if got := tenant.AllowListContains(list, ip); got != want {
			t.Errorf("AllowListContains(%q) = %v, want %v", ip, got, want)
		}
	}
	if !(tenant.Settings{}).AdminAllowed("203.0.113.1") {
		t.Error("an empty allow-list must allow everyone")
	}
}
