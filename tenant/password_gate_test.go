package tenant_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// TestPasswordChecksAreGated: with every slot of the password gate taken, a login waits outside
// any transaction (no database connection held) and is refused with throttled
// "staff.login.busy"; once a slot is free, logins run again. Parallel logins never run more
// password checks at once than the gate has slots.
func TestPasswordChecksAreGated(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	city := tenanttest.MustCreateTenant(t, d.App)
	accs := tenant.NewAccounts(d.App, nil)
	if _, err := accs.Create(ctx, city, "gate.clerk", "ゲート", tenant.RoleStaff, "x-initial-password", "test"); err != nil {
		t.Fatal(err)
	}
	if err := accs.SetPasswordNoChange(ctx, city, "gate.clerk", "gate password one"); err != nil {
		t.Fatal(err)
	}
	restore := tenant.SetPasswordWait(300 * time.Millisecond)
	defer restore()

	held := tenant.HoldPasswordSlots(tenant.PasswordSlots())
	errc := make(chan error, 1)
	go func() {
		_, err := accs.Authenticate(ctx, city, "gate.clerk", "gate password one", "192.0.2.1")
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if n := d.App.Stats().InUse; n != 0 {
		t.Errorf("a login waiting for the gate holds %d database connections", n)
	}
	if err := <-errc; tenant.AsError(err) == nil || tenant.AsError(err).Key != "staff.login.busy" {
		t.Fatalf("login with every slot taken = %v, want throttled staff.login.busy", err)
	}
	held()

	var wg sync.WaitGroup
	errs := make(chan error, 3*tenant.PasswordSlots())
	for range 3 * tenant.PasswordSlots() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := accs.Authenticate(ctx, city, "gate.clerk", "wrong password", "192.0.2.1")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if c := tenant.ErrorCode(err); c != tenant.Unauthorized && c != tenant.Throttled {
			t.Errorf("a parallel wrong login = %v", err)
		}
	}
	if max := tenant.MaxPasswordChecks(); max > tenant.PasswordSlots() {
		t.Errorf("%d password checks ran at once, the gate has %d slots", max, tenant.PasswordSlots())
	}
}

// TestCurrentPasswordChecksLimited: the current-password checks of a logged-in member (password
// change, TOTP enrolment and removal) share one per-account limit: 5 failures in 15 minutes, then
// every check is refused, the right password too, without counting toward the login lockout;
// 20 wrong checks sent at once are judged at most 5 times. After the window the right password
// works again and clears the count. Vendor accounts have the same limit on their password change.
func TestCurrentPasswordChecksLimited(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	tn := tenanttest.MustCreateTenant(t, p.d.App)
	acc, err := p.accs.Create(ctx, tn, "recheck.clerk", "確認", tenant.RoleStaff, "x-initial-password", "test")
	if err != nil {
		t.Fatal(err)
	}
	const pw = "recheck password one"
	if err := p.accs.SetPasswordNoChange(ctx, tn, "recheck.clerk", pw); err != nil {
		t.Fatal(err)
	}
	secret, _ := tenant.NewTOTPSecret(tn, "recheck.clerk")

	// Five failures spread over the three checks, then 20 at once: all refused as throttled.
	wrong := []func() error{
		func() error {
			return p.accs.ChangePassword(ctx, tn, acc.ID, "wrong password 1", "recheck password two")
		},
		func() error {
			return p.accs.EnableTOTP(ctx, tn, acc.ID, "wrong password 2", secret, p.code(t, secret, 0), "")
		},
		func() error {
			return p.accs.ChangePassword(ctx, tn, acc.ID, "wrong password 3", "recheck password two")
		},
		func() error {
			return p.accs.EnableTOTP(ctx, tn, acc.ID, "wrong password 4", secret, p.code(t, secret, 0), "")
		},
	}
	limited := tenant.RecheckLimited(tenant.RecheckStaff)
	for i, f := range wrong {
		if err := f(); tenant.ErrorCode(err) != tenant.Invalid {
			t.Fatalf("wrong check %d = %v, want invalid", i+1, err)
		}
	}
	if got := tenant.RecheckLimited(tenant.RecheckStaff) - limited; got != 0 {
		t.Errorf("re-check limit reached %d times after 4 failures, want 0", got)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- p.accs.ChangePassword(ctx, tn, acc.ID, fmt.Sprintf("wrong parallel %02d", i), "recheck password two")
		}()
	}
	wg.Wait()
	close(errs)
	judged := 0
	for err := range errs {
		switch e := tenant.AsError(err); {
		case e != nil && e.Code == tenant.Invalid:
			judged++
		case e != nil && (e.Key == "staff.password.recheck_limited" || e.Key == "staff.login.busy"):
		default:
			t.Errorf("a parallel wrong check = %v", err)
		}
	}
	if judged != 1 {
		t.Errorf("%d of 20 parallel wrong checks were judged after 4 failures, want 1 (the limit is 5)", judged)
	}
	// The 5th failure reached the limit: counted once for the metric, beside its audit entry.
	if got := tenant.RecheckLimited(tenant.RecheckStaff) - limited; got != 1 {
		t.Errorf("re-check limit reached %d times after 5 failures and refusals, want 1 (madoguchi_password_recheck_limited_total)", got)
	}
	for name, f := range map[string]func() error{
		"ChangePassword": func() error { return p.accs.ChangePassword(ctx, tn, acc.ID, pw, "recheck password two") },
		"EnableTOTP":     func() error { return p.accs.EnableTOTP(ctx, tn, acc.ID, pw, secret, p.code(t, secret, 0), "") },
	} {
		if e := tenant.AsError(f()); e == nil || e.Code != tenant.Throttled || e.Key != "staff.password.recheck_limited" {
			t.Errorf("%s with the right password while limited = %v, want throttled staff.password.recheck_limited", name, e)
		}
	}
	// The login is not locked by it.
	if _, err := p.accs.Authenticate(ctx, tn, "recheck.clerk", pw, "192.0.2.1"); err != nil {
		t.Errorf("login while the checks are limited = %v", err)
	}
	p.clock.Add(14 * time.Minute)
	if err := p.accs.EnableTOTP(ctx, tn, acc.ID, pw, secret, p.code(t, secret, 0), ""); tenant.ErrorCode(err) != tenant.Throttled {
		t.Errorf("EnableTOTP 14 minutes on = %v, want throttled", err)
	}
	p.clock.Add(time.Minute)
	if err := p.accs.EnableTOTP(ctx, tn, acc.ID, pw, secret, p.code(t, secret, 0), ""); err != nil {
		t.Fatalf("EnableTOTP after the window = %v", err)
	}
	if got, _ := p.accs.ByID(ctx, tn, acc.ID); got.RecheckFailures != 0 || got.RecheckSince != nil || got.FailedCount != 0 {
		t.Errorf("after a right check: recheck %d since %v, login failures %d; want all cleared", got.RecheckFailures, got.RecheckSince, got.FailedCount)
	}
	// Removing TOTP: a wrong password or code counts too.
	for range 5 {
		p.clock.Add(30 * time.Second)
		if err := p.accs.DisableTOTP(ctx, tn, acc.ID, pw, "000000", ""); tenant.ErrorCode(err) != tenant.Invalid {
			t.Fatalf("DisableTOTP(wrong code) = %v", err)
		}
	}
	if err := p.accs.DisableTOTP(ctx, tn, acc.ID, pw, p.code(t, secret, 0), ""); tenant.ErrorCode(err) != tenant.Throttled {
		t.Errorf("DisableTOTP after 5 failures = %v, want throttled", err)
	}
	log := strings.Join(auditLog(t, p.d.App, tn), "\n")
	if n := strings.Count(log, "recheck.clerk password.recheck_failed"); n != 10 {
		t.Errorf("audit log has %d password.recheck_failed rows, want 10:\n%s", n, log)
	}

	// A vendor account's password change.
	op, initial, err := p.ops.Create(ctx, "ops.recheck", "確認 運用", tenant.OpsRoleOps, tenant.VendorCLI())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := p.ops.ChangePassword(ctx, op.ID, fmt.Sprintf("wrong ops password %d", i), "a new ops passphrase", ""); tenant.ErrorCode(err) != tenant.Invalid {
			t.Fatalf("ops wrong check %d = %v", i+1, err)
		}
	}
	if err := p.ops.ChangePassword(ctx, op.ID, initial, "a new ops passphrase", ""); tenant.ErrorCode(err) != tenant.Throttled {
		t.Errorf("ops ChangePassword with the right password while limited = %v, want throttled", err)
	}
	p.clock.Add(15 * time.Minute)
	if err := p.ops.ChangePassword(ctx, op.ID, initial, "a new ops passphrase", ""); err != nil {
		t.Errorf("ops ChangePassword after the window = %v", err)
	}
}
