package booking_test

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// fleetCities is the number of municipalities in Japan (1,718 cities, towns and villages and the
// 23 special wards of Tokyo): every one a tenant.
const fleetCities = 1741

// BenchmarkFleet measures the vendor's fleet overview over fleetCities cities with
// booking.FleetBackfillDays days of figures each, as the fleet job leaves them (README,
// 'Benchmarks'):
//
//	go test -run '^$' -bench Fleet -benchtime 200x ./booking/
//
// Overview is FleetOverview (one line per city); Daily90 is FleetDaily over 90 days for the whole
// fleet; UpdateOneCity is the job's work for one mid-sized city (90 days of about 50 bookings and
// 45 check-ins a day), which the job does once a minute for every city.
func BenchmarkFleet(b *testing.B) {
	d := tenanttest.NewDB(b)
	ctx := context.Background()
	clock := tenanttest.NewClock()
	svc := bookingtest.Service(d.App, clock.Now)
	today := booking.DateOf(clock.Now())
	// The cities and their figures, written directly: what is measured is the read.
	if _, err := d.App.ExecContext(ctx, `INSERT INTO tenants (slug, name)
		SELECT 'c' || lpad(i::text, 4, '0'), '市' || i FROM generate_series(1, ?) i`, fleetCities-1); err != nil {
		b.Fatal(err)
	}
	if _, err := d.App.ExecContext(ctx, `INSERT INTO fleet_days (tenant, day, bookings, visits, booking_errors, error_reasons,
			login_locks, mail_failed, computed_at, booked_14d, capacity_14d, mail_backlog, mail_retrying, imports_running,
			login_locks_hour, snapshot_at)
		SELECT t.id, d::date, (random() * 200)::int, (random() * 180)::int, 3, '{"slot.full": 2, "card.already_booked": 1}',
			1, 0, now(), 500, 1200, 2, 0, 0, 0, now()
		FROM tenants t, generate_series(?::date - 89, ?::date, interval '1 day') d`, today.StdTime(), today.StdTime()); err != nil {
		b.Fatal(err)
	}
	city := tenanttest.MustCreateTenant(b, d.App)
	seedMidSizedCity(b, d, svc, city)
	if err := svc.UpdateFleetFigures(ctx, city); err != nil { // the first run back-fills; the timed ones do not
		b.Fatal(err)
	}

	b.Run("Overview", func(b *testing.B) {
		for b.Loop() {
			list, err := svc.FleetOverview(ctx)
			if err != nil || len(list) != fleetCities {
				b.Fatalf("FleetOverview = %d cities, %v; want %d", len(list), err, fleetCities)
			}
		}
	})
	b.Run("Daily90", func(b *testing.B) {
		for b.Loop() {
			days, err := svc.FleetDaily(ctx, 90, nil)
			if err != nil || len(days) != 90 || days[89].Cities != fleetCities {
				b.Fatalf("FleetDaily = %d days, %v", len(days), err)
			}
		}
	})
	b.Run("UpdateOneCity", func(b *testing.B) {
		for b.Loop() {
			if err := svc.UpdateFleetFigures(ctx, city); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// seedMidSizedCity gives the city a location with its slots, 4,500 cards, 4,500 bookings made
// over the last 90 days and 4,000 check-ins, written in the city's scope.
func seedMidSizedCity(b *testing.B, d *tenanttest.DB, svc *booking.Service, city *tenant.Tenant) {
	b.Helper()
	ctx := context.Background()
	loc := bookingtest.MustLocation(b, svc, city, "本庁", 20)
	err := tenant.InTx(ctx, d.App, city.ID, func(ctx context.Context, tx bun.Tx) error {
		for _, q := range []string{
			`INSERT INTO cards (tenant_id, card_no, birth_hmac, status)
				SELECT current_tenant_id(), lpad(i::text, 9, '0'), decode(repeat('00', 32), 'hex'), 'reserved'
				FROM generate_series(1, 4500) i`,
			`INSERT INTO reservations (tenant_id, code, slot_id, location_id, starts_at, channel, party_size, created_at)
				SELECT current_tenant_id(), translate(lpad(i::text, 8, 'Z'), '01', 'AB'), s.id, s.location_id, s.starts_at, 'web', 1,
					now() - (i % 90) * interval '1 day'
				FROM generate_series(1, 4500) i, LATERAL (SELECT id, location_id, starts_at FROM slots ORDER BY starts_at OFFSET i % 100 LIMIT 1) s`,
			`INSERT INTO card_status_history (tenant_id, card_id, from_status, to_status, channel, changed_at)
				SELECT current_tenant_id(), c.id, 'reserved', 'visited', 'staff', now() - (row_number() OVER () % 90) * interval '1 day'
				FROM (SELECT id FROM cards LIMIT 4000) c`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatalf("seed %s: %v", loc.Name, err)
	}
}
