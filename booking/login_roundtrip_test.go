package booking_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/booking/guard"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// redisTrips counts the round trips a go-redis client makes: one per command, one per pipeline.
type redisTrips struct{ n atomic.Int64 }

func (h *redisTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *redisTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *redisTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// TestLoginRoundTrips pins what one citizen login costs once the connection has prepared its
// statements: a right login is the guard's attempt, the card read (the tenant scope and the
// SELECT pipelined: one PostgreSQL round trip) and the guard's give-back sent with the new
// session's write (two Redis round trips); a wrong guess is the attempt, the read and the
// failure's count. The card read returns every column, sees only its own city's cards, and a
// right login still resets the card's failures.
func TestLoginRoundTrips(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	db, pg := tracedDB(t, d.AppDSN)
	opt, err := redis.ParseURL(redisURL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	rt := &redisTrips{}
	rdb.AddHook(rt)
	key := make([]byte, 32)
	rand.Read(key)
	g, err := guard.New(rdb, key, guard.Config{}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	clock := tenanttest.NewClock()
	tn := tenanttest.MustCreateTenant(t, d.App)
	other := tenanttest.MustCreateTenant(t, d.App)
	svc := booking.NewService(db, booking.Config{SecretKey: bookingtest.Key, Guard: g, Now: clock.Now})
	setup := bookingtest.Service(d.App, clock.Now)
	card := bookingtest.MustCard(t, setup, tn, "0312")
	stranger := bookingtest.MustCard(t, setup, other, "0312")

	var sb [8]byte
	rand.Read(sb[:])
	sessKey := "mdg:test:login-roundtrip:" + hex.EncodeToString(sb[:])
	defer rdb.Del(ctx, sessKey)
	ip := net.IPv4(192, 0, 2, sb[0]).String()
	login := func(no, mmdd string) (*booking.Card, int64, int64, error) {
		t.Helper()
		pg.n.Store(0)
		rt.n.Store(0)
		got, err := svc.Login(ctx, tn, booking.LoginInput{CardNo: no, Birth: mmdd, IP: ip,
			Session: func(pipe redis.Pipeliner, c *booking.Card) error {
				pipe.Set(ctx, sessKey, c.ID.String(), time.Minute)
				return nil
			}})
		return got, pg.n.Load(), rt.n.Load(), err
	}
	if _, _, _, err := login(card.CardNo, "0312"); err != nil { // prepares the statements, loads the scripts
		t.Fatal(err)
	}
	if _, _, _, err := login(card.CardNo, "0101"); tenant.ErrorCode(err) != tenant.Unauthorized {
		t.Fatalf("wrong MMDD = %v, want unauthorized", err)
	}
	rdb.Del(ctx, sessKey)

	got, pgN, redisN, err := login(card.CardNo, "0312")
	if err != nil {
		t.Fatal(err)
	}
	if pgN != 1 || redisN != 2 {
		t.Errorf("a right login took %d PostgreSQL and %d Redis round trips, want 1 and 2", pgN, redisN)
	}
	if v, err := rdb.Get(ctx, sessKey).Result(); err != nil || v != card.ID.String() {
		t.Errorf("the session written with the give-back = %q, %v; want the card's id", v, err)
	}
	want, err := setup.CardByID(ctx, tn.ID, card.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normCard(got), normCard(want)) {
		t.Errorf("the login's card read\n%+v\nwant (CardByID)\n%+v", *got, *want)
	}
	// The wrong guess before the right login was given back: nothing left on the card.
	if d, err := g.Check(ctx, tn.ID.String(), card.CardNo, ip); err != nil || !d.Allowed {
		t.Errorf("after the right login the card's check = %+v, %v", d, err)
	}

	_, pgN, redisN, err = login(card.CardNo, "0101")
	if tenant.ErrorCode(err) != tenant.Unauthorized {
		t.Fatalf("wrong MMDD = %v, want unauthorized", err)
	}
	if pgN != 1 || redisN != 2 {
		t.Errorf("a wrong guess took %d PostgreSQL and %d Redis round trips, want 1 and 2", pgN, redisN)
	}
	// Another city's card number, right birthday: its scope sees no such card.
	if _, _, _, err := login(stranger.CardNo, "0312"); tenant.ErrorCode(err) != tenant.Unauthorized {
		t.Errorf("another city's card = %v, want unauthorized", err)
	}
}

// normCard is c with its times in UTC at microseconds (PostgreSQL's precision), for comparing
// two reads of one row.
func normCard(c *booking.Card) booking.Card {
	n := *c
	for _, tp := range []*time.Time{&n.StatusChangedAt, &n.CreatedAt, &n.UpdatedAt} {
		*tp = tp.UTC().Truncate(time.Microsecond)
	}
	return n
}

// A pipelined batch (tenant.QueryRow) is one round trip, whatever its statements.
func (c *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
