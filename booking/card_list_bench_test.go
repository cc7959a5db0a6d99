package booking_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// bulkCards is the size of the largest change a city makes at once: every card of a large
// delivery marked 交付通知書発送済.
const bulkCards = 100_000

// statementCounter counts the statements bun sends.
type statementCounter struct{ n atomic.Int64 }

func (c *statementCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}
func (c *statementCounter) AfterQuery(context.Context, *bun.QueryEvent) { c.n.Add(1) }

// BenchmarkChangeCardStatusByFilter times one status change of bulkCards cards matching a filter
// (README, 'Benchmarks'):
//
//	go test -run '^$' -bench ChangeCardStatusByFilter -benchtime 3x ./booking/
//
// Each iteration moves the city's 100,000 cards imported → notice_sent (and the setup between
// iterations, untimed, moves them back). It reports the statements sent per change
// (statements/op: the scope, the set-based change and the audit row) besides time and the Go
// side's memory; the database writes 100,000 card rows and 100,000 history rows.
func BenchmarkChangeCardStatusByFilter(b *testing.B) {
	d := tenanttest.NewDB(b)
	ctx := context.Background()
	clock := tenanttest.NewClock()
	counter := &statementCounter{}
	svc := bookingtest.Service(d.App.WithQueryHook(counter), clock.Now)
	city := tenanttest.MustCreateTenant(b, d.App)
	err := tenant.InTx(ctx, d.App, city.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO cards (tenant_id, card_no, birth_hmac, storage_pos, status)
			SELECT current_tenant_id(), lpad(i::text, 9, '0'), decode(repeat('00', 32), 'hex'), 'A-' || i, 'imported'
			FROM generate_series(1, ?) i`, bulkCards)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.Owner.ExecContext(ctx, "VACUUM ANALYZE cards"); err != nil {
		b.Fatal(err)
	}
	f := booking.CardFilter{Status: booking.CardImported}
	var statements int64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		if i > 0 {
			err := tenant.InTx(ctx, d.App, city.ID, func(ctx context.Context, tx bun.Tx) error {
				_, err := tx.ExecContext(ctx, "UPDATE cards SET status = 'imported'")
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		clock.Set(clock.Now().Add(time.Minute))
		before := counter.n.Load()
		b.StartTimer()
		n, err := svc.ChangeCardStatusByFilter(ctx, city, f, booking.CardNoticeSent, bulkCards, clerk)
		if err != nil || n != bulkCards {
			b.Fatalf("ChangeCardStatusByFilter = %d, %v; want %d", n, err, bulkCards)
		}
		statements = counter.n.Load() - before
	}
	b.ReportMetric(float64(statements), "statements/op")
	b.ReportMetric(bulkCards, "cards/op")
}
