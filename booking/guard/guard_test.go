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
func newFixture(tb testing.TB, cfg Config) *fixture {
	tb.Helper()
	f := &fixture{tb: tb, rdb: testRedis(tb), reg: prometheus.NewRegistry()}
	key := make([]byte, 32)
	rand.Read(key)
	g, err := New(f.rdb, key, cfg, f.reg)
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
	for _, t := range f.tenants {
		iter := f.rdb.Scan(ctx, 0, keyPrefix+"t:"+t+":*", 1000).Iterator()
		for iter.Next(ctx) {
			del = append(del, iter.Val())
		}
		if err := iter.Err(); err != nil {
			f.tb.Errorf("cleanup scan: %v", err)
		}
	}
	for _, ip := range f.ips {
		h, err := f.g.ipHash(ip)
		if err != nil {
			f.tb.Errorf("cleanup: %v", err)
			continue
		}
		del = append(del, ipKeys("global", h)...)
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

func (f *fixture) fail(tenant, card, ip string) Decision {
	f.tb.Helper()
	d, err := f.g.Fail(context.Background(), tenant, card, ip)
	if err != nil {
		f.tb.Fatalf("Fail: %v", err)
	}
	return d
}

// login is what every login path does around the guard; right stands in for the outcome of
// the MMDD comparison. It reports the decision and whether the citizen got in.
func (f *fixture) login(card, ip string, right bool) (Decision, bool) {
	f.tb.Helper()
	d := f.check(f.tenant, card, ip)
	if !d.Allowed {
		return d, false // refused before the password is even looked at
	}
	if right {
		if err := f.g.Succeed(context.Background(), f.tenant, card, ip); err != nil {
			f.tb.Fatalf("Succeed: %v", err)
		}
		return d, true
	}
	return f.fail(f.tenant, card, ip), false
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

	// The 6th attempt carries the right MMDD, but Check refuses it before the password is
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
	if got := f.total(f.tenant, wide); got != 6 {
		t.Errorf("failures under the full-width spelling = %d, want 6", got)
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
		`:(card:[0-9a-f]{64}:(fails|lock|total|hardlock|backoff)|ip:[0-9a-f]{64}:(fails:short|fails:long|stepup|cards|block))$`)
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
	f := newFixture(t, Config{})
	card, ip := f.card(), f.ip()
	ctx := context.Background()

	// Fail is called directly here: the soft lock is not under test.
	for range 9 {
		f.fail(f.tenant, card, ip)
	}
	if err := f.g.Succeed(ctx, f.tenant, card, ip); err != nil {
		t.Fatalf("Succeed: %v", err)
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
}

func TestConcurrentFailuresAreCountedExactly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	card, ip := f.card(), f.ip()

	const n = 50
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		mu    sync.Mutex
		byWhy = map[string]int{}
	)
	for range n {
		wg.Go(func() {
			<-start
			d, err := f.g.Fail(context.Background(), f.tenant, card, ip)
			if err != nil {
				t.Errorf("Fail: %v", err)
				return
			}
			mu.Lock()
			byWhy[d.Reason]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()

	if got := f.total(f.tenant, card); got != n {
		t.Errorf("failures after %d concurrent Fail calls = %d, want %d", n, got, n)
	}
	// Redis runs the scripts one at a time, so the decisions follow the exact sequence:
	// failures 1-4 allowed, 5-9 soft-locked, 10-50 hard-locked.
	want := map[string]int{"": 4, ReasonCardLocked: 5, ReasonCardHardLocked: n - 9}
	for reason, w := range want {
		if byWhy[reason] != w {
			t.Errorf("decisions = %v, want %v", byWhy, want)
			break
		}
	}
	if !f.hardLocked(f.tenant, card) {
		t.Error("HardLocked = false, want true")
	}
	for level, w := range map[string]float64{LockSoft: 1, LockHard: 1, LockIPSpray: 0} {
		if got := f.counter("madoguchi_login_locks_total", "level", level); got != w {
			t.Errorf("locks_total{level=%s} = %v, want %v", level, got, w)
		}
	}
	if got := f.counter("madoguchi_login_failures_total", "reason", failureBadCredentials); got != n {
		t.Errorf("failures_total{reason=bad_credentials} = %v, want %d", got, n)
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
	d, err = g.Fail(ctx, tenant, card, ip)
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Fail error = %v, want ErrUnavailable", err)
	}
	if d.Allowed {
		t.Error("Fail with Redis down: Allowed = true, want false")
	}
	if err := g.Succeed(ctx, tenant, card, ip); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Succeed error = %v, want ErrUnavailable", err)
	}
	if err := g.Unlock(ctx, tenant, card); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Unlock error = %v, want ErrUnavailable", err)
	}
	if _, err := g.HardLocked(ctx, tenant, card); !errors.Is(err, ErrUnavailable) {
		t.Errorf("HardLocked error = %v, want ErrUnavailable", err)
	}
	f := &fixture{tb: t, reg: reg}
	if got := f.counter("madoguchi_login_failures_total", "reason", failureUnavailable); got != 1 {
		t.Errorf("failures_total{reason=unavailable} = %v, want 1", got)
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
		d, err = f.g.Fail(ctx, tt.tenant, tt.card, tt.ip)
		if !errors.Is(err, ErrInvalidInput) || d.Allowed {
			t.Errorf("%s: Fail = %+v, %v, want refused with ErrInvalidInput", tt.name, d, err)
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
	labels := map[string]string{"madoguchi_login_failures_total": "reason", "madoguchi_login_locks_total": "level"}
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
