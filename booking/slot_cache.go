package booking

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/madoguchi/madoguchi/booking/slotfeed"
)

// SlotCache keeps in process memory, per city, location and day, the slots that Availability,
// SlotsOn and BookableSlots read (open, with capacity; each with its booked and held places), so
// a rush of calendar reads costs one query per day and process, not one per request. The entries
// do not depend on the clock or on who reads: the deadline and "not started yet" are applied on
// every read. It also keeps the locations LocationByID reads; a change of a whole location
// (UpdateLocation announces one) or of the whole city drops them.
//
// Freshness comes from invalidation, not from the TTL. Every change of places or slots drops the
// days it touched, after its commit, synchronously in the process that made it and, through
// slotfeed, in every other process (Follow). While the subscription is not confirmed — at start,
// while Redis is down or silent — the cache is bypassed: every read goes to PostgreSQL and nothing
// is stored; a new subscription starts from an empty cache. The TTL only bounds the damage of a
// change whose message was lost while both ends looked healthy (the publisher's Redis call failed,
// the subscriber's did not).
//
// A read that started before a change of its day is not stored (each change takes a sequence
// number; a fill stores only days that did not change since it began), and concurrent misses of
// the same days share one query.
//
// It also remembers the slots the database found full (every place booked; held places do not
// count, as holds run out without a change being announced), so Reserve can refuse a full slot
// without a transaction. Such a mark is set only from the database's own answer, only when no
// change of the slot's day was seen since the refused transaction began, and it goes with every
// change of that day (a cancellation from any channel, a capacity raised), with the TTL, and
// whenever the cache is bypassed: a stale mark can only send a booking to the database, never
// refuse a place the database would give.
type SlotCache struct {
	cfg   SlotCacheConfig
	group singleflight.Group
	reads *prometheus.CounterVec
	live  prometheus.Gauge

	listenMu  sync.Mutex
	listeners []func(slotfeed.Change)
	onLive    []func(bool)

	mu      sync.RWMutex
	isLive  bool
	seq     uint64 // the last change's number
	floor   uint64 // fills that began before it are not stored (a clear, a sweep)
	days    map[dayKey]*cachedDay
	nslots  int
	changed map[dayKey]uint64 // since the last sweep: each day's last change
	// A change of a whole city, or of a run of days too long to list, is remembered per city and
	// per location.
	tenantChanged   map[uuid.UUID]uint64
	locationChanged map[[2]uuid.UUID]uint64
	nextSweep       time.Time
	full            map[[2]uuid.UUID]fullMark // {tenant, slot}: the database said every place is booked
	fullDays        map[dayKey][]uuid.UUID    // the marked slots of each day (some may be gone)
	// The locations LocationByID read, by city and id: a calendar page names its place on every
	// request. A change of the whole location (UpdateLocation announces one) or of the whole city
	// drops it; the TTL bounds it like a day's.
	locations map[[2]uuid.UUID]*cachedLocation
}

// fullMark is a slot the database found full: its day (for invalidation and the deadline) and
// start.
type fullMark struct {
	day      dayKey
	startsAt time.Time
	expires  time.Time
}

type cachedLocation struct {
	loc     Location // a copy; readers get copies
	expires time.Time
}

// SlotCacheConfig are a SlotCache's settings.
type SlotCacheConfig struct {
	// TTL is the backstop: how long a day stays cached with no change announced (default 1 s).
	TTL time.Duration
	// MaxSlots bounds the memory: the slots held over all days (default 200,000, some 40 MB).
	MaxSlots int
	// Metrics registers madoguchi_availability_cache_reads_total{result} and
	// madoguchi_availability_cache_live; nil: not exported.
	Metrics prometheus.Registerer
	// Clock measures the TTL (default time.Now).
	Clock func() time.Time
}

type dayKey struct {
	tenant, location uuid.UUID
	day              Date
}

type cachedDay struct {
	slots   []Slot // open, capacity > 0, in time order; shared with readers, never changed
	expires time.Time
}

// Results of madoguchi_availability_cache_reads_total.
const (
	cacheHit    = "hit"    // every day asked for was cached
	cacheMiss   = "miss"   // some days were read from PostgreSQL and stored
	cacheBypass = "bypass" // the subscription is not live: read from PostgreSQL, nothing stored
)

// spanLimit is the longest run of days a change drops day by day; a longer one drops the whole
// location.
const spanLimit = 400

// NewSlotCache returns an empty cache, bypassed until Follow (or SetLive) makes it live.
func NewSlotCache(cfg SlotCacheConfig) (*SlotCache, error) {
	if cfg.TTL <= 0 {
		cfg.TTL = time.Second
	}
	if cfg.MaxSlots <= 0 {
		cfg.MaxSlots = 200_000
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	c := &SlotCache{cfg: cfg,
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "madoguchi_availability_cache_reads_total",
			Help: "Availability reads by result: hit (all days cached), miss (some days read from PostgreSQL), bypass (the change feed is down: PostgreSQL, nothing cached)."},
			[]string{"result"}),
		live: prometheus.NewGauge(prometheus.GaugeOpts{Name: "madoguchi_availability_cache_live",
			Help: "1 while the availability cache follows the slot change feed and is used; 0 while it is bypassed."}),
	}
	for _, r := range []string{cacheHit, cacheMiss, cacheBypass} {
		c.reads.WithLabelValues(r)
	}
	if cfg.Metrics != nil {
		for _, m := range []prometheus.Collector{c.reads, c.live} {
			if err := cfg.Metrics.Register(m); err != nil {
				return nil, fmt.Errorf("availability cache metrics: %w", err)
			}
		}
	}
	c.clear()
	return c, nil
}

// Follow keeps the cache in step with every process's changes until ctx ends: it subscribes to
// the slot change feed, drops the days each change names (changes from origin, this process's
// own publisher, were applied before they were published), uses the cache only while the
// subscription is confirmed, and starts each new subscription with an empty cache.
func (c *SlotCache) Follow(ctx context.Context, rdb redis.UniversalClient, origin string, log *slog.Logger) error {
	return slotfeed.NewSubscriber(slotfeed.SubscriberConfig{
		Redis: rdb,
		Log:   log,
		OnLive: func(live bool) {
			c.SetLive(live)
			if log != nil {
				log.Info("availability cache", "live", live)
			}
			c.listenMu.Lock()
			ls := c.onLive
			c.listenMu.Unlock()
			for _, fn := range ls {
				fn(live)
			}
		},
		OnChange: func(ch slotfeed.Change) {
			if ch.Origin != origin || origin == "" {
				c.Invalidate(ch)
			}
			c.listenMu.Lock()
			ls := c.listeners
			c.listenMu.Unlock()
			for _, fn := range ls {
				fn(ch)
			}
		},
	}).Run(ctx)
}

// OnChange registers fn to be called by Follow with every change from the feed (any city, any
// process, this one's too), after the cache dropped its days: whoever reads again on fn's call —
// the call-center console's live screen — reads the new places, never the cached ones. fn runs
// on Follow's goroutine, in the order of the changes, and must not block.
func (c *SlotCache) OnChange(fn func(slotfeed.Change)) {
	c.listenMu.Lock()
	defer c.listenMu.Unlock()
	c.listeners = append(c.listeners[:len(c.listeners):len(c.listeners)], fn)
}

// OnLive registers fn to be called by Follow when the subscription to the feed is confirmed
// (true: changes published from now on arrive; the cache starts empty) and when it is lost
// (false: changes may be missed until the next true). A listener that shows places — the live
// screens — refreshes on both. fn runs on Follow's goroutine, after the cache changed state, and
// must not block.
func (c *SlotCache) OnLive(fn func(bool)) {
	c.listenMu.Lock()
	defer c.listenMu.Unlock()
	c.onLive = append(c.onLive[:len(c.onLive):len(c.onLive)], fn)
}

// SetLive empties the cache and uses it from now on (true) or bypasses it (false).
func (c *SlotCache) SetLive(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clear()
	c.isLive = live
	if live {
		c.live.Set(1)
	} else {
		c.live.Set(0)
	}
}

// Live reports whether reads use the cache.
func (c *SlotCache) Live() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.isLive
}

// clear drops everything; fills under way are not stored. The caller holds mu (or owns c).
func (c *SlotCache) clear() {
	c.seq++
	c.floor = c.seq
	c.days = map[dayKey]*cachedDay{}
	c.nslots = 0
	c.changed = map[dayKey]uint64{}
	c.tenantChanged = map[uuid.UUID]uint64{}
	c.locationChanged = map[[2]uuid.UUID]uint64{}
	c.locations = map[[2]uuid.UUID]*cachedLocation{}
	c.nextSweep = c.cfg.Clock().Add(c.sweepEvery())
	c.full = map[[2]uuid.UUID]fullMark{}
	c.fullDays = map[dayKey][]uuid.UUID{}
}

// sweepEvery is how often the change marks are forgotten and expired days dropped.
func (c *SlotCache) sweepEvery() time.Duration { return max(10*c.cfg.TTL, 30*time.Second) }

// Invalidate drops the days a change names (all of the city's when it names none).
func (c *SlotCache) Invalidate(ch slotfeed.Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	if ch.All() {
		c.tenantChanged[ch.Tenant] = c.seq
		for k, e := range c.days {
			if k.tenant == ch.Tenant {
				c.drop(k, e)
			}
		}
		c.dropFull(func(k dayKey) bool { return k.tenant == ch.Tenant })
		for k := range c.locations {
			if k[0] == ch.Tenant {
				delete(c.locations, k)
			}
		}
		return
	}
	for _, sp := range ch.Days {
		from, err1 := ParseDate(sp.From)
		to, err2 := ParseDate(sp.To)
		n := int(to.StdTime().Sub(from.StdTime()).Hours()/24) + 1
		if err1 != nil || err2 != nil || n > spanLimit {
			c.locationChanged[[2]uuid.UUID{ch.Tenant, sp.Location}] = c.seq
			delete(c.locations, [2]uuid.UUID{ch.Tenant, sp.Location})
			for k, e := range c.days {
				if k.tenant == ch.Tenant && k.location == sp.Location {
					c.drop(k, e)
				}
			}
			c.dropFull(func(k dayKey) bool { return k.tenant == ch.Tenant && k.location == sp.Location })
			continue
		}
		for d := from; !to.Before(d); d = d.AddDays(1) {
			k := dayKey{ch.Tenant, sp.Location, d}
			c.changed[k] = c.seq
			if e := c.days[k]; e != nil {
				c.drop(k, e)
			}
			c.dropFullDay(k)
		}
	}
}

// dropFull forgets the full marks of the days match selects. The caller holds mu.
func (c *SlotCache) dropFull(match func(dayKey) bool) {
	for k := range c.fullDays {
		if match(k) {
			c.dropFullDay(k)
		}
	}
}

// dropFullDay forgets the full marks of one day. The caller holds mu.
func (c *SlotCache) dropFullDay(k dayKey) {
	for _, id := range c.fullDays[k] {
		if m, ok := c.full[[2]uuid.UUID{k.tenant, id}]; ok && m.day == k {
			delete(c.full, [2]uuid.UUID{k.tenant, id})
		}
	}
	delete(c.fullDays, k)
}

// fullSince returns the sequence number a booking attempt takes before its transaction, to
// present to markFull; ok is false while the cache is bypassed.
func (c *SlotCache) fullSince() (start uint64, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.seq, c.isLive
}

// knownFull returns the mark of a slot the database found full, if it is still good.
func (c *SlotCache) knownFull(tenantID, slotID uuid.UUID) (fullMark, bool) {
	now := c.cfg.Clock()
	c.mu.RLock()
	defer c.mu.RUnlock()
	m, ok := c.full[[2]uuid.UUID{tenantID, slotID}]
	if !c.isLive || !ok || !now.Before(m.expires) {
		return fullMark{}, false
	}
	return m, true
}

// markFull remembers that the database, in a transaction that began after start (fullSince),
// found every place of the slot booked. Nothing is stored when the slot's day, location or city
// changed since start, or the cache was cleared or bypassed.
func (c *SlotCache) markFull(tenantID, slotID, locationID uuid.UUID, day Date, startsAt time.Time, start uint64) {
	now := c.cfg.Clock()
	k := dayKey{tenantID, locationID, day}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.isLive || start < c.floor || c.tenantChanged[tenantID] > start ||
		c.locationChanged[[2]uuid.UUID{tenantID, locationID}] > start || c.changed[k] > start {
		return
	}
	id := [2]uuid.UUID{tenantID, slotID}
	if _, had := c.full[id]; !had {
		if len(c.full) >= c.cfg.MaxSlots { // over the bound: start again (a mark only saves work)
			c.full, c.fullDays = map[[2]uuid.UUID]fullMark{}, map[dayKey][]uuid.UUID{}
		}
		c.fullDays[k] = append(c.fullDays[k], slotID)
	}
	c.full[id] = fullMark{day: k, startsAt: startsAt, expires: now.Add(c.cfg.TTL)}
	if now.After(c.nextSweep) {
		c.sweep(now)
	}
}

func (c *SlotCache) drop(k dayKey, e *cachedDay) {
	c.nslots -= len(e.slots)
	delete(c.days, k)
}

// lookup returns the cached days of [from, to] and the days missing, with the sequence number a
// fill of the missing days must present to put. ok is false while the cache is bypassed.
func (c *SlotCache) lookup(tenantID, locationID uuid.UUID, from, to Date) (have map[Date][]Slot, missing []Date, start uint64, ok bool) {
	now := c.cfg.Clock()
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.isLive {
		c.reads.WithLabelValues(cacheBypass).Inc()
		return nil, nil, 0, false
	}
	have = map[Date][]Slot{}
	for d := from; !to.Before(d); d = d.AddDays(1) {
		if e := c.days[dayKey{tenantID, locationID, d}]; e != nil && now.Before(e.expires) {
			have[d] = e.slots
		} else {
			missing = append(missing, d)
		}
	}
	if len(missing) == 0 {
		c.reads.WithLabelValues(cacheHit).Inc()
	} else {
		c.reads.WithLabelValues(cacheMiss).Inc()
	}
	return have, missing, c.seq, true
}

// put stores the days [from, to] read by a fill that began at start (got: their slots by day; a
// day absent from got has none). Days that changed since start are not stored.
func (c *SlotCache) put(tenantID, locationID uuid.UUID, from, to Date, got map[Date][]Slot, start uint64) {
	now := c.cfg.Clock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.isLive || start < c.floor || c.tenantChanged[tenantID] > start || c.locationChanged[[2]uuid.UUID{tenantID, locationID}] > start {
		return
	}
	for d := from; !to.Before(d); d = d.AddDays(1) {
		k := dayKey{tenantID, locationID, d}
		if c.changed[k] > start {
			continue
		}
		if e := c.days[k]; e != nil {
			c.drop(k, e)
		}
		c.days[k] = &cachedDay{slots: got[d], expires: now.Add(c.cfg.TTL)}
		c.nslots += len(got[d])
	}
	if now.After(c.nextSweep) {
		c.sweep(now)
	}
	if c.nslots > c.cfg.MaxSlots { // over the bound: drop days at random (map order) down to 3/4
		for k, e := range c.days {
			if c.nslots <= c.cfg.MaxSlots*3/4 {
				break
			}
			c.drop(k, e)
		}
	}
}

// sweep forgets the change marks (fills under way are not stored: they could not be checked) and
// drops the expired days.
func (c *SlotCache) sweep(now time.Time) {
	c.seq++
	c.floor = c.seq
	c.changed = map[dayKey]uint64{}
	c.tenantChanged = map[uuid.UUID]uint64{}
	c.locationChanged = map[[2]uuid.UUID]uint64{}
	for k, e := range c.days {
		if !now.Before(e.expires) {
			c.drop(k, e)
		}
	}
	c.dropFull(func(k dayKey) bool {
		for _, id := range c.fullDays[k] {
			if m, ok := c.full[[2]uuid.UUID{k.tenant, id}]; ok && now.Before(m.expires) {
				return false
			}
		}
		return true
	})
	for k, e := range c.locations {
		if !now.Before(e.expires) {
			delete(c.locations, k)
		}
	}
	c.nextSweep = now.Add(c.sweepEvery())
}

// maxLocations bounds the locations kept (a city has a few; the bound only stops a flood of
// distinct ids, which are never stored unless they exist).
const maxLocations = 10_000

// lookupLocation returns a copy of the cached location, or nil and the sequence number a fill
// must present to putLocation. ok is false while the cache is bypassed.
func (c *SlotCache) lookupLocation(tenantID, id uuid.UUID) (l *Location, start uint64, ok bool) {
	now := c.cfg.Clock()
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.isLive {
		return nil, 0, false
	}
	if e := c.locations[[2]uuid.UUID{tenantID, id}]; e != nil && now.Before(e.expires) {
		cp := e.loc
		return &cp, c.seq, true
	}
	return nil, c.seq, true
}

// putLocation stores a location read by a fill that began at start, unless its location or city
// changed since.
func (c *SlotCache) putLocation(l *Location, start uint64) {
	now := c.cfg.Clock()
	c.mu.Lock()
	defer c.mu.Unlock()
	k := [2]uuid.UUID{l.TenantID, l.ID}
	if !c.isLive || start < c.floor || c.tenantChanged[l.TenantID] > start || c.locationChanged[k] > start {
		return
	}
	if len(c.locations) >= maxLocations {
		for k := range c.locations { // over the bound: drop one at random (map order)
			delete(c.locations, k)
			break
		}
	}
	c.locations[k] = &cachedLocation{loc: *l, expires: now.Add(c.cfg.TTL)}
}
