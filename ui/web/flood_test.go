package web

import (
	"fmt"
	"testing"
	"time"
)

// TestFloodCounterBeyondItsExactKeys: past the addresses it counts exactly, a flood limiter
// still counts (and refuses) new addresses, with bounded memory, and an address counted in the
// sketch is not refused before its own limit unless the sketch is crowded.
func TestFloodCounterBeyondItsExactKeys(t *testing.T) {
	t.Parallel()
	l := newFloodCounter(3)
	now := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	for i := range limiterKeys {
		l.allow(fmt.Sprintf("k%d", i), now)
	}
	for i := range 1000 { // 1,000 addresses past the exact map: each gets its 3, then 429
		key := fmt.Sprintf("new-%d", i)
		for n := 1; n <= 3; n++ {
			if ok, _ := l.allow(key, now); !ok {
				t.Fatalf("address %d refused at request %d of 3", i, n)
			}
		}
		if ok, wait := l.allow(key, now); ok || wait <= 0 {
			t.Fatalf("address %d past its limit = %v, %v, want refused until the window ends", i, ok, wait)
		}
	}
	if len(l.hits) != limiterKeys || len(l.sketch) != sketchRows*sketchWidth {
		t.Errorf("memory: %d exact keys, sketch of %d, want %d and %d", len(l.hits), len(l.sketch), limiterKeys, sketchRows*sketchWidth)
	}
	// A new window starts clean.
	if ok, _ := l.allow("new-0", now.Add(time.Minute)); !ok {
		t.Error("refused in the next window, want allowed")
	}
}

func TestFloodKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.1":                    "192.0.2.1",
		"::ffff:192.0.2.1":             "192.0.2.1",
		"2001:db8:1:2:aaaa::1":         "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff::ffff": "2001:db8:1:2::/64",
		"not-an-ip":                    "not-an-ip",
	} {
		if got := floodKey(in); got != want {
			t.Errorf("floodKey(%q) = %q, want %q", in, got, want)
		}
	}
}
