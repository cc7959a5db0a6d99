package tenant_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// eventCounts returns the city's event_counts as "bucket kind reason n" lines (bucket in UTC).
func eventCounts(t *testing.T, db *bun.DB, id uuid.UUID) []string {
	t.Helper()
	var rows []string
	err := tenant.InTx(context.Background(), db, id, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT to_char(bucket AT TIME ZONE 'UTC', 'HH24:MI') || ' ' || kind || ' ' || reason || ' ' || n
			FROM event_counts ORDER BY bucket, kind, reason`).Scan(ctx, &rows)
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestEventsFlush: events are counted per city, kind, reason and five-minute bucket; a flush
// writes each city in its own scope and adds to what is there; a reason that is not a key is
// stored as "other"; counts a flush could not write are written by the next.
func TestEventsFlush(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	a, b := tenanttest.MustCreateTenant(t, d.App), tenanttest.MustCreateTenant(t, d.App)
	at := time.Date(2026, 6, 2, 10, 3, 0, 0, time.UTC)
	ev := tenant.NewEvents(d.App)
	ev.Add(a.ID, tenant.EventBookingError, "slot.full", at)
	ev.Add(a.ID, tenant.EventBookingError, "slot.full", at.Add(time.Minute))   // same bucket
	ev.Add(a.ID, tenant.EventBookingError, "slot.full", at.Add(2*time.Minute)) // 10:05: the next
	ev.Add(a.ID, tenant.EventBookingError, "Robert'); DROP TABLE x;--", at)    // not a key
	ev.Add(b.ID, tenant.EventLoginLock, "citizen_soft", at)                    // another city
	ev.Add(uuid.Nil, tenant.EventLoginLock, "citizen_soft", at)                // no city: ignored
	var nilEvents *tenant.Events
	nilEvents.Add(a.ID, tenant.EventLoginLock, "citizen_soft", at) // counting is optional
	if err := ev.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ev.Add(a.ID, tenant.EventBookingError, "slot.full", at)
	if err := ev.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(eventCounts(t, d.App, a.ID)), "[10:00 booking_error other 1 10:00 booking_error slot.full 3 10:05 booking_error slot.full 1]"; got != want {
		t.Errorf("city A's counts = %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(eventCounts(t, d.App, b.ID)), "[10:00 login_lock citizen_soft 1]"; got != want {
		t.Errorf("city B's counts = %s, want %s", got, want)
	}

	// A city's write is refused (here: the city's row does not exist yet); its counts wait
	// for the next flush instead of being lost.
	later := uuid.New()
	ev.Add(later, tenant.EventLoginLock, "citizen_hard", at)
	ev.Add(b.ID, tenant.EventLoginLock, "citizen_soft", at)
	if err := ev.Flush(ctx); err == nil {
		t.Fatal("Flush for a city that does not exist = nil, want an error")
	}
	if got, want := fmt.Sprint(eventCounts(t, d.App, b.ID)), "[10:00 login_lock citizen_soft 2]"; got != want {
		t.Errorf("city B's counts after a partly failed flush = %s, want %s (the other city is written)", got, want)
	}
	if _, err := d.Owner.ExecContext(ctx, "INSERT INTO tenants (id, slug, name) VALUES (?, ?, 'later')", later, "l"+later.String()[:8]); err != nil {
		t.Fatal(err)
	}
	if err := ev.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(eventCounts(t, d.App, later)), "[10:00 login_lock citizen_hard 1]"; got != want || ev.Dropped() != 0 {
		t.Errorf("the refused counts after the next flush = %s (dropped %d), want %s", got, ev.Dropped(), want)
	}
}

// TestStaffLockCounted: the failure that locks a staff account counts a staff_soft lock for the
// fleet overview, in the login's transaction.
func TestStaffLockCounted(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	tn := tenanttest.MustCreateTenant(t, d.App)
	clk := &clock{t: time.Date(2026, 4, 1, 9, 2, 0, 0, time.UTC)}
	accs := tenant.NewAccounts(d.App, clk.now)
	if _, err := accs.Create(ctx, tn, "suzuki", "鈴木", tenant.RoleStaff, tenant.RandomPassword(), "admin1"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		if _, err := accs.Authenticate(ctx, tn, "suzuki", "wrong-password-0", "192.0.2.1"); tenant.ErrorCode(err) != tenant.Unauthorized {
			t.Fatalf("failure %d = %v, want unauthorized", i, err)
		}
		if i == 9 && len(eventCounts(t, d.App, tn.ID)) != 0 {
			t.Fatalf("a lock counted after 9 failures: %v", eventCounts(t, d.App, tn.ID))
		}
	}
	if got, want := fmt.Sprint(eventCounts(t, d.App, tn.ID)), "[09:00 login_lock staff_soft 1]"; got != want {
		t.Errorf("counts after the 10th failure = %s, want %s", got, want)
	}
}

// TestCountEventInTransaction: an event counted inside a transaction commits and rolls back with it.
func TestCountEventInTransaction(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	tn := tenanttest.MustCreateTenant(t, d.App)
	at := time.Date(2026, 6, 2, 10, 3, 0, 0, time.UTC)
	count := func(fail bool) error {
		return tenant.InTx(ctx, d.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
			if err := tenant.CountEvent(ctx, tx, tn.ID, tenant.EventLoginLock, "staff_soft", at); err != nil {
				return err
			}
			if fail {
				return fmt.Errorf("the change failed")
			}
			return nil
		})
	}
	if err := count(false); err != nil {
		t.Fatal(err)
	}
	if err := count(true); err == nil {
		t.Fatal("want the failing transaction's error")
	}
	if err := count(false); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(eventCounts(t, d.App, tn.ID)), "[10:00 login_lock staff_soft 2]"; got != want {
		t.Errorf("counts = %s, want %s", got, want)
	}
}

// TestEventsConcurrent: events added from many goroutines while Run flushes are all written once.
func TestEventsConcurrent(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	tn := tenanttest.MustCreateTenant(t, d.App)
	at := time.Date(2026, 6, 2, 10, 3, 0, 0, time.UTC)
	ev := tenant.NewEvents(d.App)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ev.Run(ctx, 5*time.Millisecond, func(err error) { t.Errorf("flush: %v", err) })
	}()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				ev.Add(tn.ID, tenant.EventBookingError, "slot.full", at)
			}
		}()
	}
	wg.Wait()
	cancel()
	<-done // Run's last flush writes what is left
	if got, want := fmt.Sprint(eventCounts(t, d.App, tn.ID)), "[10:00 booking_error slot.full 4000]"; got != want {
		t.Errorf("counts = %s, want %s", got, want)
	}
}
