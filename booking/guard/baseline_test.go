package guard

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for the baseline windows.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 6, 1, 9, 2, 0, 0, time.FixedZone("JST", 9*60*60))}
}

// writeHistory stores count(i) failures for each of the n windows before the clock's window
// under prefix, the way Attempt stores them (one hash per day).
func writeHistory(tb testing.TB, f *fixture, prefix string, now time.Time, n int, count func(i int) int) {
	tb.Helper()
	ctx := context.Background()
	w := f.g.windowOf(now)
	pipe := f.rdb.Pipeline()
	for i := 1; i <= n; i++ {
		win := w - int64(i)
		if c := count(i); c > 0 {
			key := histKey(prefix, f.g.dayOf(win))
			pipe.HSet(ctx, key, strconv.FormatInt(win, 10), c)
			pipe.PExpire(ctx, key, f.g.cfg.histTTL())
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		tb.Fatal(err)
	}
}

func (f *fixture) thresholds(tenant string) (city, platform int) {
	f.tb.Helper()
	city, platform, err := f.g.Thresholds(context.Background(), tenant)
	if err != nil {
		f.tb.Fatalf("Thresholds: %v", err)
	}
	return city, platform
}

// failUntilSpike makes wrong guesses on fresh cards from fresh addresses in tenant (with a
// proof of work, so the step-up never refuses them; the address layers are never reached)
// until one imposes level, and returns how many it took (0 if none did within most).
func (f *fixture) failUntilSpike(tenant, level string, most int) int {
	f.tb.Helper()
	for i := 1; i <= most; i++ {
		d := f.attempt(tenant, f.card(), f.ip(), true)
		wantAllowed(f.tb, fmt.Sprintf("failure #%d", i), d)
		spikes, err := f.g.Failed(context.Background(), d)
		if err != nil {
			f.tb.Fatal(err)
		}
		for _, l := range append(d.Imposed, spikes...) {
			if l == level {
				return i
			}
		}
	}
	return 0
}

// TestCityThresholdFollowsItsBaseline: a city's attack threshold is the floor while it has no
// history, and 5 × the p95 of its per-window failures over the last 14 days (+1) once it has;
// the threshold is recomputed only after BaselineRefresh, and history older than 14 days no
// longer counts. Failures during the attack do not feed the history.
func TestCityThresholdFollowsItsBaseline(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	f := newFixture(t, Config{TenantLimit: 6, SpikeFactor: 5, BaselineRefresh: 5 * time.Minute}, WithClock(clock.Now))
	busy, quiet := f.tenant, f.newTenant()
	if city, _ := f.thresholds(busy); city != 6 {
		t.Fatalf("threshold without history = %d, want the floor 6", city)
	}

	// 14 days of 5-minute windows: 2 failures in most, 4 in one window out of 10 (so the p95
	// is 4), and a few huge outliers (a past attack, 1% of the windows) that the p95 ignores.
	const windows = 14 * 24 * 12
	writeHistory(t, f, keyPrefix+"t:"+busy+":city:", clock.Now(), windows, func(i int) int {
		switch {
		case i%100 == 0:
			return 500
		case i%10 == 0:
			return 4
		default:
			return 2
		}
	})
	// Quiet: one failure in a window now and then; its p95 is 0, so the floor holds.
	writeHistory(t, f, keyPrefix+"t:"+quiet+":city:", clock.Now(), windows, func(i int) int {
		if i%50 == 0 {
			return 1
		}
		return 0
	})
	if city, _ := f.thresholds(busy); city != 6 {
		t.Errorf("threshold within BaselineRefresh of the last computation = %d, want the cached 6", city)
	}
	clock.Add(5 * time.Minute)
	if city, _ := f.thresholds(busy); city != 21 {
		t.Fatalf("threshold with a p95 of 4 = %d, want 5 × 4 + 1 = 21", city)
	}
	if city, _ := f.thresholds(quiet); city != 6 {
		t.Errorf("quiet city's threshold = %d, want the floor 6", city)
	}

	// The busy city goes under attack at its 21st failure in the window, not at the floor's 6.
	if n := f.failUntilSpike(busy, LockAttack, 30); n != 21 {
		t.Fatalf("busy city went under attack at failure #%d, want #21", n)
	}
	if n := f.failUntilSpike(quiet, LockAttack, 30); n != 6 {
		t.Fatalf("quiet city went under attack at failure #%d, want #6", n)
	}
	// Failures while under attack are not history: the window keeps the 21 that led to it.
	for range 5 {
		f.g.Failed(context.Background(), f.attempt(busy, f.card(), f.ip(), true))
	}
	w := f.g.windowOf(clock.Now())
	got, err := f.rdb.HGet(context.Background(), histKey(keyPrefix+"t:"+busy+":city:", f.g.dayOf(w)), strconv.FormatInt(w, 10)).Int()
	if err != nil || got != 21 {
		t.Errorf("history of the attack's window = %d, %v; want 21", got, err)
	}

	// 15 days later the history written above is older than the baseline: back to the floor.
	clock.Add(15 * 24 * time.Hour)
	if city, _ := f.thresholds(busy); city != 6 {
		t.Errorf("threshold after the history aged out = %d, want the floor 6", city)
	}
}

// TestPlatformAttackMode: failures spread over several cities, none reaching its own
// threshold, put the platform under attack when together they exceed the platform's
// threshold (floor, or 5 × its own p95): every city, including one that never failed, then
// needs the step-up; the spike is imposed once and counted as locks_total{level=platform_attack}.
func TestPlatformAttackMode(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	f := newFixture(t, Config{TenantLimit: 100, PlatformLimit: 9}, WithClock(clock.Now))
	if _, platform := f.thresholds(f.tenant); platform != 9 {
		t.Fatalf("platform threshold without history = %d, want the floor 9", platform)
	}
	cities := []string{f.tenant, f.newTenant(), f.newTenant()}
	fired := 0
	for i := range 9 {
		d := f.attempt(cities[i%3], f.card(), f.ip(), true)
		wantAllowed(t, fmt.Sprintf("failure #%d", i+1), d)
		spikes, err := f.g.Failed(context.Background(), d)
		if err != nil {
			f.tb.Fatal(err)
		}
		for _, l := range append(d.Imposed, spikes...) {
			switch l {
			case LockPlatform:
				fired++
				if i != 8 {
					t.Errorf("platform attack imposed at failure #%d, want #9", i+1)
				}
			case LockAttack:
				t.Errorf("failure #%d put its city under attack; want only the platform", i+1)
			}
		}
		if d.PlatformLimit != 9 || d.CityLimit != 100 {
			t.Errorf("failure #%d: limits in force %d, %d; want city 100, platform 9", i+1, d.CityLimit, d.PlatformLimit)
		}
	}
	if fired != 1 {
		t.Fatalf("platform attack imposed %d times, want once", fired)
	}
	other := f.newTenant()
	if got, err := f.g.StepUpRequired(context.Background(), other, f.ip()); err != nil || !got {
		t.Errorf("StepUpRequired in a city that never failed = %v, %v; want true", got, err)
	}
	wantRefused(t, "a login in another city without a proof", f.attempt(other, f.card(), f.ip(), false), ReasonStepUp)
	wantAllowed(t, "the same with a proof", f.attempt(other, f.card(), f.ip(), true))
	if got := f.counter("madoguchi_login_locks_total", "level", LockPlatform); got != 1 {
		t.Errorf("locks_total{level=platform_attack} = %v, want 1", got)
	}

	// A platform with a busy history (p95 of 40 failures per window) has a higher threshold.
	g := newFixture(t, Config{PlatformLimit: 9}, WithClock(clock.Now))
	writeHistory(t, g, g.g.platformPrefix, clock.Now(), 14*24*12, func(int) int { return 40 })
	if _, platform := g.thresholds(g.tenant); platform != 201 {
		t.Errorf("platform threshold with a p95 of 40 = %d, want 201", platform)
	}
}
