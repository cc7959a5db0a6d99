package booking_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/booking/guard"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// TestLoginStepUpUnderAttack: a spike of failures in a city (from addresses that never reach
// their own limits) is raised as a security event (an audit entry) and requires a proof of work
// on every login there. The right MMDD without one is refused with a challenge and counts
// nowhere; a solved challenge (JavaScript) passes at once; the challenge alone (no JavaScript)
// passes once PowWait has passed; a challenge counts once, and only for its own city and address.
func TestLoginStepUpUnderAttack(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	opt, _ := redis.ParseURL(redisURL())
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	key := make([]byte, 32)
	rand.Read(key)
	g, err := guard.New(rdb, key, guard.Config{TenantLimit: 3, PowBits: 8}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	clock := tenanttest.NewClock()
	tn := tenanttest.MustCreateTenant(t, d.App)
	svc := booking.NewService(d.App, booking.Config{SecretKey: bookingtest.Key, Guard: g, Now: clock.Now})
	card := bookingtest.MustCard(t, svc, tn, "0312")
	const ip = "192.0.2.77"
	login := func(in booking.LoginInput) error {
		_, err := svc.Login(ctx, tn, in)
		return err
	}
	for i := range 3 {
		err := login(booking.LoginInput{CardNo: fmt.Sprintf("9%08d", i), Birth: "0101", IP: fmt.Sprintf("198.51.100.%d", i+1)})
		if tenant.AsError(err) == nil || tenant.AsError(err).Key != "login.failed" {
			t.Fatalf("failure %d = %v, want login.failed", i+1, err)
		}
	}
	if rows := auditRows(t, d.App, tn, "login.attack_mode"); len(rows) != 1 || rows[0].Actor != "system" {
		t.Fatalf("audit rows for the spike = %+v, want one by system", rows)
	}

	right := booking.LoginInput{CardNo: card.CardNo, Birth: "0312", IP: ip}
	stepUp := func(what string, in booking.LoginInput) string {
		t.Helper()
		e := tenant.AsError(login(in))
		if e == nil || e.Code != tenant.Throttled || e.Key != "login.step_up" {
			t.Fatalf("%s = %v, want throttled login.step_up", what, e)
		}
		tok, _ := e.Args["pow"].(string)
		if bits, _ := e.Args["pow_bits"].(int); tok == "" || bits != 8 {
			t.Fatalf("%s: challenge %q of %v bits, want one of 8", what, tok, e.Args["pow_bits"])
		}
		return tok
	}
	tok := stepUp("the right MMDD without a proof", right)

	// JavaScript: the solved challenge passes at once.
	js := right
	js.PowToken, js.PowNonce = tok, guard.SolvePow(tok)
	if err := login(js); err != nil {
		t.Fatalf("with a solved challenge: %v", err)
	}
	stepUp("the same proof again", js)
	wrongNonce := right
	wrongNonce.PowToken, _ = svc.LoginChallenge(tn, ip)
	for n := 0; ; n++ { // a nonce that does not solve it
		if s := fmt.Sprint(n); !guard.PowWork(wrongNonce.PowToken, s, 8) {
			wrongNonce.PowNonce = s
			break
		}
	}
	stepUp("an unsolved nonce", wrongNonce)

	// No JavaScript: the challenge alone passes only after the wait.
	nojs := right
	nojs.PowToken, _ = svc.LoginChallenge(tn, ip)
	stepUp("the challenge alone, at once", nojs)
	clock.Add(guard.DefaultConfig().PowWait)
	if err := login(nojs); err != nil {
		t.Fatalf("the challenge alone after the wait: %v", err)
	}

	// A challenge is bound to its address and its city.
	other := right
	other.PowToken, _ = svc.LoginChallenge(tn, "192.0.2.78")
	other.PowNonce = guard.SolvePow(other.PowToken)
	stepUp("a challenge issued to another address", other)
	forged := js
	forged.PowToken = strings.Replace(tok, ".8.", ".1.", 1)
	forged.PowNonce = guard.SolvePow(forged.PowToken)
	stepUp("a challenge with its work lowered", forged)

	// A challenge is refused before it was issued and after it expired.
	stale := right
	stale.PowToken, _ = svc.LoginChallenge(tn, ip)
	stale.PowNonce = guard.SolvePow(stale.PowToken)
	clock.Add(-time.Minute)
	stepUp("a challenge from the future", stale)
	clock.Add(time.Minute + guard.DefaultConfig().PowTTL + time.Second)
	stepUp("an expired challenge", stale)

	// The call center's operators are authenticated and have their own limit: no step-up.
	op := booking.LoginInput{CardNo: card.CardNo, Birth: "0312", Operator: uuid.New()}
	if err := login(op); err != nil {
		t.Errorf("an operator's check under attack: %v", err)
	}
}

// TestLoginPlatformAttack: failures spread over two cities, none reaching its city's
// threshold, put the platform under attack once together they reach the platform's: the city
// whose failure tipped it gets the security event in its audit log (with the threshold in
// force), and a login in the other city then needs a proof of work too.
func TestLoginPlatformAttack(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	clock := tenanttest.NewClock()
	g := newGuard(t, guard.Config{TenantLimit: 100, PlatformLimit: 3, PowBits: 8}, guard.WithClock(clock.Now))
	a, b := tenanttest.MustCreateTenant(t, d.App), tenanttest.MustCreateTenant(t, d.App)
	svc := booking.NewService(d.App, booking.Config{SecretKey: bookingtest.Key, Guard: g, Now: clock.Now})
	card := bookingtest.MustCard(t, svc, a, "0312")
	for i, tn := range []*tenant.Tenant{a, b, b} {
		_, err := svc.Login(ctx, tn, booking.LoginInput{CardNo: fmt.Sprintf("8%08d", i), Birth: "0101", IP: fmt.Sprintf("198.51.100.%d", i+1)})
		if e := tenant.AsError(err); e == nil || e.Key != "login.failed" {
			t.Fatalf("failure %d = %v, want login.failed", i+1, err)
		}
	}
	if rows := auditRows(t, d.App, a, "login.platform_attack_mode"); len(rows) != 0 {
		t.Errorf("audit rows in the city that did not tip it = %+v, want none", rows)
	}
	rows := auditRows(t, d.App, b, "login.platform_attack_mode")
	if len(rows) != 1 || rows[0].Actor != "system" || !strings.Contains(rows[0].After, `"failures": 3`) {
		t.Fatalf("audit rows in the city that tipped it = %+v, want one by system with failures 3", rows)
	}
	if rows := auditRows(t, d.App, b, "login.attack_mode"); len(rows) != 0 {
		t.Errorf("city attack audited = %+v, want none (only the platform spiked)", rows)
	}
	_, err := svc.Login(ctx, a, booking.LoginInput{CardNo: card.CardNo, Birth: "0312", IP: "192.0.2.90"})
	if e := tenant.AsError(err); e == nil || e.Code != tenant.Throttled || e.Key != "login.step_up" {
		t.Fatalf("the right MMDD in the other city without a proof = %v, want throttled login.step_up", err)
	}
}

// newGuard returns a guard on the test Redis with a fresh key (its counters shared with no
// other test) and its own metrics registry.
func newGuard(t *testing.T, cfg guard.Config, opts ...guard.Option) *guard.Guard {
	t.Helper()
	opt, err := redis.ParseURL(redisURL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	g, err := guard.New(rdb, key, cfg, prometheus.NewRegistry(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestLoginDatabaseDownCountsNothing: logins that could not be judged because PostgreSQL did not
// answer (a failover) are unavailable and are given back: afterwards the card is not locked,
// the address not slowed and the city not under attack, and the right birthday logs in at once.
func TestLoginDatabaseDownCountsNothing(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	clock := tenanttest.NewClock()
	g := newGuard(t, guard.Config{TenantLimit: 3, PowBits: 8}, guard.WithClock(clock.Now))
	tn := tenanttest.MustCreateTenant(t, d.App)
	svc := booking.NewService(d.App, booking.Config{SecretKey: bookingtest.Key, Guard: g, Now: clock.Now})
	card := bookingtest.MustCard(t, svc, tn, "0312")
	dead, err := tenant.OpenDBLazy("postgres://nobody@127.0.0.1:1/none?connect_timeout=1", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	down := booking.NewService(dead, booking.Config{SecretKey: bookingtest.Key, Guard: g, Now: clock.Now})
	const ip = "192.0.2.80"
	for i := range 12 {
		_, err := down.Login(ctx, tn, booking.LoginInput{CardNo: card.CardNo, Birth: "0312", IP: ip})
		if e := tenant.AsError(err); e == nil || e.Code != tenant.Unavailable {
			t.Fatalf("login %d with the database down = %v, want unavailable", i+1, err)
		}
	}
	if up, err := g.StepUpRequired(ctx, tn.ID.String(), ip); err != nil || up {
		t.Fatalf("after the outage: step-up required = %v, %v; want no (nothing was judged)", up, err)
	}
	if _, err := svc.Login(ctx, tn, booking.LoginInput{CardNo: card.CardNo, Birth: "0312", IP: ip}); err != nil {
		t.Fatalf("the right birthday after the outage: %v, want a login", err)
	}
}
