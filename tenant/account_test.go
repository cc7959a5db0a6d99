package tenant_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// clock is a fixed, movable clock for tenant.NewAccounts.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func auditLog(t *testing.T, db *bun.DB, tn *tenant.Tenant) []string {
	t.Helper()
	var rows []string
	err := tenant.InTx(context.Background(), db, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT actor || ' ' || action || ' ' || target || ' ' || coalesce(before::text, '-') || ' ' || coalesce(after::text, '-') || ' ' || ip
			FROM audit_log ORDER BY at, id`).Scan(ctx, &rows)
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestInitialPasswordExpiresAfter72Hours(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	tn := tenanttest.MustCreateTenant(t, d.App)
	clk := &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	accs := tenant.NewAccounts(d.App, clk.now)
	initial := tenant.RandomPassword()
	acc, err := accs.Create(ctx, tn, "Sato.K", "佐藤", tenant.RoleStaff, initial, "admin1")
	if err != nil {
		t.Fatal(err)
	}
	if acc.LoginID != "sato.k" || !acc.MustChange || acc.PasswordExpiresAt == nil || !acc.PasswordExpiresAt.Equal(clk.now().Add(72*time.Hour)) {
		t.Fatalf("created %+v; want must_change and expiry in 72 h", acc)
	}
	clk.add(72*time.Hour - time.Minute)
	got, err := accs.Authenticate(ctx, tn, "sato.k", initial, "192.0.2.1")
	if err != nil || !got.MustChange {
		t.Fatalf("login 1 minute before expiry = %+v, %v; want success with must_change", got, err)
	}
	if accs.InitialExpired(got) {
		t.Error("InitialExpired before 72 h")
	}
	clk.add(2 * time.Minute)
	_, err = accs.Authenticate(ctx, tn, "sato.k", initial, "192.0.2.1")
	if e := tenant.AsError(err); e == nil || e.Code != tenant.Unauthorized || e.Key != "staff.login.expired" {
		t.Fatalf("login 1 minute after expiry = %v, want unauthorized staff.login.expired", err)
	}
	got, _ = accs.ByID(ctx, tn, acc.ID)
	if !accs.InitialExpired(got) {
		t.Error("InitialExpired = false after 72 h")
	}

	// A reset gives a new initial password with its own 72 hours; the old one stops working.
	admin, err := accs.Create(ctx, tn, "admin1", "管理者", tenant.RoleAdmin, tenant.RandomPassword(), "seed")
	if err != nil {
		t.Fatal(err)
	}
	by := tenant.Actor{Channel: tenant.ChannelStaff, AccountID: admin.ID, Login: "admin1", IP: "192.0.2.9"}
	next := tenant.RandomPassword()
	reset, err := accs.ResetPassword(ctx, tn, acc.ID, next, by)
	if err != nil {
		t.Fatal(err)
	}
	if !reset.MustChange || !reset.PasswordExpiresAt.Equal(clk.now().Add(72*time.Hour)) || reset.FailedCount != 0 {
		t.Errorf("after reset: %+v", reset)
	}
	if _, err := accs.Authenticate(ctx, tn, "sato.k", initial, ""); tenant.ErrorCode(err) != tenant.Unauthorized {
		t.Errorf("old initial password after reset = %v, want unauthorized", err)
	}
	clk.add(71 * time.Hour)
	if _, err := accs.Authenticate(ctx, tn, "sato.k", next, ""); err != nil {
		t.Errorf("reset password after 71 h = %v", err)
	}
	// Changing the password ends the expiry.
	if err := accs.ChangePassword(ctx, tn, acc.ID, next, "a calm lake under the autumn moon"); err != nil {
		t.Fatal(err)
	}
	clk.add(30 * 24 * time.Hour)
	if _, err := accs.Authenticate(ctx, tn, "sato.k", "a calm lake under the autumn moon", ""); err != nil {
		t.Errorf("changed password a month later = %v", err)
	}
	for _, row := range auditLog(t, d.App, tn) {
		for _, pw := range []string{initial, next, "a calm lake under the autumn moon"} {
			if strings.Contains(row, pw) {
				t.Errorf("the audit log holds a password: %s", row)
			}
		}
	}
	if _, err := accs.ResetPassword(ctx, tn, admin.ID, "whatever-password-1", by); tenant.AsError(err) == nil || tenant.AsError(err).Key != "admin.accounts.self" {
		t.Errorf("resetting one's own password = %v, want forbidden admin.accounts.self", err)
	}
}

func TestAdminAccountMethods(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	tn := tenanttest.MustCreateTenant(t, d.App)
	otherTn := tenanttest.MustCreateTenant(t, d.App)
	clk := &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	accs := tenant.NewAccounts(d.App, clk.now)
	admin, err := accs.Create(ctx, tn, "admin1", "管理者", tenant.RoleAdmin, "admin initial 1", "seed")
	if err != nil {
		t.Fatal(err)
	}
	staff, err := accs.Create(ctx, tn, "suzuki", "鈴木", tenant.RoleStaff, "staff initial 1", "admin1")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := accs.Create(ctx, otherTn, "suzuki", "他市の鈴木", tenant.RoleStaff, "staff initial 2", "seed")
	if err != nil {
		t.Fatal(err)
	}
	if err := accs.SetPasswordNoChange(ctx, tn, "suzuki", "suzuki's long password"); err != nil {
		t.Fatal(err)
	}
	by := tenant.Actor{Channel: tenant.ChannelStaff, AccountID: admin.ID, Login: "admin1", IP: "192.0.2.9"}

	list, err := accs.List(ctx, tn)
	if err != nil || len(list) != 2 || list[0].LoginID != "admin1" || list[1].LoginID != "suzuki" {
		t.Fatalf("List = %+v, %v; want admin1, suzuki (not the other city's)", list, err)
	}

	// Ten failures lock for 15 minutes; Unlock lifts it at once.
	for range 10 {
		accs.Authenticate(ctx, tn, "suzuki", "wrong", "")
	}
	got, _ := accs.ByID(ctx, tn, staff.ID)
	if !accs.Locked(got) {
		t.Fatalf("not locked after 10 failures: %+v", got)
	}
	if _, err := accs.Unlock(ctx, tn, staff.ID, by); err != nil {
		t.Fatal(err)
	}
	if _, err := accs.Authenticate(ctx, tn, "suzuki", "suzuki's long password", ""); err != nil {
		t.Errorf("login after Unlock = %v", err)
	}

	// Disable and enable; an admin can neither disable nor demote themselves.
	if _, err := accs.SetDisabled(ctx, tn, staff.ID, true, by); err != nil {
		t.Fatal(err)
	}
	if _, err := accs.Authenticate(ctx, tn, "suzuki", "suzuki's long password", ""); tenant.ErrorCode(err) != tenant.Unauthorized {
		t.Errorf("disabled account logged in: %v", err)
	}
	if _, err := accs.SetDisabled(ctx, tn, staff.ID, false, by); err != nil {
		t.Fatal(err)
	}
	if _, err := accs.Authenticate(ctx, tn, "suzuki", "suzuki's long password", ""); err != nil {
		t.Errorf("re-enabled account = %v", err)
	}
	for name, err := range map[string]error{
		"disable self": func() error { _, err := accs.SetDisabled(ctx, tn, admin.ID, true, by); return err }(),
		"demote self":  func() error { _, err := accs.SetRole(ctx, tn, admin.ID, tenant.RoleStaff, by); return err }(),
	} {
		if e := tenant.AsError(err); e == nil || e.Code != tenant.Forbidden || e.Key != "admin.accounts.self" {
			t.Errorf("%s = %v, want forbidden admin.accounts.self", name, err)
		}
	}
	if got, _ := accs.ByID(ctx, tn, admin.ID); got.Disabled || got.Role != tenant.RoleAdmin {
		t.Errorf("the admin changed themselves: %+v", got)
	}
	if _, err := accs.SetRole(ctx, tn, staff.ID, "root", by); tenant.ErrorCode(err) != tenant.Invalid {
		t.Errorf("SetRole(root) = %v, want invalid", err)
	}
	if acc, err := accs.SetRole(ctx, tn, staff.ID, tenant.RoleAdmin, by); err != nil || acc.Role != tenant.RoleAdmin {
		t.Errorf("promote = %+v, %v", acc, err)
	}

	// Another city's account id is not found by every method (row-level security).
	for name, err := range map[string]error{
		"reset":   func() error { _, err := accs.ResetPassword(ctx, tn, foreign.ID, "x-initial-password", by); return err }(),
		"unlock":  func() error { _, err := accs.Unlock(ctx, tn, foreign.ID, by); return err }(),
		"disable": func() error { _, err := accs.SetDisabled(ctx, tn, foreign.ID, true, by); return err }(),
		"role":    func() error { _, err := accs.SetRole(ctx, tn, foreign.ID, tenant.RoleAdmin, by); return err }(),
	} {
		if tenant.ErrorCode(err) != tenant.NotFound {
			t.Errorf("%s on another city's account = %v, want not_found", name, err)
		}
	}
	if got, _ := accs.ByID(ctx, otherTn, foreign.ID); got.Disabled || got.Role != tenant.RoleStaff {
		t.Errorf("the other city's account changed: %+v", got)
	}

	log := strings.Join(auditLog(t, d.App, tn), "\n")
	for _, want := range []string{
		`admin1 account.unlock suzuki {"locked": true, "failed_count": 10} {"locked": false, "failed_count": 0} 192.0.2.9`,
		`admin1 account.disable suzuki {"disabled": false} {"disabled": true} 192.0.2.9`,
		`admin1 account.enable suzuki {"disabled": true} {"disabled": false} 192.0.2.9`,
		`admin1 account.role suzuki {"role": "staff"} {"role": "admin"} 192.0.2.9`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "long password") || strings.Contains(log, "initial 1") {
		t.Errorf("the audit log holds a password:\n%s", log)
	}
}

func TestAuditLogQueries(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	tn := tenanttest.MustCreateTenant(t, d.App)
	otherTn := tenanttest.MustCreateTenant(t, d.App)
	accs := tenant.NewAccounts(d.App, nil)
	for i := range 7 {
		action := "card.view"
		if i%2 == 1 {
			action = "card.search"
		}
		if err := accs.RecordAudit(ctx, tn, tenant.AuditEntry{Actor: "clerk1", Action: action, Target: "card:x"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := accs.RecordAudit(ctx, tn, tenant.AuditEntry{Actor: "clerk2", Action: "card.view"}); err != nil {
		t.Fatal(err)
	}
	if err := accs.RecordAudit(ctx, otherTn, tenant.AuditEntry{Actor: "clerk1", Action: "card.view"}); err != nil {
		t.Fatal(err)
	}
	recs, total, page, err := accs.AuditLog(ctx, tn, tenant.AuditQuery{Actor: "clerk1", Action: "card.view", PerPage: 3, Page: 5})
	if err != nil || total != 4 || page != 2 || len(recs) != 1 {
		t.Errorf("AuditLog = %d recs, total %d, page %d, %v; want the last page (2) of 4 entries", len(recs), total, page, err)
	}
	_, total, _, _ = accs.AuditLog(ctx, tn, tenant.AuditQuery{From: time.Now().Add(time.Hour)})
	if total != 0 {
		t.Errorf("entries in the future: %d", total)
	}
	all, err := accs.AuditExport(ctx, tn, tenant.AuditQuery{To: time.Now().Add(time.Hour)})
	if err != nil || len(all) != 8 || all[0].At.After(all[7].At) {
		t.Errorf("AuditExport = %d entries, %v; want 8 oldest first", len(all), err)
	}
	actions, err := accs.AuditActions(ctx, tn)
	if err != nil || strings.Join(actions, ",") != "card.search,card.view" {
		t.Errorf("AuditActions = %v, %v", actions, err)
	}
}
