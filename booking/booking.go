// Package booking holds the rules of My Number Card pickup appointments: 交付場所 (locations),
// schedules and slots, cards and citizen login, holds, reservations and their status lifecycle.
// Every method reads and writes through tenant.InTx, so row-level security confines it to one
// municipality.
package booking

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking/guard"
	"github.com/madoguchi/madoguchi/booking/slotfeed"
	"github.com/madoguchi/madoguchi/tenant"
)

// Config are the Service's dependencies.
type Config struct {
	// Now is the clock (time.Now in production; fixed in tests).
	Now func() time.Time
	// SecretKey keys the HMAC of birth dates (32 bytes). Required for cards and login.
	SecretKey []byte
	// Guard throttles citizen login attempts. Required for Login.
	Guard *guard.Guard
	// HoldTTL is how long a chosen time is held while the citizen confirms (default 10 min).
	HoldTTL time.Duration
	// Cache keeps the slots of recently read days for Availability, SlotsOn and BookableSlots
	// (NewSlotCache, live once it follows the slot change feed); nil: every read goes to
	// PostgreSQL.
	Cache *SlotCache
	// Announce is told, after each commit that changed places or slots, which days of which
	// locations changed (slotfeed.Publisher.Announce: the other processes drop those days from
	// their caches, the call center's screens refresh). The Cache, if any, has already dropped
	// them. nil: nobody else is told.
	Announce func(ctx context.Context, c slotfeed.Change)
	// Events counts refused bookings and citizens' login locks per city for the vendor's fleet
	// overview, in memory, written to event_counts in batches (nil: not counted).
	Events *tenant.Events
	// ImportMaxRows is the most data rows a card file may have (default ImportMaxRows; tests
	// set a small one so that refusing a file over it stays cheap).
	ImportMaxRows int
}

// Service is the booking domain. Exported methods open the tenant transaction; unexported helpers
// take (ctx, tx, …) and never begin or commit.
type Service struct {
	db  *bun.DB
	cfg Config
}

// NewService returns a Service on db.
func NewService(db *bun.DB, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HoldTTL == 0 {
		cfg.HoldTTL = 10 * time.Minute
	}
	if cfg.ImportMaxRows <= 0 {
		cfg.ImportMaxRows = ImportMaxRows
	}
	return &Service{db: db, cfg: cfg}
}

func (s *Service) now() time.Time { return s.cfg.Now() }

// daySpan is the change of the days [from, to] at a location.
func daySpan(locationID uuid.UUID, from, to Date) slotfeed.Span {
	return slotfeed.Span{Location: locationID, From: from.String(), To: to.String()}
}

// slotsChanged drops changed days from the cache and announces them to the other processes. It is
// called after the change committed, never inside its transaction: a process that read the days
// again before the commit would cache the old places. Identical spans are sent once; no span, no
// message.
func (s *Service) slotsChanged(ctx context.Context, tenantID uuid.UUID, spans ...slotfeed.Span) {
	var ch slotfeed.Change
	seen := map[slotfeed.Span]bool{}
	for _, sp := range spans {
		if !seen[sp] {
			seen[sp] = true
			ch.Days = append(ch.Days, sp)
		}
	}
	if len(ch.Days) == 0 {
		return
	}
	ch.V, ch.Tenant = slotfeed.Version, tenantID
	if s.cfg.Cache != nil {
		s.cfg.Cache.Invalidate(ch)
	}
	if s.cfg.Announce != nil {
		s.cfg.Announce(ctx, ch)
	}
}

// weekdaysJA are the one-character Japanese weekday names in time.Weekday order (日 is Sunday).
var weekdaysJA = [7]string{"日", "月", "火", "水", "木", "金", "土"}

// WeekdayJA returns the one-character Japanese name of wd (日, 月, … 土); the long form adds 曜日.
func WeekdayJA(wd time.Weekday) string { return weekdaysJA[wd] }

// JST is Japan Standard Time; days, deadlines and reminders are reckoned in it.
var JST = time.FixedZone("Asia/Tokyo", 9*60*60)

// Date is a civil date (no time, no zone), the unit of calendars and schedules.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns t's civil date in JST.
func DateOf(t time.Time) Date {
	y, m, d := t.In(JST).Date()
	return Date{y, m, d}
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return Date{}, err
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

// Time returns the instant of hh:mm on d in JST.
func (d Date) Time(hh, mm int) time.Time {
	return time.Date(d.Year, d.Month, d.Day, hh, mm, 0, 0, JST)
}

// AddDays returns d moved by n days (civil days: time.Date normalises the day of the month).
func (d Date) AddDays(n int) Date {
	t := time.Date(d.Year, d.Month, d.Day+n, 0, 0, 0, 0, time.UTC)
	return Date{t.Year(), t.Month(), t.Day()}
}

// Weekday returns d's day of the week.
func (d Date) Weekday() time.Weekday { return d.Time(12, 0).Weekday() }

// Before reports whether d is before e.
func (d Date) Before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}

// String formats d as YYYY-MM-DD.
func (d Date) String() string { return d.Time(0, 0).Format("2006-01-02") }

// StdTime returns d as midnight UTC, the form a DATE column takes.
func (d Date) StdTime() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// DateFromDB converts a DATE column value (midnight, any zone) to a Date.
func DateFromDB(t time.Time) Date { return Date{t.Year(), t.Month(), t.Day()} }

// countRefusal counts a refused hold, booking, change or cancellation for the fleet overview
// (Config.Events), by the refusal's message key; errors that are not domain errors count as
// "internal". A caller that went away (context cancelled) is not a refusal. Deferred by the
// methods that book, it adds no database work: the refused transaction has rolled back, and the
// count is written later in a batch.
func (s *Service) countRefusal(tenantID uuid.UUID, errp *error) {
	err := *errp
	if err == nil || s.cfg.Events == nil || errors.Is(err, context.Canceled) {
		return
	}
	reason := "internal"
	if e := tenant.AsError(err); e != nil {
		reason = e.Key
	}
	s.cfg.Events.Add(tenantID, tenant.EventBookingError, reason, s.now())
}
