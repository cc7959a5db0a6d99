package booking_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// TestMonthlyReportStatements: the report is read with the same few statements for an empty city
// and for one with places and hundreds of bookings, and counts them all; bad and future months
// are refused.
func TestMonthlyReportStatements(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	clock := tenanttest.NewClock()
	counter := &statementCounter{}
	svc := bookingtest.Service(d.App.WithQueryHook(counter), clock.Now)
	city := tenanttest.MustCreateTenant(t, d.App)
	m := booking.MonthOf(clock.Now())

	count := func() (*booking.MonthReport, int64) {
		t.Helper()
		before := counter.n.Load()
		r, err := svc.MonthlyReport(ctx, city, m)
		if err != nil {
			t.Fatal(err)
		}
		return r, counter.n.Load() - before
	}
	if r, _ := count(); len(r.Places) != 0 || r.Total != (booking.ReportFigures{}) {
		t.Fatalf("empty city: %+v", r)
	}
	_, empty := count()

	const n = 600
	var places []*booking.Location
	for _, name := range []string{"本庁", "北支所", "南支所"} {
		places = append(places, bookingtest.MustLocation(t, svc, city, name, 2))
	}
	slot := bookingtest.FirstSlot(t, svc, city, places[0], clock.Now())
	err := tenant.InTx(ctx, d.App, city.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO reservations (tenant_id, code, slot_id, location_id, starts_at, status, channel, party_size, created_at)
			SELECT current_tenant_id(), translate(lpad(i::text, 8, 'Z'), '01', 'AB'), ?, (ARRAY[?::uuid, ?::uuid, ?::uuid])[1 + i % 3],
				?, 'booked', (ARRAY['web', 'staff', 'callcenter'])[1 + i % 3], 1, ?
			FROM generate_series(1, ?) i`, slot.ID, places[0].ID, places[1].ID, places[2].ID, m.Start().Add(48*time.Hour), m.Start().Add(time.Hour), n)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r, full := count()
	if full != empty {
		t.Errorf("statements: %d for an empty city, %d with %d bookings", empty, full, n)
	}
	if len(r.Places) != 3 || r.Total.Bookings() != n || r.Total.Web != n/3 || r.Places[0].Bookings() != n/3 {
		t.Errorf("figures: %+v", r)
	}
	t.Logf("MonthlyReport: %d statements", full)

	for _, bad := range []string{"", "2026-00", "2026-13", "26-01", "2100-01", "2026-1 "} {
		if _, err := booking.ParseMonth(bad); tenant.ErrorCode(err) != tenant.Invalid {
			t.Errorf("ParseMonth(%q) = %v, want invalid", bad, err)
		}
	}
	if _, err := svc.MonthlyReport(ctx, city, m.Next()); tenant.ErrorCode(err) != tenant.Invalid {
		t.Errorf("next month: %v, want invalid", err)
	}
}
