package booking_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// roundTrips counts the messages pgx waits on: queries (BEGIN and COMMIT included) and
// statement preparations.
type roundTrips struct{ n atomic.Int64 }

func (c *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *roundTrips) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *roundTrips) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}

// tracedDB opens dsn with one connection (its statements are prepared after the first use, so
// later uses count only round trips) and the tracer that counts them; closed with the test.
func tracedDB(t *testing.T, dsn string) (*bun.DB, *roundTrips) {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	trips := &roundTrips{}
	cfg.Tracer = trips
	db, err := tenant.OpenDBConfig(context.Background(), cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, trips
}

// TestReserveRoundTrips pins how many round trips a booking costs once the connection has
// prepared its statements: BEGIN with the tenant scope (one message), the cards' lock, the request-key lookup, the
// places (one conditional UPDATE), the booking with its cards, history and mail, COMMIT; staff
// add their audit row. A new statement in the booking path shows up here.
func TestReserveRoundTrips(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	db, trips := tracedDB(t, d.AppDSN)
	tn := tenanttest.MustCreateTenant(t, d.App)
	clock := tenanttest.NewClock()
	svc := bookingtest.Service(db, clock.Now)
	loc := bookingtest.MustLocation(t, svc, tn, "本庁", 10)
	slot := bookingtest.FirstSlot(t, svc, tn, loc, clock.Now())
	book := func(a tenant.Actor, hold bool, party int) int64 {
		t.Helper()
		var cards []uuid.UUID
		for range party {
			cards = append(cards, bookingtest.MustCard(t, svc, tn, "0312").ID)
		}
		in := booking.ReserveInput{SlotID: slot.ID, CardIDs: cards, Email: "rt@example.jp", Actor: a}
		if hold {
			h, err := svc.HoldSlot(ctx, tn, slot.ID, party, uuid.Nil, a)
			if err != nil {
				t.Fatal(err)
			}
			in.HoldID = h.ID
		}
		trips.n.Store(0)
		if _, err := svc.Reserve(ctx, tn, in); err != nil {
			t.Fatal(err)
		}
		return trips.n.Load()
	}
	book(web, true, 1) // prepares the booking statements on the connection
	book(staff, false, 1)
	for _, c := range []struct {
		name  string
		actor tenant.Actor
		hold  bool
		party int
		want  int64
	}{
		{"citizen with a hold", web, true, 1, 6},
		{"citizen family of three with a hold", web, true, 3, 6},
		{"staff without a key", staff, false, 2, 6}, // no request key to look up; one audit row
	} {
		if got := book(c.actor, c.hold, c.party); got != c.want {
			t.Errorf("Reserve (%s) took %d round trips, want %d", c.name, got, c.want)
		}
	}
}
