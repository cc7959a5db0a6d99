package tenant

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// EventKind is what event_counts counts per city: figures the vendor's fleet overview needs that
// otherwise live only in Redis (login locks) or in one process's metrics (booking errors).
type EventKind string

// Event kinds.
const (
	// EventBookingError is a hold, booking, change or cancellation refused; the reason is the
	// refusal's message key (slot.full, card.already_booked, …) or "internal".
	EventBookingError EventKind = "booking_error"
	// EventLoginLock is a lock imposed on a login; the reason is its level (citizen_soft,
	// citizen_hard, citizen_ip_spray, staff_soft, staff_hard).
	EventLoginLock EventKind = "login_lock"
)

// EventBucket is the width of event_counts' time buckets. UTC multiples of five minutes are JST
// multiples too, so a JST day is a whole number of buckets.
const EventBucket = 5 * time.Minute

// maxPendingEvents bounds the counts an Events keeps while the database is unreachable; past it
// new events are dropped (and counted in Dropped), never the process's memory.
const maxPendingEvents = 100_000

var eventReasonRE = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,63}$`)

// eventReason returns r when event_counts accepts it, "other" otherwise: reasons are message keys
// and level names, never text from a user.
func eventReason(r string) string {
	if eventReasonRE.MatchString(r) {
		return r
	}
	return "other"
}

// eventCount is one row of event_counts.
type eventCount struct {
	bun.BaseModel `bun:"table:event_counts,alias:ec"`

	TenantID uuid.UUID `bun:"tenant_id,pk,type:uuid"`
	Bucket   time.Time `bun:"bucket,pk"`
	Kind     EventKind `bun:"kind,pk"`
	Reason   string    `bun:"reason,pk"`
	N        int64     `bun:"n,notnull"`
}

// upsertEvents adds rows to event_counts in tx (which must be scoped to their city).
func upsertEvents(ctx context.Context, tx bun.IDB, rows []eventCount) error {
	_, err := tx.NewInsert().Model(&rows).
		On("CONFLICT (tenant_id, bucket, kind, reason) DO UPDATE").Set("n = ec.n + EXCLUDED.n").Exec(ctx)
	return err
}

// CountEvent adds one event of the city to event_counts inside tx, so the count commits or rolls
// back with the change that caused it. Use it where the event happens inside a transaction that
// commits anyway (a staff account's lock); tx must be scoped to tenantID (InTx).
func CountEvent(ctx context.Context, tx bun.IDB, tenantID uuid.UUID, kind EventKind, reason string, at time.Time) error {
	err := upsertEvents(ctx, tx, []eventCount{{TenantID: tenantID, Bucket: at.UTC().Truncate(EventBucket), Kind: kind, Reason: eventReason(reason), N: 1}})
	if err != nil {
		return fmt.Errorf("count %s event: %w", kind, err)
	}
	return nil
}

type eventKey struct {
	tenant uuid.UUID
	bucket int64 // Unix seconds of the bucket's start
	kind   EventKind
	reason string
}

// Events counts events in memory and writes them to event_counts in batches (Flush, Run): for
// events that happen where no transaction commits — a booking refused (its transaction rolled
// back) or a citizen's login lock (set in Redis). Adding an event costs a map increment under a
// mutex and no database round trip, so the booking and login paths stay as they were; the price
// is that a process killed without Close loses up to one flush interval of counts. Counts that a
// flush cannot write (the database is down) are kept and written by a later flush.
//
// A nil *Events counts nothing. Events is safe for concurrent use.
type Events struct {
	db bun.IDB

	mu      sync.Mutex
	pending map[eventKey]int64
	dropped int64
}

// NewEvents returns an Events writing to db (the runtime role; each city's counts are written in
// its own scope).
func NewEvents(db bun.IDB) *Events {
	return &Events{db: db, pending: map[eventKey]int64{}}
}

// Add counts one event of the city at the time at.
func (e *Events) Add(tenantID uuid.UUID, kind EventKind, reason string, at time.Time) {
	if e == nil || tenantID == uuid.Nil {
		return
	}
	k := eventKey{tenant: tenantID, bucket: at.UTC().Truncate(EventBucket).Unix(), kind: kind, reason: eventReason(reason)}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.pending[k]; !ok && len(e.pending) >= maxPendingEvents {
		e.dropped++
		return
	}
	e.pending[k]++
}

// Dropped returns how many events were dropped because too many counts were waiting for the
// database.
func (e *Events) Dropped() int64 {
	if e == nil {
		return 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dropped
}

// Flush writes the counts added so far to event_counts, one transaction per city in that city's
// scope. The counts of a city whose write fails are kept for the next flush, and the errors are
// returned joined.
func (e *Events) Flush(ctx context.Context) error {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	batch := e.pending
	e.pending = map[eventKey]int64{}
	e.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	byTenant := map[uuid.UUID][]eventCount{}
	for k, n := range batch {
		byTenant[k.tenant] = append(byTenant[k.tenant], eventCount{TenantID: k.tenant, Bucket: time.Unix(k.bucket, 0).UTC(),
			Kind: k.kind, Reason: k.reason, N: n})
	}
	var errs error
	for id, rows := range byTenant {
		// One order for every writer, so two processes flushing the same city cannot deadlock.
		sort.Slice(rows, func(i, j int) bool {
			a, b := rows[i], rows[j]
			if !a.Bucket.Equal(b.Bucket) {
				return a.Bucket.Before(b.Bucket)
			}
			if a.Kind != b.Kind {
				return a.Kind < b.Kind
			}
			return a.Reason < b.Reason
		})
		err := InTx(ctx, e.db, id, func(ctx context.Context, tx bun.Tx) error { return upsertEvents(ctx, tx, rows) })
		if err != nil {
			errs = errors.Join(errs, fmt.Errorf("flush event counts of %s: %w", id, err))
			e.restore(rows)
		}
	}
	return errs
}

// restore puts counts a flush could not write back into the pending map.
func (e *Events) restore(rows []eventCount) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range rows {
		k := eventKey{tenant: r.TenantID, bucket: r.Bucket.Unix(), kind: r.Kind, reason: r.Reason}
		if _, ok := e.pending[k]; !ok && len(e.pending) >= maxPendingEvents {
			e.dropped += r.N
			continue
		}
		e.pending[k] += r.N
	}
}

// Run flushes every interval until ctx is cancelled, then flushes once more (within five seconds)
// so a process that shuts down cleanly loses no count. Failed flushes are reported to onError
// (may be nil) and retried at the next interval.
func (e *Events) Run(ctx context.Context, every time.Duration, onError func(error)) {
	if e == nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := e.Flush(fctx); err != nil && onError != nil {
				onError(err)
			}
			return
		case <-t.C:
			// Not cancelled by ctx: a write cancelled while its COMMIT is on the wire may have
			// landed, and restoring its counts would then write them twice.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			err := e.Flush(fctx)
			cancel()
			if err != nil && onError != nil {
				onError(err)
			}
		}
	}
}
