package guard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// These tests run against a real Redis (MADOGUCHI_TEST_REDIS_URL, default
// redis://127.0.0.1:6379/0) and fail when it is unreachable. Each test uses its own tenant ID,
// HMAC key and client IPs, so parallel runs never share a key, and deletes its keys at the end.

const defaultTestRedisURL = "redis://127.0.0.1:6379/0"

func testRedis(tb testing.TB) *redis.Client {
	tb.Helper()
	url := os.Getenv("MADOGUCHI_TEST_REDIS_URL")
	if url == "" {
		url = defaultTestRedisURL
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("MADOGUCHI_TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	tb.Cleanup(func() { rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		tb.Fatalf("Redis at %s is unreachable (set MADOGUCHI_TEST_REDIS_URL; these tests never skip): %v", opt.Addr, err)
	}
	return rdb
}

type fixture struct {
	tb      testing.TB
	rdb     *redis.Client
	g       *Guard
	reg     *prometheus.Registry
	tenant  string
	tenants []string
	ips     []string
}

// newFixture returns a Guard with a random key, a fresh metrics registry and a random tenant,
// and deletes every key it may have written when the test ends.
func newFixture(tb testing.TB, cfg Config, opts ...Option) *fixture {
	tb.Helper()
	f := &fixture{tb: tb, rdb: testRedis(tb), reg: prometheus.NewRegistry()}
	key := make([]byte, 32)
	rand.Read(key)
	g, err := New(f.rdb, key, cfg, f.reg, opts...)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	f.g = g
	f.tenant = f.newTenant()
	tb.Cleanup(f.cleanup)
	return f
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (f *fixture) newTenant() string {
	t := "test-" + randomHex(8)
	f.tenants = append(f.tenants, t)
	return t
}

// card returns a random 9-digit card number.
func (f *fixture) card() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(900_000_000))
	return fmt.Sprintf("%09d", n.Int64()+100_000_000)
}

// ip returns a random address in 10.0.0.0/8.
func (f *fixture) ip() string {
	b := make([]byte, 3)
	rand.Read(b)
	ip := fmt.Sprintf("10.%d.%d.%d", b[0], b[1], b[2])
	f.ips = append(f.ips, ip)
	return ip
}

func (f *fixture) cleanup() {
	ctx := context.Background()
	var del []string
	patterns := []string{f.g.platformPrefix + "*"} // the platform's keys, named after this guard's key
	for _, t := range f.tenants {
		patterns = append(patterns, keyPrefix+"t:"+t+":*")
	}
	for _, pattern := range patterns {
		iter := f.rdb.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			del = append(del, iter.Val())
		}
		if err := iter.Err(); err != nil {
			f.tb.Errorf("cleanup scan: %v", err)
		}
	}
	for _, ip := range f.ips {
		h, nets, err := f.g.ipHash(ip)
		if err != nil {
			f.tb.Errorf("cleanup: %v", err)
			continue
		}
		del = append(del, ipKeys("global", h)...)
		for _, n := range nets {
			del = append(del, netKeys(n)...)
		}
	}
	if len(del) > 0 {
		if err := f.rdb.Del(ctx, del...).Err(); err != nil {
			f.tb.Errorf("cleanup del: %v", err)
		}
	}
}

func (f *fixture) check(tenant, card, ip string) Decision {
	f.tb.Helper()
	d, err := f.g.Check(context.Background(), tenant, card, ip)
	if err != nil {
		f.tb.Fatalf("Check: %v", err)
	}
	return d
}

// attempt is Attempt, failing the test on an error.
func (f *fixture) attempt(tenant, card, ip string, proof bool) Decision {
	f.tb.Helper()
	d, err := f.g.Attempt(context.Background(), tenant, card, ip, proof)
	if err != nil {
		f.tb.Fatalf("Attempt: %v", err)
	}
	return d
}

// fail makes one wrong guess (with a proof of work, so the step-up never refuses it) and
// returns the decision for the next attempt, with the locks this one imposed; a refused
// attempt's decision is returned as it is.
func (f *fixture) fail(tenant, card, ip string) Decision {
	f.tb.Helper()
	d := f.attempt(tenant, card, ip, true)
	if !d.Allowed {
		return d
	}
	f.g.Failed(context.Background(), d)
	next := *d.Then
	next.Imposed = d.Imposed
	return next
}

// login is what every login path does around the guard; right stands in for the outcome of
// the MMDD comparison. It reports the decision and whether the citizen got in.
func (f *fixture) login(card, ip string, right bool) (Decision, bool) {
	f.tb.Helper()
	d := f.attempt(f.tenant, card, ip, true)
	if !d.Allowed {
		return d, false // refused before the password is even looked at
	}
	if right {
		if err := f.g.Succeed(context.Background(), d); err != nil {
			f.tb.Fatalf("Succeed: %v", err)
		}
		return d, true
	}
	f.g.Failed(context.Background(), d)
	next := *d.Then
	next.Imposed = d.Imposed
	return next, false
}

// total returns the card's failures since the last success, as stored in Redis.
func (f *fixture) total(tenant, card string) int64 {
	f.tb.Helper()
	h, err := f.g.cardHash(tenant, card)
	if err != nil {
		f.tb.Fatal(err)
	}
	n, err := f.rdb.Get(context.Background(), cardKeys(tenant, h)[kCardTotal]).Int64()
	if errors.Is(err, redis.Nil) {
		return 0
	}
	if err != nil {
		f.tb.Fatal(err)
	}
	return n
}

func (f *fixture) hardLocked(tenant, card string) bool {
	f.tb.Helper()
	locked, err := f.g.HardLocked(context.Background(), tenant, card)
	if err != nil {
		f.tb.Fatalf("HardLocked: %v", err)
	}
	return locked
}

// counter returns the value of the series name{label=value} in the fixture's registry.
func (f *fixture) counter(name, label, value string) float64 {
	f.tb.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		f.tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	f.tb.Fatalf("no series %s{%s=%q}", name, label, value)
	return 0
}

func wantRefused(tb testing.TB, what string, d Decision, reason string) {
	tb.Helper()
	if d.Allowed || d.Reason != reason {
		tb.Fatalf("%s = %+v, want refused with %s", what, d, reason)
	}
}

func wantAllowed(tb testing.TB, what string, d Decision) {
	tb.Helper()
	if !d.Allowed || d.Reason != "" {
		tb.Fatalf("%s = %+v, want allowed", what, d)
	}
}

func TestSoftLockRefusesEvenTheRightMMDDAndLifts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{CardSoftLock: time.Second})
	card, ip := f.card(), f.ip()

	for i := 1; i <= 4; i++ {
		d, ok := f.login(card, ip, false)
		if ok {
			t.Fatalf("failure %d logged in", i)
		}
		wantAllowed(t, fmt.Sprintf("Fail #%d", i), d)
		if len(d.Imposed) != 0 {
			t.Errorf("Fail #%d Imposed = %v, want none", i, d.Imposed)
		}
	}
	d, _ := f.login(card, ip, false)
	wantRefused(t, "Fail #5", d, ReasonCardLocked)
	if fmt.Sprint(d.Imposed) != "[soft]" {
		t.Errorf("Fail #5 Imposed = %v, want [soft]", d.Imposed)
	}
	if d.RetryAfter <= 0 || d.RetryAfter > time.Second {
		t.Fatalf("Fail #5 RetryAfter = %v, want in (0, 1s]", d.RetryAfter)
	}

	// The 6th attempt carries the right MMDD, but Attempt refuses it before the password is
	// looked at, and the refusal is not counted as a failure.
	d, ok := f.login(card, ip, true)
	if ok {
		t.Fatal("the right MMDD logged in during a soft lock")
	}
	wantRefused(t, "Check #6", d, ReasonCardLocked)
	if got := f.total(f.tenant, card); got != 5 {
		t.Errorf("failures after a refused attempt = %d, want 5", got)
	}

	time.Sleep(d.RetryAfter + 100*time.Millisecond)
	d, ok = f.login(card, ip, true)
	if !ok {
		t.Fatalf("login with the right MMDD after the lock window = %+v, want success", d)
	}
	if got := f.total(f.tenant, card); got != 0 {
		t.Errorf("failures after a success = %d, want 0", got)
	}

	if got := f.counter("madoguchi_login_locks_total", "level", LockSoft); got != 1 {
		t.Errorf("locks_total{level=soft} = %v, want 1", got)
	}
	if got := f.counter("madoguchi_login_failures_total", "reason", failureBadCredentials); got != 5 {
		t.Errorf("failures_total{reason=bad_credentials} = %v, want 5", got)
	}
	if got := f.counter("madoguchi_login_failures_total", "reason", ReasonCardLocked); got != 1 {
		t.Errorf("failures_total{reason=card_locked} = %v, want 1", got)
	}
}

func TestUnknownAndKnownCardsLookAlikeAndKeysAreHMACs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	// The guard has no card table: "known" and "unknown" differ only in the caller's database,
	// so both go through exactly the same counting.
	known, unknown, ip, ip2 := f.card(), f.card(), f.ip(), f.ip()
	for i := 1; i <= 6; i++ {
		dk := f.fail(f.tenant, known, ip)
		du := f.fail(f.tenant, unknown, ip2)
		if dk.Allowed != du.Allowed || dk.Reason != du.Reason || dk.StepUp != du.StepUp ||
			(dk.RetryAfter-du.RetryAfter).Abs() > time.Second {
			t.Fatalf("Fail #%d: known card %+v, unknown card %+v, want the same", i, dk, du)
		}
	}

	// A full-width spelling is the same card.
	wide := strings.Map(func(r rune) rune { return r - '0' + '０' }, known)
	// The 6th guess is refused (the soft lock) and counts nowhere.
	if got := f.total(f.tenant, wide); got != 5 {
		t.Errorf("failures under the full-width spelling = %d, want 5", got)
	}

	ctx := context.Background()
	// SCAN the whole database, not just this tenant's keys.
	for _, secret := range []string{known, unknown, ip, ip2} {
		iter := f.rdb.Scan(ctx, 0, "*"+secret+"*", 1000).Iterator()
		for iter.Next(ctx) {
			t.Errorf("Redis key %q contains a plain card number or IP", iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
	}

	shape := regexp.MustCompile(`^mdg:guard:t:` + regexp.QuoteMeta(f.tenant) +
		`:(card:[0-9a-f]{64}:(fails|lock|total|hardlock|backoff)|city:(fails|attack|hist:[0-9]+)|ip:[0-9a-f]{64}:(fails:short|fails:daily|stepup|cards|block))$`)
	var n int
	iter := f.rdb.Scan(ctx, 0, "mdg:guard:t:"+f.tenant+":*", 1000).Iterator()
	for iter.Next(ctx) {
		n++
		if !shape.MatchString(iter.Val()) {
			t.Errorf("key %q does not have the expected HMAC shape", iter.Val())
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("found no keys for the tenant, want some")
	}
}

func TestHardLockNeedsUnlock(t *testing.T) {
	t.Parallel()
	const softLock = 300 * time.Millisecond
	f := newFixture(t, Config{CardSoftLock: softLock})
	card, ip := f.card(), f.ip()

	// A patient attacker waits out each soft lock; the 10th failure without a success locks
	// the card for good.
	var d Decision
	for i := 1; i <= 10; i++ {
		if c := f.check(f.tenant, card, ip); !c.Allowed {
			wantRefused(t, fmt.Sprintf("Check before failure #%d", i), c, ReasonCardLocked)
			time.Sleep(c.RetryAfter + 50*time.Millisecond)
			wantAllowed(t, fmt.Sprintf("Check after the soft lock, before failure #%d", i), f.check(f.tenant, card, ip))
		}
		d = f.fail(f.tenant, card, ip)
	}
	wantRefused(t, "Fail #10", d, ReasonCardHardLocked)
	if d.RetryAfter != 0 {
		t.Errorf("Fail #10 RetryAfter = %v, want 0 for a hard lock", d.RetryAfter)
	}
	if !f.hardLocked(f.tenant, card) {
		t.Fatal("HardLocked = false after 10 failures, want true")
	}

	time.Sleep(2 * softLock)
	d, ok := f.login(card, ip, true)
	if ok {
		t.Fatal("the right MMDD logged in on a hard-locked card")
	}
	wantRefused(t, "Check after the soft window", d, ReasonCardHardLocked)

	if err := f.g.Unlock(context.Background(), f.tenant, card); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if f.hardLocked(f.tenant, card) {
		t.Fatal("HardLocked = true after Unlock, want false")
	}
	if got := f.total(f.tenant, card); got != 0 {
		t.Errorf("failures after Unlock = %d, want 0", got)
	}
	if d, ok := f.login(card, ip, true); !ok {
		t.Fatalf("login after Unlock = %+v, want success", d)
	}

	if got := f.counter("madoguchi_login_locks_total", "level", LockHard); got != 1 {
		t.Errorf("locks_total{level=hard} = %v, want 1", got)
	}
	if got := f.counter("madoguchi_login_locks_total", "level", LockSoft); got != 1 {
		t.Errorf("locks_total{level=soft} = %v, want 1 (the 10th failure locks hard, not soft)", got)
	}
}

func TestSuccessResetsTheHardCounter(t *testing.T) {
	t.Parallel()
	// The soft lock is not under test.
	f := newFixture(t, Config{CardSoftLimit: 100})
	card, ip := f.card(), f.ip()

	for range 9 {
		f.fail(f.tenant, card, ip)
	}
	if d, ok := f.login(card, ip, true); !ok {
		t.Fatalf("login after 9 failures = %+v, want success", d)
	}
	for range 9 {
		f.fail(f.tenant, card, ip)
	}
	if got := f.total(f.tenant, card); got != 9 {
		t.Errorf("failures since the success = %d, want 9", got)
	}
	if f.hardLocked(f.tenant, card) {
		t.Fatal("HardLocked = true after 9+9 failures with a success between, want false")
	}
	d := f.fail(f.tenant, card, ip)
	wantRefused(t, "the 10th failure since the success", d, ReasonCardHardLocked)
}

func TestIPSprayBlocksTheIP(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	ip, other := f.ip(), f.ip()
	cards := make([]string, 6)
	for i := range cards {
		cards[i] = f.card()
	}

	for i := range 4 {
		wantAllowed(t, fmt.Sprintf("Fail on distinct card #%d", i+1), f.fail(f.tenant, cards[i], ip))
	}
	wantAllowed(t, "Check on distinct card #5", f.check(f.tenant, cards[4], ip))
	d := f.fail(f.tenant, cards[4], ip)
	wantRefused(t, "Fail on distinct card #5", d, ReasonIPBlocked)
	if fmt.Sprint(d.Imposed) != "[ip_spray]" {
		t.Errorf("Fail on distinct card #5 Imposed = %v, want [ip_spray]", d.Imposed)
	}
	if d.RetryAfter < 23*time.Hour || d.RetryAfter > 24*time.Hour {
		t.Errorf("Fail on distinct card #5 RetryAfter = %v, want about 24h", d.RetryAfter)
	}

	// A 6th, fresh card from the same IP is refused, even with the right MMDD.
	d, ok := f.login(cards[5], ip, true)
	if ok {
		t.Fatal("a blocked IP logged in")
	}
	wantRefused(t, "Check on a fresh card from the blocked IP", d, ReasonIPBlocked)
	// The same IP is blocked in every tenant (the global per-IP key).
	wantRefused(t, "Check from the blocked IP in another tenant", f.check(f.newTenant(), cards[5], ip), ReasonIPBlocked)
	// Another IP is unaffected, even on the cards that failed.
	wantAllowed(t, "Check on a fresh card from another IP", f.check(f.tenant, cards[5], other))
	wantAllowed(t, "Check on a sprayed card from another IP", f.check(f.tenant, cards[0], other))

	if got := f.counter("madoguchi_login_locks_total", "level", LockIPSpray); got != 1 {
		t.Errorf("locks_total{level=ip_spray} = %v, want 1", got)
	}
}

func TestIPSprayAcrossTenants(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	ip := f.ip()
	a, b := f.tenant, f.newTenant()

	// 3 cards in one tenant and 2 in another: neither tenant alone sees 5, the global key does.
	for range 3 {
		wantAllowed(t, "Fail in tenant A", f.fail(a, f.card(), ip))
	}
	wantAllowed(t, "Fail in tenant B", f.fail(b, f.card(), ip))
	wantRefused(t, "the 5th distinct card across tenants", f.fail(b, f.card(), ip), ReasonIPBlocked)
	wantRefused(t, "Check in tenant A", f.check(a, f.card(), ip), ReasonIPBlocked)
}

func TestIPStepUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	ip, other := f.ip(), f.ip()
	c1, c2 := f.card(), f.card()

	// 10 failures from one IP on two cards (too few distinct cards for a spray block).
	for i := 1; i <= 10; i++ {
		card := c1
		if i > 5 {
			card = c2
		}
		d := f.fail(f.tenant, card, ip)
		if want := i >= 10; d.StepUp != want {
			t.Fatalf("Fail #%d StepUp = %v, want %v", i, d.StepUp, want)
		}
	}
	d := f.check(f.tenant, f.card(), ip)
	wantAllowed(t, "Check on a fresh card from the step-up IP", d)
	if !d.StepUp {
		t.Error("Check from the IP after 10 failures: StepUp = false, want true")
	}
	if d := f.check(f.tenant, f.card(), other); d.StepUp {
		t.Error("Check from another IP: StepUp = true, want false")
	}

	// Across tenants: 5 failures in each of two tenants trip the global per-IP counter.
	ip2 := f.ip()
	a, b := f.tenant, f.newTenant()
	ca, cb := f.card(), f.card()
	for range 5 {
		f.fail(a, ca, ip2)
	}
	for i := 1; i <= 5; i++ {
		d := f.fail(b, cb, ip2)
		if want := i == 5; d.StepUp != want {
			t.Fatalf("Fail #%d in tenant B StepUp = %v, want %v", i, d.StepUp, want)
		}
	}
	if d := f.check(a, f.card(), ip2); !d.StepUp {
		t.Error("Check in tenant A after 10 failures across tenants: StepUp = false, want true")
	}

	// The step-up is enforced: without a proof of work the attempt is refused and counts
	// nowhere; with one it is judged.
	card := f.card()
	wantRefused(t, "Attempt without a proof from the step-up IP", f.attempt(f.tenant, card, ip, false), ReasonStepUp)
	if got := f.total(f.tenant, card); got != 0 {
		t.Errorf("failures after a refused step-up = %d, want 0", got)
	}
	wantAllowed(t, "Attempt with a proof from the step-up IP", f.attempt(f.tenant, card, ip, true))
	if got := f.counter("madoguchi_login_failures_total", "reason", ReasonStepUp); got != 1 {
		t.Errorf("failures_total{reason=step_up_required} = %v, want 1", got)
	}
}

// TestParallelGuessesJudgedAtMostTheLimit fires all 366 birthdays for one card at once, each
// from its own address: the decision and the count are one step, so exactly the configured
// number of guesses are judged, whatever the concurrency.
func TestParallelGuessesJudgedAtMostTheLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		cfg   Config
		limit int
		lock  string
	}{
		{"soft lock", Config{}, 5, LockSoft},
		{"hard lock", Config{CardSoftLimit: 100}, 10, LockHard},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tc.cfg)
			card := f.card()
			ips := make([]string, 366)
			for i := range ips {
				ips[i] = f.ip()
			}
			var (
				wg     sync.WaitGroup
				start  = make(chan struct{})
				mu     sync.Mutex
				judged int
				byWhy  = map[string]int{}
			)
			for i := range 366 {
				wg.Go(func() {
					<-start
					d, err := f.g.Attempt(context.Background(), f.tenant, card, ips[i], true)
					if err != nil {
						t.Errorf("Attempt: %v", err)
						return
					}
					if d.Allowed {
						f.g.Failed(context.Background(), d)
					}
					mu.Lock()
					defer mu.Unlock()
					if d.Allowed {
						judged++
					}
					byWhy[d.Reason]++
				})
			}
			close(start)
			wg.Wait()
			if judged != tc.limit {
				t.Errorf("judged %d of 366 parallel guesses (decisions %v), want %d", judged, byWhy, tc.limit)
			}
			if got := f.total(f.tenant, card); got != int64(tc.limit) {
				t.Errorf("failures counted = %d, want %d (refusals count nowhere)", got, tc.limit)
			}
			if got := f.counter("madoguchi_login_locks_total", "level", tc.lock); got != 1 {
				t.Errorf("locks_total{level=%s} = %v, want 1", tc.lock, got)
			}
		})
	}
}

// TestSuccessGivesTheAttemptBack: a right guess leaves no trace on the IP, subnet and city
// counters, and the lock its own count imposed is lifted; a lock imposed by another guess stays.
func TestSuccessGivesTheAttemptBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	card, ip := f.card(), f.ip()
	for range 4 {
		f.fail(f.tenant, card, ip)
	}
	// The 5th guess imposes the soft lock when it is counted; it is right, so the lock goes.
	d, ok := f.login(card, ip, true)
	if !ok || fmt.Sprint(d.Imposed) != "[soft]" {
		t.Fatalf("5th guess, right = %+v, %v, want success that had imposed [soft]", d, ok)
	}
	wantAllowed(t, "Check after the success", f.check(f.tenant, card, ip))
	if got := f.total(f.tenant, card); got != 0 {
		t.Errorf("failures after a success = %d, want 0", got)
	}
	ctx := context.Background()
	h, nets, _ := f.g.ipHash(ip)
	for _, k := range []string{ipKeys("global", h)[kIPShort], ipKeys("global", h)[kIPDaily], netKeys(nets[0])[kNetFails], tenantKeys(f.tenant, 0)[kTenantFails], f.g.platformKeys(0)[kTenantFails]} {
		if n, _ := f.rdb.Get(ctx, k).Int(); n != 4 {
			t.Errorf("%s = %d after 4 failures and a success, want 4", k, n)
		}
	}
	if n, _ := f.rdb.SCard(ctx, ipKeys("global", h)[kIPCards]).Result(); n != 0 {
		t.Errorf("the IP's spray set has %d cards after the card succeeded, want 0", n)
	}
	if err := f.g.Succeed(ctx, Decision{}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("Succeed(zero Decision) = %v, want ErrInvalidInput", err)
	}
}

// TestIPDailyLimit: past IPDailyLimit failures in the window, every attempt from the address is
// refused (in every tenant) until the window ends; other addresses go on.
func TestIPDailyLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{IPDailyLimit: 6, IPDailyWindow: time.Second, CardSoftLimit: 100, SprayLimit: 100})
	ip, other := f.ip(), f.ip()
	for i := range 6 {
		wantAllowed(t, fmt.Sprintf("Attempt #%d", i+1), f.attempt(f.tenant, f.card(), ip, true))
	}
	d := f.attempt(f.tenant, f.card(), ip, true)
	wantRefused(t, "the 7th attempt", d, ReasonIPLimit)
	if d.RetryAfter <= 0 || d.RetryAfter > time.Second {
		t.Errorf("RetryAfter = %v, want in (0, 1s]", d.RetryAfter)
	}
	wantRefused(t, "the same address in another city", f.attempt(f.newTenant(), f.card(), ip, true), ReasonIPLimit)
	wantAllowed(t, "another address", f.attempt(f.tenant, f.card(), other, true))
	time.Sleep(d.RetryAfter + 100*time.Millisecond)
	wantAllowed(t, "after the window", f.attempt(f.tenant, f.card(), ip, true))
}

// TestSubnetStepUp: failures spread over the addresses of one subnet (IPv4 /24, IPv6 /56 or
// /48) require the step-up from every address of it, even one that never failed.
func TestSubnetStepUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{SubnetLimit: 6, CardSoftLimit: 100})
	b := make([]byte, 2)
	rand.Read(b)
	v4 := fmt.Sprintf("10.%d.%d.", b[0], b[1])
	hex6 := randomHex(2)
	other6 := fmt.Sprintf("%04x", (int(b[0])<<8|int(b[1]))^1)
	hex6 = fmt.Sprintf("%04x", int(b[0])<<8|int(b[1]))
	for _, tc := range []struct {
		name       string
		addr       func(i int) string
		fresh, out string
	}{
		{"IPv4 /24", func(i int) string { return fmt.Sprintf("%s%d", v4, i+1) }, v4 + "200", fmt.Sprintf("10.%d.%d.1", b[0], b[1]^1)},
		// Each address in its own /64 and /56 but one /48.
		{"IPv6 /48", func(i int) string { return fmt.Sprintf("2001:db8:%s:%x00::1", hex6, i+1) }, "2001:db8:" + hex6 + ":ff00::1", "2001:db8:" + other6 + ":100::1"},
		// Each address in its own /64, one /56.
		{"IPv6 /56", func(i int) string { return fmt.Sprintf("2001:db9:%s:%x::1", hex6, i+1) }, "2001:db9:" + hex6 + ":ff::1", ""},
	} {
		card := f.card()
		for i := range 6 {
			f.ips = append(f.ips, tc.addr(i))
			if d := f.check(f.tenant, card, tc.addr(i)); d.StepUp {
				t.Fatalf("%s: step-up before failure #%d, want none", tc.name, i+1)
			}
			f.fail(f.tenant, card, tc.addr(i))
		}
		f.ips = append(f.ips, tc.fresh)
		wantRefused(t, tc.name+": a fresh address of the subnet without a proof", f.attempt(f.tenant, f.card(), tc.fresh, false), ReasonStepUp)
		if tc.out != "" {
			f.ips = append(f.ips, tc.out)
			if d := f.check(f.tenant, f.card(), tc.out); d.StepUp {
				t.Errorf("%s: an address outside the subnet needs the step-up, want not", tc.name)
			}
		}
	}
}

// TestCityAttackMode: a spike of failures in one city, from addresses that never reach their
// own limits, requires the step-up on every login in that city (not in another), and is
// reported once as imposed (the security event) and counted in locks_total{level=attack}.
func TestCityAttackMode(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{TenantLimit: 8})
	var fired int
	for i := range 8 {
		d := f.attempt(f.tenant, f.card(), f.ip(), false)
		wantAllowed(t, fmt.Sprintf("failure #%d", i+1), d)
		spikes, err := f.g.Failed(context.Background(), d)
		if err != nil {
			f.tb.Fatal(err)
		}
		for _, l := range append(d.Imposed, spikes...) {
			if l == LockAttack {
				fired++
				if i != 7 {
					t.Errorf("attack imposed at failure #%d, want #8", i+1)
				}
			}
		}
	}
	if fired != 1 {
		t.Errorf("attack imposed %d times, want once", fired)
	}
	for _, tc := range []struct {
		tenant, ip string
		want       bool
	}{{f.tenant, f.ip(), true}, {f.tenant, "", true}, {f.newTenant(), f.ip(), false}} {
		if got, err := f.g.StepUpRequired(context.Background(), tc.tenant, tc.ip); err != nil || got != tc.want {
			t.Errorf("StepUpRequired(%s, %q) = %v, %v; want %v", tc.tenant, tc.ip, got, err, tc.want)
		}
	}
	wantRefused(t, "a fresh card and address in the city without a proof", f.attempt(f.tenant, f.card(), f.ip(), false), ReasonStepUp)
	wantAllowed(t, "the same with a proof", f.attempt(f.tenant, f.card(), f.ip(), true))
	wantAllowed(t, "another city without a proof", f.attempt(f.newTenant(), f.card(), f.ip(), false))
	// The call center (no address) is under the city's mode too; its operators always pass
	// proof (they are authenticated and have their own limit).
	wantRefused(t, "the call center without a proof", f.attempt(f.tenant, f.card(), "", false), ReasonStepUp)
	if got := f.counter("madoguchi_login_locks_total", "level", LockAttack); got != 1 {
		t.Errorf("locks_total{level=attack} = %v, want 1", got)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	const base = 200 * time.Millisecond
	f := newFixture(t, Config{CardBackoffBase: base})
	card, ip := f.card(), f.ip()

	f.fail(f.tenant, card, ip)
	wantAllowed(t, "Fail #2", f.fail(f.tenant, card, ip))
	d := f.fail(f.tenant, card, ip)
	wantRefused(t, "Fail #3", d, ReasonCardThrottled)
	if d.RetryAfter <= 0 || d.RetryAfter > base {
		t.Errorf("Fail #3 RetryAfter = %v, want in (0, %v]", d.RetryAfter, base)
	}
	wantRefused(t, "Check right after failure #3", f.check(f.tenant, card, ip), ReasonCardThrottled)
	time.Sleep(d.RetryAfter + 50*time.Millisecond)
	wantAllowed(t, "Check after the back-off", f.check(f.tenant, card, ip))
	d = f.fail(f.tenant, card, ip)
	if d.RetryAfter <= base || d.RetryAfter > 2*base {
		t.Errorf("Fail #4 RetryAfter = %v, want in (%v, %v]", d.RetryAfter, base, 2*base)
	}
}

func TestRedisDownFailsClosed(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { rdb.Close() })
	reg := prometheus.NewRegistry()
	g, err := New(rdb, make([]byte, 32), Config{}, reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx := context.Background()
	const tenant, card, ip = "test-down", "123456789", "192.0.2.1"

	d, err := g.Check(ctx, tenant, card, ip)
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Check error = %v, want ErrUnavailable", err)
	}
	if d.Allowed {
		t.Error("Check with Redis down: Allowed = true, want false")
	}
	d, err = g.Attempt(ctx, tenant, card, ip, true)
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Attempt error = %v, want ErrUnavailable", err)
	}
	if d.Allowed {
		t.Error("Attempt with Redis down: Allowed = true, want false")
	}
	keys, _, _, _, _ := g.attemptKeys(tenant, card, ip, 0)
	if err := g.Succeed(ctx, Decision{Allowed: true, att: &attempt{keys: keys}}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Succeed error = %v, want ErrUnavailable", err)
	}
	if err := g.Unlock(ctx, tenant, card); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Unlock error = %v, want ErrUnavailable", err)
	}
	if _, err := g.HardLocked(ctx, tenant, card); !errors.Is(err, ErrUnavailable) {
		t.Errorf("HardLocked error = %v, want ErrUnavailable", err)
	}
	f := &fixture{tb: t, reg: reg}
	if got := f.counter("madoguchi_login_failures_total", "reason", failureUnavailable); got != 2 {
		t.Errorf("failures_total{reason=unavailable} = %v, want 2", got)
	}
}

func TestInvalidInputIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	ctx := context.Background()
	tests := []struct {
		name, tenant, card, ip string
	}{
		{"empty tenant", "", "123456789", "192.0.2.1"},
		{"tenant with a colon", "a:b", "123456789", "192.0.2.1"},
		{"empty card", f.tenant, " - ", "192.0.2.1"},
		{"oversized card", f.tenant, strings.Repeat("1", 65), "192.0.2.1"},
		{"bad ip", f.tenant, "123456789", "not-an-ip"},
	}
	for _, tt := range tests {
		d, err := f.g.Check(ctx, tt.tenant, tt.card, tt.ip)
		if !errors.Is(err, ErrInvalidInput) || d.Allowed {
			t.Errorf("%s: Check = %+v, %v, want refused with ErrInvalidInput", tt.name, d, err)
		}
		d, err = f.g.Attempt(ctx, tt.tenant, tt.card, tt.ip, true)
		if !errors.Is(err, ErrInvalidInput) || d.Allowed {
			t.Errorf("%s: Attempt = %+v, %v, want refused with ErrInvalidInput", tt.name, d, err)
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	rdb := testRedis(t)
	key := make([]byte, 32)
	if _, err := New(nil, key, Config{}, nil); err == nil {
		t.Error("New(nil client) = nil error, want an error")
	}
	if _, err := New(rdb, key[:31], Config{}, nil); err == nil {
		t.Error("New(31-byte key) = nil error, want an error")
	}
	if _, err := New(rdb, key, Config{CardSoftLimit: -1}, nil); err == nil {
		t.Error("New(negative limit) = nil error, want an error")
	}
	g, err := New(rdb, key, Config{CardSoftLock: time.Second}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	want := DefaultConfig()
	want.CardSoftLock = time.Second
	if got := g.Config(); got != want {
		t.Errorf("Config() = %+v, want %+v", got, want)
	}

	// Two guards on one registry share the collectors instead of failing.
	reg := prometheus.NewRegistry()
	for i := range 2 {
		if _, err := New(rdb, key, Config{}, reg); err != nil {
			t.Fatalf("New #%d on a shared registry: %v", i+1, err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"madoguchi_login_failures_total": "reason", "madoguchi_login_locks_total": "level", "madoguchi_login_pow_total": "result"}
	for _, mf := range mfs {
		want, ok := labels[mf.GetName()]
		if !ok {
			t.Errorf("unexpected metric %s", mf.GetName())
			continue
		}
		delete(labels, mf.GetName())
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != 1 || m.GetLabel()[0].GetName() != want {
				t.Errorf("%s has labels %v, want only %q", mf.GetName(), m.GetLabel(), want)
			}
		}
	}
	if len(labels) > 0 {
		t.Errorf("metrics not registered: %v", labels)
	}
}

// TestBudget prints (go test -run TestBudget -v ./booking/guard, or make guard-budget) how many
// cards an attacker with 1,000 addresses (IPv4 addresses or IPv6 /64s) can take over per day
// with the default thresholds, and checks it against the goal of 80. It then shows with Redis
// that one address gets exactly IPDailyLimit guesses judged in a day, however it spreads them
// over cards and however the spray window is gamed.
func TestBudget(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	const addresses, goal = 1000, 80.0
	perDay := c.IPDailyLimit * int(24*time.Hour/c.IPDailyWindow)
	// A guess on a card that already had k wrong guesses succeeds with 1/(366-k); the hard lock
	// stops a card at CardHardLimit, so no guess does better than 1/(366-(CardHardLimit-1)).
	worst := 366 - (c.CardHardLimit - 1)
	bound := float64(addresses*perDay) / float64(worst)
	t.Logf("budget with the default thresholds, %d addresses:", addresses)
	t.Logf("  judged guesses per address per day = IPDailyLimit %d per %v = %d", c.IPDailyLimit, c.IPDailyWindow, perDay)
	t.Logf("  (the proof-of-work step-up after %d failures in %v, per subnet after %d in %v, per city after max(%d, %d × its %d-day p95) in %v, and everywhere after max(%d, %d × the platform's p95) adds cost, not a bound)",
		c.IPShortLimit, c.IPShortWindow, c.SubnetLimit, c.SubnetWindow, c.TenantLimit, c.SpikeFactor, c.BaselineDays, c.TenantWindow, c.PlatformLimit, c.SpikeFactor)
	t.Logf("  chance per guess <= 1/(366 - (CardHardLimit %d - 1)) = 1/%d", c.CardHardLimit, worst)
	t.Logf("  cards taken over per day <= %d × %d / %d = %.1f (spraying one guess per card: %d × %d / 366 = %.1f)",
		addresses, perDay, worst, bound, addresses, perDay, float64(addresses*perDay)/366)
	before := float64(addresses) * float64(24*time.Hour/c.SprayWindow) * float64(c.SprayLimit-1) * float64(c.CardSoftLimit) / 366
	t.Logf("  before the daily limit: %d windows of %v × %d cards (under the spray block) × %d guesses (under the soft lock) × %d / 366 = %.0f",
		int(24*time.Hour/c.SprayWindow), c.SprayWindow, c.SprayLimit-1, c.CardSoftLimit, addresses, before)
	if bound > goal {
		t.Errorf("budget %.1f cards a day, want <= %.0f", bound, goal)
	}

	// One address, one guess per fresh card, with the spray window so short it never blocks:
	// the daily limit alone stops it at IPDailyLimit judged guesses.
	cfg := c
	cfg.SprayWindow = time.Millisecond
	f := newFixture(t, cfg)
	ip := f.ip()
	judged := 0
	for range 3 * c.IPDailyLimit {
		time.Sleep(2 * time.Millisecond)
		d := f.attempt(f.tenant, f.card(), ip, true)
		if !d.Allowed {
			wantRefused(t, "past the daily limit", d, ReasonIPLimit)
			break
		}
		judged++
	}
	t.Logf("  measured: one address got %d guesses judged before %s", judged, ReasonIPLimit)
	if judged != c.IPDailyLimit {
		t.Errorf("one address got %d guesses judged, want IPDailyLimit %d", judged, c.IPDailyLimit)
	}
}

// TestCrowdInFlightIsNoAttack: many logins in one city at once (each from its own address, each
// counted on its card before it is judged) are not failures: the city is not put under attack
// while they are in flight, nor when they turn out right. Only judged failures count towards
// the city's spike.
func TestCrowdInFlightIsNoAttack(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{TenantLimit: 8})
	ctx := context.Background()
	var crowd []Decision
	for i := range 40 {
		d := f.attempt(f.tenant, f.card(), f.ip(), false)
		wantAllowed(t, fmt.Sprintf("login #%d in flight", i+1), d)
		crowd = append(crowd, d)
	}
	if up, err := f.g.StepUpRequired(ctx, f.tenant, ""); err != nil || up {
		t.Fatalf("40 logins in flight: step-up required = %v, %v; want no", up, err)
	}
	for _, d := range crowd {
		if err := f.g.Succeed(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if up, err := f.g.StepUpRequired(ctx, f.tenant, ""); err != nil || up {
		t.Fatalf("after 40 right logins: step-up required = %v, %v; want no", up, err)
	}
}
