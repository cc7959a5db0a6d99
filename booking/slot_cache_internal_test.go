package booking

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking/slotfeed"
)

// TestSlotCacheKeepsNoStaleFill walks the cache through its rules with a hand-driven clock: a
// read that began before a change of its day is not stored (the change committed after the read's
// snapshot), other days are; whole-city and long changes drop everything they cover; a bypassed
// cache neither answers nor stores, and comes back empty; the TTL and the size bound hold.
func TestSlotCacheKeepsNoStaleFill(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, JST)
	c, err := NewSlotCache(SlotCacheConfig{TTL: time.Minute, MaxSlots: 8, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	city, loc, other := uuid.New(), uuid.New(), uuid.New()
	d1, d2 := Date{2026, 12, 1}, Date{2026, 12, 2}
	slots := func(n int) []Slot { return make([]Slot, n) }
	cached := func(l uuid.UUID, from, to Date) (int, bool) {
		t.Helper()
		have, _, _, ok := c.lookup(city, l, from, to)
		return len(have), ok
	}
	change := func(spans ...slotfeed.Span) slotfeed.Change {
		return slotfeed.Change{V: slotfeed.Version, Tenant: city, Days: spans}
	}

	if _, _, _, ok := c.lookup(city, loc, d1, d2); ok {
		t.Fatal("a new cache answers before it follows the feed, want bypassed")
	}
	c.SetLive(true)
	_, missing, start, ok := c.lookup(city, loc, d1, d2)
	if !ok || len(missing) != 2 {
		t.Fatalf("lookup of an empty cache = missing %v, ok %v; want both days missing", missing, ok)
	}
	c.Invalidate(change(daySpan(loc, d1, d1))) // committed while the read ran
	c.put(city, loc, d1, d2, map[Date][]Slot{d1: slots(2), d2: slots(2)}, start)
	if have, missing, _, _ := c.lookup(city, loc, d1, d2); len(have) != 1 || have[d2] == nil || len(missing) != 1 || missing[0] != d1 {
		t.Errorf("after a fill that began before d1 changed: cached %v, missing %v; want d2 only", have, missing)
	}
	_, _, start, _ = c.lookup(city, loc, d1, d1)
	c.put(city, loc, d1, d1, map[Date][]Slot{d1: slots(1)}, start)
	if n, _ := cached(loc, d1, d2); n != 2 {
		t.Errorf("a fill that began after the change: %d days cached, want 2", n)
	}

	_, _, start, _ = c.lookup(city, other, d1, d1)
	c.Invalidate(slotfeed.Change{V: slotfeed.Version, Tenant: city}) // the whole city
	c.put(city, other, d1, d1, map[Date][]Slot{d1: slots(1)}, start)
	if n, _ := cached(loc, d1, d2); n != 0 {
		t.Errorf("after a change of the whole city %d days stay cached", n)
	}
	if n, _ := cached(other, d1, d1); n != 0 {
		t.Error("a fill that began before a change of the whole city was stored")
	}

	_, _, start, _ = c.lookup(city, loc, d1, d2)
	c.put(city, loc, d1, d2, nil, start) // days without slots are cached too
	if n, _ := cached(loc, d1, d2); n != 2 {
		t.Errorf("%d empty days cached, want 2", n)
	}
	c.Invalidate(change(daySpan(loc, Date{2026, 1, 1}, Date{2027, 12, 31}))) // too long to list
	if n, _ := cached(loc, d1, d2); n != 0 {
		t.Errorf("after a change of two years %d days stay cached", n)
	}

	_, _, start, _ = c.lookup(city, loc, d1, d1)
	c.SetLive(false)
	c.put(city, loc, d1, d1, map[Date][]Slot{d1: slots(1)}, start)
	if _, ok := cached(loc, d1, d1); ok {
		t.Error("a bypassed cache answers")
	}
	c.SetLive(true)
	if n, _ := cached(loc, d1, d1); n != 0 {
		t.Error("a cache live again kept a day from before")
	}

	_, _, start, _ = c.lookup(city, loc, d1, d2)
	c.put(city, loc, d1, d2, map[Date][]Slot{d1: slots(1), d2: slots(1)}, start)
	now = now.Add(time.Minute)
	if n, _ := cached(loc, d1, d2); n != 0 {
		t.Errorf("%d days cached after their TTL", n)
	}

	_, _, start, _ = c.lookup(city, loc, d1, d2)
	c.put(city, loc, d1, d2, map[Date][]Slot{d1: slots(5), d2: slots(5)}, start)
	if c.nslots > 8 {
		t.Errorf("%d slots held, bound 8", c.nslots)
	}
}
