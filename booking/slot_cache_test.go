package booking_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/booking/slotfeed"
	"github.com/madoguchi/madoguchi/jobs/jobstest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// inbox collects the changes a process's cache applied from the feed (SlotCache.OnChange).
type inbox struct {
	mu     sync.Mutex
	got    []slotfeed.Change
	signal chan struct{}
}

func newInbox() *inbox { return &inbox{signal: make(chan struct{}, 1)} }

func (in *inbox) add(c slotfeed.Change) {
	in.mu.Lock()
	in.got = append(in.got, c)
	in.mu.Unlock()
	select {
	case in.signal <- struct{}{}:
	default:
	}
}

// has reports whether a change of tenant id was applied, and forgets what was applied up to it.
func (in *inbox) has(id uuid.UUID) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i, c := range in.got {
		if c.Tenant == id {
			in.got = append([]slotfeed.Change(nil), in.got[i+1:]...)
			return true
		}
	}
	return false
}

// until returns, and forgets, the changes applied up to the first that matches; it waits for
// that one (the deadline only stops a broken test).
func (in *inbox) until(t *testing.T, match func(slotfeed.Change) bool) []slotfeed.Change {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		in.mu.Lock()
		for i, c := range in.got {
			if match(c) {
				out := in.got[: i+1 : i+1]
				in.got = append([]slotfeed.Change(nil), in.got[i+1:]...)
				in.mu.Unlock()
				return out
			}
		}
		in.mu.Unlock()
		select {
		case <-in.signal:
		case <-deadline:
			t.Fatal("the change never reached the other process")
		}
	}
}

// webProcess is what one web process has: a booking service with its availability cache
// (lifetime one hour: only a change message can make it read again), the publisher of its
// changes, and the changes it applied from the feed.
type webProcess struct {
	cache *booking.SlotCache
	pub   *slotfeed.Publisher
	inbox *inbox
	svc   *booking.Service
}

// newWebProcess wires a process as cmd/internal/app does; svc is nil until the caller builds the
// service on cfg (configure). It follows the feed until the test ends and returns once its cache
// is live.
func newWebProcess(t *testing.T, rdb redis.UniversalClient) *webProcess {
	t.Helper()
	p := &webProcess{inbox: newInbox()}
	var err error
	if p.cache, err = booking.NewSlotCache(booking.SlotCacheConfig{TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	p.cache.OnChange(p.inbox.add)
	if p.pub, err = slotfeed.NewPublisher(slotfeed.PublisherConfig{Redis: rdb}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.cache.Follow(ctx, rdb, p.pub.Origin(), nil); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	// A message published before the subscription is confirmed is lost: publish markers until
	// one arrives. Then the cache is live.
	for i := 0; ; i++ {
		marker := uuid.New()
		if err := p.pub.Publish(ctx, slotfeed.Change{Tenant: marker}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.inbox.signal:
		case <-time.After(50 * time.Millisecond):
		}
		if p.inbox.has(marker) {
			break
		}
		if i == 200 {
			t.Fatal("the feed never delivered")
		}
	}
	if !p.cache.Live() {
		t.Fatal("cache not live after its feed delivered")
	}
	return p
}

func (p *webProcess) configure(cfg *booking.Config) {
	cfg.Cache, cfg.Announce = p.cache, p.pub.Announce
}

// barrier returns the changes to publishes applied up to now: p publishes a marker after
// everything it published before; once to has applied the marker, it has applied those.
func (p *webProcess) barrier(t *testing.T, to *webProcess) []slotfeed.Change {
	t.Helper()
	marker := uuid.New()
	if err := p.pub.Publish(context.Background(), slotfeed.Change{Tenant: marker}); err != nil {
		t.Fatal(err)
	}
	got := to.inbox.until(t, func(c slotfeed.Change) bool { return c.Tenant == marker })
	return got[:len(got)-1]
}

// availabilityView is what the calendars and time lists show of a city: every location's days for
// staff (a party of one) and for a citizen (a party of two), the times staff could book, and the
// location itself as a calendar page reads it (LocationByID: name, active flag).
type availabilityView struct {
	Staff, Citizen map[uuid.UUID][]booking.DayAvailability
	Slots          map[uuid.UUID][]booking.Slot
	Places         map[uuid.UUID]booking.Location
}

func viewOf(t *testing.T, svc *booking.Service, tn *tenant.Tenant, from, to booking.Date) availabilityView {
	t.Helper()
	ctx := context.Background()
	locs, err := svc.Locations(ctx, tn.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	v := availabilityView{Staff: map[uuid.UUID][]booking.DayAvailability{}, Citizen: map[uuid.UUID][]booking.DayAvailability{},
		Slots: map[uuid.UUID][]booking.Slot{}, Places: map[uuid.UUID]booking.Location{}}
	for _, l := range locs {
		p, err := svc.LocationByID(ctx, tn.ID, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
		v.Places[l.ID] = *p
		if v.Staff[l.ID], err = svc.Availability(ctx, tn, l.ID, from, to, 1, staff); err != nil {
			t.Fatal(err)
		}
		if v.Citizen[l.ID], err = svc.Availability(ctx, tn, l.ID, from, to, 2, web); err != nil {
			t.Fatal(err)
		}
		if v.Slots[l.ID], err = svc.BookableSlots(ctx, tn, l.ID, from, to, staff); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

// slotsDigest is a digest of the city's slots as stored.
func slotsDigest(t *testing.T, d *tenanttest.DB, tn *tenant.Tenant) string {
	t.Helper()
	var digest string
	err := tenant.InTx(context.Background(), d.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '')) FROM slots x`).Scan(ctx, &digest)
	})
	if err != nil {
		t.Fatal(err)
	}
	return digest
}

// slotCases are the exported methods of booking.Service without a record case (record_test.go)
// that write places or slots, or holds.
var slotCases = map[string]recordCase{
	"HoldSlot": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := w.svc.HoldSlot(ctx, w.t, w.slot.ID, 2, uuid.Nil, web)
			return err
		}
	},
	"ReleaseHold": func(t *testing.T, w *recordWorld) func(context.Context) error {
		h, err := w.svc.HoldSlot(context.Background(), w.t, w.slot.ID, 2, uuid.Nil, web)
		if err != nil {
			t.Fatal(err)
		}
		return func(ctx context.Context) error { return w.svc.ReleaseHold(ctx, w.t, h.ID) }
	},
	"ExtendHold": func(t *testing.T, w *recordWorld) func(context.Context) error {
		h, err := w.svc.HoldSlot(context.Background(), w.t, w.slot.ID, 2, uuid.Nil, web)
		if err != nil {
			t.Fatal(err)
		}
		return func(ctx context.Context) error { _, err := w.svc.ExtendHold(ctx, w.t, h.ID); return err }
	},
	"ReleaseExpiredHolds": func(t *testing.T, w *recordWorld) func(context.Context) error {
		if _, err := w.svc.HoldSlot(context.Background(), w.t, w.slot.ID, 2, uuid.Nil, web); err != nil {
			t.Fatal(err)
		}
		w.clock.Set(w.clock.Now().Add(11 * time.Minute)) // the hold ran out; its places still count
		return func(ctx context.Context) error {
			n, err := w.svc.ReleaseExpiredHolds(ctx, w.t)
			if err == nil && n != 1 {
				err = fmt.Errorf("released %d holds, want 1", n)
			}
			return err
		}
	},
	"GenerateSlots": func(t *testing.T, w *recordWorld) func(context.Context) error {
		w.clock.Set(w.clock.Now().AddDate(0, 0, 1)) // the horizon gains a day
		return func(ctx context.Context) error { return w.svc.GenerateSlots(ctx, w.t) }
	},
}

// changesPlaces are the methods whose case changes a location as a calendar page reads it
// (LocationByID, cached).
var changesPlaces = map[string]bool{"UpdateLocation": true}

// changesSlots are the methods whose case changes the city's places or slots.
var changesSlots = map[string]bool{
	"Reserve": true, "Change": true, "Cancel": true, "HoldSlot": true, "ReleaseHold": true, "ReleaseExpiredHolds": true,
	"GenerateSlots": true, "SetWeeklySchedule": true, "AddOverride": true, "DeleteOverride": true, "UpdateSettings": true,
}

// slotReads are the exported methods that write no places, slots or holds, and have no record
// case: reads, mail, imports (cards only), login, the clock.
var slotReads = []string{
	"Availability", "Board", "BookableSlots", "CardByID", "CardsByID", "CardHardLocked", "CardNumbers", "ClaimOutbox", "ClaimOutboxRows", "CleanupOutbox",
	"CommitImport", "CountCardsForChange", "CurrentReservation", "DaySummary", "FillRates", "FlaggedSlots", "FleetDaily", "FleetOverview", "HoldByID", "ImportJob", "ImportJobs",
	"ImportProfile", "LocationByID", "Locations", "Login", "LoginChallenge", "LoginStepUp", "MailFailed", "MailSent", "MailTemplateList",
	"MailTemplateOf", "MarkOutboxEnqueued", "MonthlyReport", "Now", "OutboxBacklog", "OutboxByID", "OverrideByID", "OverridesFrom",
	"PreviewImport", "PreviewMail", "QueueReminders", "RecordMails", "ReleaseOutbox", "ReservationByID", "RunImportValidate",
	"BookingCards", "PlaceHours", "SlotByID", "SlotsBetween", "SlotsOn", "StartMail", "StartMails", "Summary", "UpdateFleetFigures", "WeeklyWindows",
}

// TestSlotChangesReachEveryProcess: every operation of booking.Service that changes places or
// slots drops what it changed from the availability cache of another web process, through the
// feed, whoever calls it — web, staff, worker. Two processes share PostgreSQL and Redis; the
// second one's cache lives an hour, it has read everything before the operation, and the test
// waits for nothing but the change's message: after it, the second process shows exactly what
// PostgreSQL holds. The case list (record_test.go's cases and slotCases) must name every
// exported method, or slotReads must; each case in changesSlots must really change slots, and a
// case that changes slots must be in changesSlots.
func TestSlotChangesReachEveryProcess(t *testing.T) {
	methods := reflect.TypeOf(&booking.Service{})
	known := map[string]bool{}
	for _, name := range slotReads {
		known[name] = true
	}
	cases := map[string]recordCase{}
	for name, c := range recordCases {
		cases[name] = c
	}
	for name, c := range slotCases {
		cases[name] = c
	}
	for i := range methods.NumMethod() {
		name := methods.Method(i).Name
		if _, ok := cases[name]; !ok && !known[name] {
			t.Errorf("exported method %s of booking.Service is neither a case (recordCases, slotCases) nor in slotReads", name)
		}
	}
	for name := range changesSlots {
		if _, ok := cases[name]; !ok {
			t.Errorf("changesSlots names %s, which has no case", name)
		}
	}
	rdb := jobstest.StartRedis(t).Client(t)
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			a := newWebProcess(t, rdb)
			w := newRecordWorldWith(t, a.configure)
			b := newWebProcess(t, rdb)
			b.svc = booking.NewService(w.d.App, booking.Config{Now: w.clock.Now, SecretKey: bookingtest.Key, Cache: b.cache, Announce: b.pub.Announce})
			plain := booking.NewService(w.d.App, booking.Config{Now: w.clock.Now, SecretKey: bookingtest.Key})

			op := cases[name](t, w)
			a.barrier(t, b) // the setup's changes are applied
			today := booking.DateOf(w.clock.Now())
			from, to := today, today.AddDays(booking.HorizonDays(w.t)+40)
			cached := viewOf(t, b.svc, w.t, from, to)
			if again := viewOf(t, b.svc, w.t, from, to); !reflect.DeepEqual(again, cached) {
				t.Fatal("the second process reads differently twice in a row with nothing changed")
			}
			before := slotsDigest(t, w.d, w.t)
			if err := op(ctx); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			changes := a.barrier(t, b)
			changed := slotsDigest(t, w.d, w.t) != before
			want := viewOf(t, plain, w.t, from, to)
			if got := viewOf(t, b.svc, w.t, from, to); !reflect.DeepEqual(got, want) {
				t.Errorf("after %s (changes applied: %+v) the second process shows what it cached before, not what PostgreSQL holds", name, changes)
			}
			if got := viewOf(t, w.svc, w.t, from, to); !reflect.DeepEqual(got, want) {
				t.Errorf("after %s the process that made the change does not show it", name)
			}
			switch {
			case changesSlots[name] && !changed:
				t.Errorf("%s changed no slot: the case tests nothing", name)
			case changesSlots[name] && reflect.DeepEqual(cached, want):
				t.Errorf("%s changed nothing the calendars show: the case tests nothing", name)
			case changesPlaces[name] && reflect.DeepEqual(cached.Places, want.Places):
				t.Errorf("%s changed no location a calendar page shows: the case tests nothing", name)
			case !changesSlots[name] && changed:
				t.Errorf("%s changed slots: add it to changesSlots", name)
			}
			for _, c := range changes {
				if c.Tenant == w.t.ID && c.Origin != a.pub.Origin() {
					t.Errorf("change %+v of this city did not come from the process that made it", c)
				}
			}
		})
	}
}

// TestSlotCacheOnLive: Follow tells its OnLive listeners when the subscription is confirmed,
// lost (Redis down: changes may be missed) and confirmed again, after the cache itself changed
// state, and its OnChange listeners still get every change — the live screens refresh on all
// three.
func TestSlotCacheOnLive(t *testing.T) {
	r := jobstest.StartRedis(t)
	rdb := r.Client(t)
	cache, err := booking.NewSlotCache(booking.SlotCacheConfig{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	type state struct{ live, cacheLive bool }
	states := make(chan state, 16)
	changes := make(chan slotfeed.Change, 16)
	cache.OnLive(func(live bool) { states <- state{live, cache.Live()} })
	cache.OnChange(func(c slotfeed.Change) { changes <- c })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { cache.Follow(ctx, rdb, "", nil); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	next := func() state {
		t.Helper()
		select {
		case s := <-states:
			return s
		case <-time.After(15 * time.Second):
			t.Fatal("no OnLive call")
			return state{}
		}
	}
	if s := next(); s != (state{true, true}) {
		t.Fatalf("first OnLive %+v, want live with the cache live", s)
	}
	r.Stop()
	if s := next(); s != (state{false, false}) {
		t.Fatalf("with Redis down %+v, want not live with the cache bypassed", s)
	}
	r.Start()
	for s := next(); !s.live; s = next() {
	}
	city := uuid.New()
	pub, err := slotfeed.NewPublisher(slotfeed.PublisherConfig{Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, slotfeed.Change{Tenant: city}); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-changes:
		if c.Tenant != city {
			t.Errorf("change of %v, want %v", c.Tenant, city)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no change after the subscription came back")
	}
}
