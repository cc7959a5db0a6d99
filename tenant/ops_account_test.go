package tenant_test

import (
	"context"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp/totp"

	"github.com/madoguchi/madoguchi/tenant"
)

// code returns the TOTP code of secret at the platform's clock moved by d.
func (p *platform) code(t *testing.T, secret string, d time.Duration) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, p.clock.Now().Add(d))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOpsAccountLogin: a vendor account from the command's first step to a login with TOTP; the
// issued password must be changed before TOTP is enrolled, a code works once, and the logs hold
// every step but no password.
func TestOpsAccountLogin(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	acc, initial, err := p.ops.Create(ctx, " Ops.Yamada ", "山田 太郎", tenant.OpsRoleOps, tenant.VendorCLI())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if acc.LoginID != "ops.yamada" || !acc.MustChange || acc.TOTPEnabled || len(initial) != 16 || acc.CreatedBy != "vendor:cli" ||
		!acc.PasswordExpiresAt.Equal(p.clock.Now().Add(72*time.Hour)) {
		t.Fatalf("created %+v", acc)
	}
	_, _, err = p.ops.Create(ctx, "ops.yamada", "別人", tenant.OpsRoleOperator, tenant.VendorCLI())
	wantCode(t, "Create(taken login)", err, tenant.Conflict, "ops.login_id.taken")
	_, _, err = p.ops.Create(ctx, "ops.kato", "加藤", "root", tenant.VendorCLI())
	if e := tenant.AsError(err); e == nil || e.Fields["role"] != "ops.role.invalid" {
		t.Errorf("Create(bad role) = %v", err)
	}
	_, _, err = p.ops.Create(ctx, "X", "", tenant.OpsRoleOps, tenant.VendorCLI())
	if e := tenant.AsError(err); e == nil || !reflect.DeepEqual(e.Fields, map[string]string{"login_id": "staff.login_id.invalid", "display_name": "admin.accounts.name.invalid"}) {
		t.Errorf("Create(bad login and name) = %v (fields %v)", err, fieldsOf(e))
	}
	_, _, err = p.ops.Create(ctx, "ops.kato", "加藤", tenant.OpsRoleOps, tenant.Staff(uuid.New(), "tsu.admin", ""))
	wantCode(t, "Create by a city's staff", err, tenant.Forbidden, "")

	// Password step: wrong and unknown are one message.
	_, err = p.ops.Authenticate(ctx, "ops.yamada", "wrong password", "203.0.113.9")
	wantCode(t, "Authenticate(wrong password)", err, tenant.Unauthorized, "staff.login.failed")
	_, err = p.ops.Authenticate(ctx, "nobody", "wrong password", "203.0.113.9")
	wantCode(t, "Authenticate(unknown login)", err, tenant.Unauthorized, "staff.login.failed")
	got, err := p.ops.Authenticate(ctx, "OPS.YAMADA", initial, "203.0.113.9")
	if err != nil || got.ID != acc.ID || !got.MustChange || got.FailedCount != 1 {
		t.Fatalf("Authenticate(issued password) = %+v, %v; want the account, must change, the failure still counted", got, err)
	}

	// TOTP is enrolled only after the issued password is changed.
	secret, err := tenant.NewOpsTOTPSecret(acc.LoginID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.ops.EnableTOTP(ctx, acc.ID, secret, p.code(t, secret, 0), "203.0.113.9")
	wantCode(t, "EnableTOTP before the password change", err, tenant.Forbidden, "ops.password.change_first")
	for _, tc := range []struct{ pw, field, key string }{
		{"short one", "new_password", "staff.password.too_short"},
		{"my ops.yamada password", "new_password", "staff.password.common"},
		{"madoguchi vendor 2026", "new_password", "staff.password.common"},
	} {
		err := p.ops.ChangePassword(ctx, acc.ID, initial, tc.pw, "203.0.113.9")
		if e := tenant.AsError(err); e == nil || e.Fields[tc.field] != tc.key {
			t.Errorf("ChangePassword(%q) = %v, want %s", tc.pw, err, tc.key)
		}
	}
	if err := p.ops.ChangePassword(ctx, acc.ID, "not the password", "a long new passphrase", "203.0.113.9"); tenant.AsError(err) == nil {
		t.Error("ChangePassword with a wrong current password succeeded")
	}
	if err := p.ops.ChangePassword(ctx, acc.ID, initial, "a long new passphrase", "203.0.113.9"); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	_, err = p.ops.EnableTOTP(ctx, acc.ID, secret, "000000", "203.0.113.9")
	wantCode(t, "EnableTOTP(wrong code)", err, tenant.Invalid, "")
	on, err := p.ops.EnableTOTP(ctx, acc.ID, secret, p.code(t, secret, 0), "203.0.113.9")
	if err != nil || !on.TOTPEnabled || on.FailedCount != 0 {
		t.Fatalf("EnableTOTP = %+v, %v; want TOTP on and the failures cleared", on, err)
	}
	_, err = p.ops.EnableTOTP(ctx, acc.ID, secret, p.code(t, secret, 30*time.Second), "203.0.113.9")
	wantCode(t, "EnableTOTP(again)", err, tenant.Conflict, "mfa.enable.already")
	u, err := tenant.OpsTOTPURL(acc.LoginID, secret)
	if err != nil || !strings.Contains(u, url.PathEscape("madoguchi 事業者")) && !strings.Contains(u, url.QueryEscape("madoguchi 事業者")) {
		t.Errorf("OpsTOTPURL = %q, %v; want the vendor issuer", u, err)
	}

	// The next login: password, then a code, each code once.
	p.clock.Add(time.Minute)
	if _, err := p.ops.Authenticate(ctx, "ops.yamada", "a long new passphrase", "203.0.113.9"); err != nil {
		t.Fatalf("Authenticate(new password): %v", err)
	}
	_, err = p.ops.VerifyLoginCode(ctx, acc.ID, "123456", "203.0.113.9")
	wantCode(t, "VerifyLoginCode(wrong)", err, tenant.Unauthorized, "mfa.code.wrong")
	c := p.code(t, secret, 0)
	if in, err := p.ops.VerifyLoginCode(ctx, acc.ID, c, "203.0.113.9"); err != nil || in.FailedCount != 0 {
		t.Fatalf("VerifyLoginCode = %+v, %v", in, err)
	}
	_, err = p.ops.VerifyLoginCode(ctx, acc.ID, c, "203.0.113.9")
	wantCode(t, "VerifyLoginCode(the same code again)", err, tenant.Unauthorized, "mfa.code.used")

	log := strings.Join(p.opsLog(t), "\n")
	for _, w := range []string{"vendor:cli platform.account.create ops.yamada", "anonymous login.failed nobody", "vendor:ops.yamada login.failed",
		"vendor:ops.yamada login.password_ok", "vendor:ops.yamada password.change", "vendor:ops.yamada mfa.enable ops.yamada",
		"vendor:ops.yamada login.mfa_failed", "vendor:ops.yamada login"} {
		if !strings.Contains(log, w) {
			t.Errorf("vendor's log lacks %q:\n%s", w, log)
		}
	}
	var all []string
	if err := p.d.App.NewRaw(`SELECT concat_ws(' ', before::text, after::text) FROM ops_audit_log`).Scan(ctx, &all); err != nil {
		t.Fatal(err)
	}
	if s := strings.Join(all, " "); strings.Contains(s, initial) || strings.Contains(s, "a long new passphrase") || strings.Contains(s, secret) {
		t.Error("the vendor's log holds a password or a TOTP secret")
	}
}

// TestOpsAccountLockout: the staff lockout holds for vendor accounts (10 failures → 15 minutes,
// the 20th → 24 hours, never for good; a locked account answers like an unknown login id),
// wrong codes count too; an expired issued password and a disabled account
// cannot log in; Reset unlocks and, on request, clears TOTP.
func TestOpsAccountLockout(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	acc, initial, err := p.ops.Create(ctx, "cc.suzuki", "鈴木", tenant.OpsRoleOperator, vendor)
	if err != nil {
		t.Fatal(err)
	}
	fail := func(n int) {
		t.Helper()
		for range n {
			if _, err := p.ops.Authenticate(ctx, "cc.suzuki", "wrong password", "203.0.113.10"); tenant.ErrorCode(err) != tenant.Unauthorized {
				t.Fatalf("wrong password: %v, want unauthorized", err)
			}
		}
	}
	_, err = p.ops.Authenticate(ctx, "cc.nobody", initial, "203.0.113.10")
	wantCode(t, "an unknown login id", err, tenant.Unauthorized, "staff.login.failed")
	fail(10)
	// The address is slowed down now, as for staff (never refused).
	if w := tenant.OpsSlowDownOf(p.ops, "203.0.113.10", p.clock.Now()); w <= 0 {
		t.Errorf("slow-down after 10 failures from one address = %v, want a wait", w)
	}
	_, err = p.ops.Authenticate(ctx, "cc.suzuki", initial, "203.0.113.10")
	wantCode(t, "the right password after 10 failures", err, tenant.Unauthorized, "staff.login.failed")
	p.clock.Add(15*time.Minute + time.Second)
	if _, err := p.ops.Authenticate(ctx, "cc.suzuki", initial, "203.0.113.10"); err != nil {
		t.Fatalf("after 15 minutes: %v", err)
	}
	fail(9)
	p.clock.Add(15*time.Minute + time.Second)
	if _, err := p.ops.Authenticate(ctx, "cc.suzuki", "wrong password", "203.0.113.10"); tenant.ErrorCode(err) != tenant.Unauthorized {
		t.Fatalf("20th failure: %v", err)
	}
	// The 20th failure locks for 24 hours (no lock an outsider can make permanent).
	p.clock.Add(24*time.Hour - time.Minute)
	_, err = p.ops.Authenticate(ctx, "cc.suzuki", initial, "203.0.113.10")
	wantCode(t, "almost a day after the 20th failure", err, tenant.Unauthorized, "staff.login.failed")
	if cur, _ := p.ops.ByID(ctx, acc.ID); !p.ops.Locked(cur) {
		t.Error("Locked = false after 20 failures")
	}
	p.clock.Add(2 * time.Minute)
	if cur, _ := p.ops.ByID(ctx, acc.ID); p.ops.Locked(cur) {
		t.Error("Locked = true a day after the 20th failure, want the lock lifted")
	}

	// The issued password has expired by now (72 hours are not over, but the lock hides that):
	// the vendor resets it.
	_, _, err = p.ops.Reset(ctx, acc.ID, false, tenant.Staff(uuid.New(), "tsu.admin", ""))
	wantCode(t, "Reset by a city's staff", err, tenant.Forbidden, "")
	reset, pw, err := p.ops.Reset(ctx, acc.ID, false, vendor)
	if err != nil || reset.FailedCount != 0 || !reset.MustChange {
		t.Fatalf("Reset = %+v, %v", reset, err)
	}
	if _, err := p.ops.Authenticate(ctx, "cc.suzuki", pw, "203.0.113.10"); err != nil {
		t.Fatalf("login after Reset: %v", err)
	}
	p.clock.Add(72*time.Hour + time.Second)
	_, err = p.ops.Authenticate(ctx, "cc.suzuki", pw, "203.0.113.10")
	wantCode(t, "an issued password after 72 hours", err, tenant.Unauthorized, "staff.login.expired")

	// Wrong TOTP codes count toward the same lock.
	_, pw, err = p.ops.Reset(ctx, acc.ID, false, vendor)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ops.ChangePassword(ctx, acc.ID, pw, "suzuki's long phrase", ""); err != nil {
		t.Fatal(err)
	}
	secret, _ := tenant.NewOpsTOTPSecret("cc.suzuki")
	if _, err := p.ops.EnableTOTP(ctx, acc.ID, secret, p.code(t, secret, 0), ""); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		_, err := p.ops.VerifyLoginCode(ctx, acc.ID, "999999", "")
		if tenant.ErrorCode(err) != tenant.Unauthorized {
			t.Fatalf("wrong code: %v", err)
		}
	}
	p.clock.Add(time.Minute)
	_, err = p.ops.VerifyLoginCode(ctx, acc.ID, p.code(t, secret, 0), "")
	wantCode(t, "the right code after 10 wrong ones", err, tenant.Throttled, "staff.login.locked")

	// Reset with a lost phone clears TOTP too.
	reset, _, err = p.ops.Reset(ctx, acc.ID, true, vendor)
	if err != nil || reset.TOTPEnabled || reset.TOTPSecret != "" || reset.FailedCount != 0 {
		t.Fatalf("Reset(lost phone) = %+v, %v", reset, err)
	}

	// A disabled account cannot log in, whatever the password.
	if _, err := p.ops.SetDisabled(ctx, acc.ID, true, vendor); err != nil {
		t.Fatal(err)
	}
	_, pw, _ = p.ops.Reset(ctx, acc.ID, false, vendor)
	_, err = p.ops.Authenticate(ctx, "cc.suzuki", pw, "203.0.113.10")
	wantCode(t, "a disabled account", err, tenant.Unauthorized, "staff.login.failed")
	self := tenant.Vendor(acc.ID, "cc.suzuki", "")
	_, err = p.ops.SetDisabled(ctx, acc.ID, false, self)
	wantCode(t, "SetDisabled(self)", err, tenant.Forbidden, "admin.accounts.self")

	log := strings.Join(p.opsLog(t), "\n")
	for _, w := range []string{"vendor:ops.sato platform.account.reset cc.suzuki", "vendor:ops.sato platform.account.disable cc.suzuki"} {
		if !strings.Contains(log, w) {
			t.Errorf("vendor's log lacks %q", w)
		}
	}
	list, err := p.ops.List(ctx)
	if err != nil || len(list) != 1 || list[0].LoginID != "cc.suzuki" || !list[0].Disabled {
		t.Errorf("List = %+v, %v", list, err)
	}
	if _, err := p.ops.ByLogin(ctx, "nobody"); tenant.AsError(err) == nil || tenant.AsError(err).Key != "ops.account.not_found" {
		t.Errorf("ByLogin(unknown) = %v", err)
	}
}

// TestOperatorGrants: operators serve only the cities granted to them; granting, revoking and a
// refused attempt are in the city's own log.
func TestOperatorGrants(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	tsu, _ := p.onboard(t, "tsu", "242012")
	mat, _ := p.onboard(t, "matsusaka", "242047")
	op, _, err := p.ops.Create(ctx, "cc.tanaka", "田中", tenant.OpsRoleOperator, vendor)
	if err != nil {
		t.Fatal(err)
	}
	opsMember, _, err := p.ops.Create(ctx, "ops.kimura", "木村", tenant.OpsRoleOps, vendor)
	if err != nil {
		t.Fatal(err)
	}

	if err := p.ops.Grant(ctx, op.ID, "tsu", vendor); err != nil {
		t.Fatalf("Grant: %v", err)
	}
	if err := p.ops.Grant(ctx, op.ID, "TSU", vendor); err != nil {
		t.Fatalf("Grant(again): %v", err)
	}
	gs, err := p.ops.Grants(ctx, op.ID)
	if err != nil || len(gs) != 1 || gs[0].TenantID != tsu.ID || gs[0].Name != "tsu市" || gs[0].GrantedBy != "vendor:ops.sato" {
		t.Fatalf("Grants = %+v, %v", gs, err)
	}
	wantCode(t, "Grant(ops member)", p.ops.Grant(ctx, opsMember.ID, "tsu", vendor), tenant.Invalid, "ops.grant.not_operator")
	wantCode(t, "Grant(unknown city)", p.ops.Grant(ctx, op.ID, "nosuch", vendor), tenant.NotFound, "tenant.not_found")
	wantCode(t, "Grant(unknown account)", p.ops.Grant(ctx, uuid.New(), "tsu", vendor), tenant.NotFound, "ops.account.not_found")
	wantCode(t, "Grant by the operator", p.ops.Grant(ctx, op.ID, "matsusaka", tenant.Operator(op.ID, op.LoginID, "")), tenant.Forbidden, "")

	if err := p.ops.CheckGrant(ctx, op.ID, tsu.ID, "203.0.113.20"); err != nil {
		t.Errorf("CheckGrant(granted city) = %v", err)
	}
	wantCode(t, "CheckGrant(another city)", p.ops.CheckGrant(ctx, op.ID, mat.ID, "203.0.113.20"), tenant.Forbidden, "ops.grant.none")
	wantCode(t, "CheckGrant(ops member)", p.ops.CheckGrant(ctx, opsMember.ID, tsu.ID, "203.0.113.20"), tenant.Forbidden, "ops.grant.none")
	wantCode(t, "CheckGrant(unknown city)", p.ops.CheckGrant(ctx, op.ID, uuid.New(), "203.0.113.20"), tenant.Forbidden, "ops.grant.none")
	if err := p.svc.SetStatus(ctx, "tsu", tenant.Disabled, vendor); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "CheckGrant(disabled city)", p.ops.CheckGrant(ctx, op.ID, tsu.ID, "203.0.113.20"), tenant.Forbidden, "ops.grant.none")
	if err := p.svc.SetStatus(ctx, "tsu", tenant.Active, vendor); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ops.SetDisabled(ctx, op.ID, true, vendor); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "CheckGrant(disabled operator)", p.ops.CheckGrant(ctx, op.ID, tsu.ID, "203.0.113.20"), tenant.Forbidden, "ops.grant.none")
	if _, err := p.ops.SetDisabled(ctx, op.ID, false, vendor); err != nil {
		t.Fatal(err)
	}

	if err := p.ops.Revoke(ctx, op.ID, "tsu", vendor); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	wantCode(t, "Revoke(again)", p.ops.Revoke(ctx, op.ID, "tsu", vendor), tenant.NotFound, "ops.grant.not_found")
	wantCode(t, "CheckGrant(revoked)", p.ops.CheckGrant(ctx, op.ID, tsu.ID, "203.0.113.20"), tenant.Forbidden, "ops.grant.none")
	if gs, _ := p.ops.Grants(ctx, op.ID); len(gs) != 0 {
		t.Errorf("Grants after Revoke = %+v", gs)
	}

	wantTsu := []string{"vendor:ops.sato vendor.operator.grant cc.tanaka", "vendor:cc.tanaka vendor.operator.denied cc.tanaka",
		"vendor:cc.tanaka vendor.operator.denied cc.tanaka", "vendor:ops.sato vendor.operator.revoke cc.tanaka",
		"vendor:cc.tanaka vendor.operator.denied cc.tanaka"}
	var got []string
	for _, l := range p.cityLog(t, tsu) {
		if strings.Contains(l, "vendor.operator.") {
			got = append(got, l)
		}
	}
	// The ops member's refused check is in the log too, under its own name.
	wantTsu = append(wantTsu[:1], append([]string{"vendor:ops.kimura vendor.operator.denied ops.kimura"}, wantTsu[1:]...)...)
	if !reflect.DeepEqual(got, wantTsu) {
		t.Errorf("tsu's log of operator grants:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantTsu, "\n"))
	}
	matLog := p.cityLog(t, mat)
	if !contains(matLog, "vendor:cc.tanaka vendor.operator.denied cc.tanaka") || contains(matLog, "vendor:ops.sato vendor.operator.grant cc.tanaka") {
		t.Errorf("matsusaka's log:\n%s", strings.Join(matLog, "\n"))
	}
}

// TestConsoleAllowList: a console with no list lets nobody in; entries are stored masked, per
// console.
func TestConsoleAllowList(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	if ok, err := p.ops.ConsoleAllowed(ctx, tenant.ConsoleOps, "203.0.113.5"); err != nil || ok {
		t.Fatalf("empty list: allowed = %v, %v; want nobody", ok, err)
	}
	if e, err := p.ops.Allow(ctx, tenant.ConsoleOps, "203.0.113.5", "本社", vendor); err != nil || e != "203.0.113.5/32" {
		t.Fatalf("Allow(address) = %q, %v", e, err)
	}
	if e, err := p.ops.Allow(ctx, tenant.ConsoleOps, " 198.51.100.77/24 ", "", vendor); err != nil || e != "198.51.100.0/24" {
		t.Fatalf("Allow(CIDR) = %q, %v", e, err)
	}
	if _, err := p.ops.Allow(ctx, tenant.ConsoleOps, "198.51.100.0/24", "", vendor); err != nil {
		t.Fatalf("Allow(again) = %v", err)
	}
	for _, tc := range []struct {
		console tenant.Console
		ip      string
		want    bool
	}{
		{tenant.ConsoleOps, "203.0.113.5", true},
		{tenant.ConsoleOps, "::ffff:203.0.113.5", true},
		{tenant.ConsoleOps, "203.0.113.6", false},
		{tenant.ConsoleOps, "198.51.100.200", true},
		{tenant.ConsoleOps, "not an address", false},
		{tenant.ConsoleCallCenter, "198.51.100.200", false},
	} {
		if ok, err := p.ops.ConsoleAllowed(ctx, tc.console, tc.ip); err != nil || ok != tc.want {
			t.Errorf("ConsoleAllowed(%s, %s) = %v, %v; want %v", tc.console, tc.ip, ok, err, tc.want)
		}
	}
	_, err := p.ops.Allow(ctx, tenant.ConsoleOps, "203.0.113.0/33", "", vendor)
	wantCode(t, "Allow(bad CIDR)", err, tenant.Invalid, "ops.allow.invalid")
	_, err = p.ops.Allow(ctx, "shell", "203.0.113.0/24", "", vendor)
	wantCode(t, "Allow(unknown console)", err, tenant.Invalid, "")
	_, err = p.ops.Allow(ctx, tenant.ConsoleOps, "203.0.113.0/24", "", tenant.Citizen(""))
	wantCode(t, "Allow by a citizen", err, tenant.Forbidden, "")
	if err := p.ops.Disallow(ctx, tenant.ConsoleOps, "203.0.113.5", vendor); err != nil {
		t.Fatalf("Disallow: %v", err)
	}
	wantCode(t, "Disallow(again)", p.ops.Disallow(ctx, tenant.ConsoleOps, "203.0.113.5/32", vendor), tenant.NotFound, "ops.allow.not_found")
	list, err := p.ops.AllowList(ctx, tenant.ConsoleOps)
	if err != nil || len(list) != 1 || list[0].CIDR != "198.51.100.0/24" || list[0].AddedBy != "vendor:ops.sato" {
		t.Errorf("AllowList = %+v, %v", list, err)
	}
	log := strings.Join(p.opsLog(t), "\n")
	if !strings.Contains(log, "vendor:ops.sato platform.allow.add ops") || !strings.Contains(log, "vendor:ops.sato platform.allow.remove ops") {
		t.Errorf("vendor's log:\n%s", log)
	}
}
