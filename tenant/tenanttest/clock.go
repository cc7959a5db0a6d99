package tenanttest

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// NowVar names the environment variable that fixes the moment the tests run at, as RFC 3339
// (e.g. 2026-12-28T23:30:00+09:00). `make test-dates` sets it to moments where calendars break:
// the year-end closure, holidays, the last day of a month, both sides of midnight JST. Only test
// helpers read it; production code takes its clock from cmd/.
const NowVar = "MADOGUCHI_TEST_NOW"

var (
	nowOnce sync.Once
	nowAt   time.Time
	nowErr  error
)

// Now returns the moment every test of this process runs at: MADOGUCHI_TEST_NOW when set,
// otherwise the wall clock when Now was first called (whole seconds). It is one moment for the
// whole process, so dates a test computes agree with the clocks its services were given. A
// malformed MADOGUCHI_TEST_NOW panics: running at the wrong moment would pass for the wrong reason.
func Now() time.Time {
	nowOnce.Do(func() {
		s := os.Getenv(NowVar)
		if s == "" {
			nowAt = time.Now().Truncate(time.Second)
			return
		}
		nowAt, nowErr = time.Parse(time.RFC3339, s)
	})
	if nowErr != nil {
		panic(fmt.Sprintf("%s: %v", NowVar, nowErr))
	}
	return nowAt
}

// Clock is a settable clock for the services under test. It stands still until a test moves it,
// so a test decides exactly which side of a deadline it is on. Safe for concurrent use.
type Clock struct{ t atomic.Pointer[time.Time] }

// NewClock returns a clock standing at Now().
func NewClock() *Clock { return NewClockAt(Now()) }

// NewClockAt returns a clock standing at t.
func NewClockAt(t time.Time) *Clock {
	c := &Clock{}
	c.Set(t)
	return c
}

// Now returns the clock's time; pass the method value (c.Now) to services as their clock.
func (c *Clock) Now() time.Time { return *c.t.Load() }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.t.Store(&t) }

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	for {
		old := c.t.Load()
		t := old.Add(d)
		if c.t.CompareAndSwap(old, &t) {
			return
		}
	}
}

// CheckClock is the canary of `make test-dates`: it fails tb when MADOGUCHI_TEST_NOW is set and
// now (a clock a package's test helpers hand to the services under test) does not stand at that
// moment, so the date runs cannot pass by setting a variable nobody reads.
func CheckClock(tb testing.TB, what string, now func() time.Time) {
	tb.Helper()
	s := os.Getenv(NowVar)
	if s == "" {
		return
	}
	want, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatalf("%s=%q: %v", NowVar, s, err)
	}
	if got := now(); !got.Equal(want) {
		tb.Fatalf("%s clock = %s, want %s=%s", what, got.Format(time.RFC3339), NowVar, want.Format(time.RFC3339))
	}
}
