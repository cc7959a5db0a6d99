package tenant_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// TestStaffLockLooksUnknownAndLastsADay: a locked account answers exactly like an unknown login
// id (so the answer never confirms an id exists); 10 failures lock it for 15 minutes, the 20th
// for 24 hours and no longer; an admin's unlock lifts it sooner.
func TestStaffLockLooksUnknownAndLastsADay(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	tn := tenanttest.MustCreateTenant(t, d.App)
	clk := &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	accs := tenant.NewAccounts(d.App, clk.now)
	tenant.SetSlowDownStep(accs, time.Millisecond)
	admin, err := accs.Create(ctx, tn, "admin1", "管理者", tenant.RoleAdmin, "admin initial 1", "seed")
	if err != nil {
		t.Fatal(err)
	}
	staff, err := accs.Create(ctx, tn, "sato", "佐藤", tenant.RoleStaff, "staff initial 1", "admin1")
	if err != nil {
		t.Fatal(err)
	}
	const pw = "sato's long password"
	if err := accs.SetPasswordNoChange(ctx, tn, "sato", pw); err != nil {
		t.Fatal(err)
	}
	same := func(what string, err error) {
		t.Helper()
		if e := tenant.AsError(err); e == nil || e.Code != tenant.Unauthorized || e.Key != "staff.login.failed" {
			t.Fatalf("%s = %v, want unauthorized staff.login.failed (the unknown id's answer)", what, err)
		}
	}
	fail := func(n int) {
		t.Helper()
		for range n {
			_, err := accs.Authenticate(ctx, tn, "sato", "wrong password", "192.0.2.20")
			same("a wrong password", err)
		}
	}
	_, err = accs.Authenticate(ctx, tn, "nobody", pw, "192.0.2.20")
	same("an unknown login id", err)
	fail(10)
	_, err = accs.Authenticate(ctx, tn, "sato", pw, "192.0.2.20")
	same("the right password 0 min into the 15-minute lock", err)
	clk.add(15*time.Minute + time.Second)
	fail(10)
	for _, at := range []time.Duration{0, 23*time.Hour + 59*time.Minute} {
		clk.add(at)
		_, err = accs.Authenticate(ctx, tn, "sato", pw, "192.0.2.20")
		same(fmt.Sprintf("the right password %v after the 20th failure", at), err)
	}
	clk.add(2 * time.Minute)
	if _, err := accs.Authenticate(ctx, tn, "sato", pw, "192.0.2.20"); err != nil {
		t.Fatalf("the right password a day after the 20th failure = %v, want success", err)
	}

	// An admin's unlock lifts a day's lock at once.
	fail(20)
	by := tenant.Actor{Channel: tenant.ChannelStaff, AccountID: admin.ID, Login: "admin1", IP: "192.0.2.9"}
	if _, err := accs.Unlock(ctx, tn, staff.ID, by); err != nil {
		t.Fatal(err)
	}
	if _, err := accs.Authenticate(ctx, tn, "sato", pw, "192.0.2.20"); err != nil {
		t.Fatalf("after an admin's unlock = %v, want success", err)
	}
}

// TestStaffLoginSlowDownByAddress: after 10 failures from one address its logins wait longer and
// longer (capped), but are never refused: a clerk behind the same LGWAN address still logs in.
// Other addresses are not slowed.
func TestStaffLoginSlowDownByAddress(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	tn := tenanttest.MustCreateTenant(t, d.App)
	clk := &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	accs := tenant.NewAccounts(d.App, clk.now)
	const step = 20 * time.Millisecond
	tenant.SetSlowDownStep(accs, step)
	if _, err := accs.Create(ctx, tn, "ito", "伊藤", tenant.RoleStaff, "staff initial 1", "seed"); err != nil {
		t.Fatal(err)
	}
	if err := accs.SetPasswordNoChange(ctx, tn, "ito", "ito's long password"); err != nil {
		t.Fatal(err)
	}
	const lgwan, other = "192.0.2.30", "192.0.2.31"
	var waits []time.Duration
	for i := range 25 {
		waits = append(waits, tenant.SlowDownOf(accs, lgwan, clk.now()))
		accs.Authenticate(ctx, tn, fmt.Sprintf("guess%d", i), "wrong password", lgwan)
	}
	if waits[9] != 0 || waits[10] != step || waits[11] != 2*step || waits[24] != 10*step {
		t.Errorf("waits before each of 25 failures = %v, want 0 ×10, then %v, %v, … capped at %v", waits, step, 2*step, 10*step)
	}
	if w := tenant.SlowDownOf(accs, other, clk.now()); w != 0 {
		t.Errorf("another address waits %v, want 0", w)
	}
	start := time.Now()
	if _, err := accs.Authenticate(ctx, tn, "ito", "ito's long password", lgwan); err != nil {
		t.Fatalf("a clerk behind the slowed address = %v, want success (never a block by address)", err)
	}
	if took := time.Since(start); took < 10*step {
		t.Errorf("the login from the slowed address took %v, want at least %v", took, 10*step)
	}
	clk.add(16 * time.Minute)
	if w := tenant.SlowDownOf(accs, lgwan, clk.now()); w != 0 {
		t.Errorf("after the window the address waits %v, want 0", w)
	}
}

// TestParallelStaffLoginsKeepThePool: 40 parallel logins (argon2id each) hold no database
// connection while they hash: the pool's connections in use never exceed the password gate's
// slots, and another request's query answers at once meanwhile.
func TestParallelStaffLoginsKeepThePool(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	tn := tenanttest.MustCreateTenant(t, d.App)
	accs := tenant.NewAccounts(d.App, nil)
	if _, err := accs.Create(ctx, tn, "pool.clerk", "プール", tenant.RoleStaff, "x-initial-password", "test"); err != nil {
		t.Fatal(err)
	}
	parallelLoginsKeepThePool(t, d.App, func(ip string) error {
		_, err := accs.Authenticate(ctx, tn, "pool.clerk", "wrong password", ip)
		return err
	})
}

// TestParallelOpsLoginsKeepThePool: the same for the vendor consoles' login.
func TestParallelOpsLoginsKeepThePool(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	ops := tenant.NewOpsAccounts(d.App, nil)
	if _, _, err := ops.Create(ctx, "pool.vendor", "プール", tenant.OpsRoleOps, vendor); err != nil {
		t.Fatal(err)
	}
	parallelLoginsKeepThePool(t, d.App, func(ip string) error {
		_, err := ops.Authenticate(ctx, "pool.vendor", "wrong password", ip)
		return err
	})
}

// parallelLoginsKeepThePool runs 40 logins at once, each from its own address, and checks that
// the connections in use never exceed the password gate's slots and that a query meanwhile
// answers at once.
func parallelLoginsKeepThePool(t *testing.T, db *bun.DB, login func(ip string) error) {
	t.Helper()
	ctx := context.Background()
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := int64(db.Stats().InUse); n > peak.Load() {
				peak.Store(n)
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			err := login(fmt.Sprintf("198.51.100.%d", i+1))
			if c := tenant.ErrorCode(err); c != tenant.Unauthorized && c != tenant.Throttled {
				t.Errorf("a parallel login = %v", err)
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	qStart := time.Now()
	var one int
	if err := db.NewRaw("SELECT 1").Scan(ctx, &one); err != nil {
		t.Fatal(err)
	}
	took := time.Since(qStart)
	wg.Wait()
	close(stop)
	<-sampled
	t.Logf("40 parallel logins: at most %d connections in use (gate: %d slots); a query meanwhile took %v", peak.Load(), tenant.PasswordSlots(), took)
	if p := peak.Load(); p > int64(tenant.PasswordSlots())+1 {
		t.Errorf("%d connections in use at once, want at most the gate's %d slots (+1 for the probe)", p, tenant.PasswordSlots())
	}
	if took > 2*time.Second {
		t.Errorf("a query during the logins took %v, want it answered at once", took)
	}
}
