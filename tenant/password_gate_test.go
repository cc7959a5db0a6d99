package tenant_test

import (
	"context"
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
