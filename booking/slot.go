package booking

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking/jpholiday"
	"github.com/madoguchi/madoguchi/tenant"
)

// Slot is one bookable time at one location. Capacity is how many people can be served at once;
// Booked and Held are the places taken by reservations and by holds of citizens confirming.
type Slot struct {
	bun.BaseModel `bun:"table:slots"`

	TenantID   uuid.UUID `bun:"tenant_id,pk,type:uuid"`
	ID         uuid.UUID `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	LocationID uuid.UUID `bun:"location_id,type:uuid,notnull"`
	Day        time.Time `bun:"day,type:date,notnull"`
	StartsAt   time.Time `bun:"starts_at,notnull"`
	EndsAt     time.Time `bun:"ends_at,notnull"`
	Capacity   int       `bun:"capacity,notnull"`
	Booked     int       `bun:"booked,notnull"`
	Held       int       `bun:"held,notnull"`
	Open       bool      `bun:"open,notnull"`
	Flagged    bool      `bun:"flagged,notnull"`
	UpdatedAt  time.Time `bun:"updated_at,notnull,default:current_timestamp"`
}

// Remaining is the number of places still free.
func (s *Slot) Remaining() int {
	if r := s.Capacity - s.Booked - s.Held; r > 0 {
		return r
	}
	return 0
}

type wantSlot struct {
	start, end time.Time
	capacity   int
}

// closedByDefault reports whether the weekly windows do not apply on day: public holidays and the
// year-end closure (12/29–1/3) are closed unless an 'open' override opens them.
func closedByDefault(day Date) bool {
	return jpholiday.IsHoliday(day.StdTime()) || jpholiday.IsYearEndClosure(day.StdTime())
}

// desiredSlots computes the slots a day should have from templates and overrides.
func desiredSlots(day Date, tpls []Template, ovs []Override) []wantSlot {
	closed := closedByDefault(day)
	capOverride := -1
	var extra []Override
	for _, o := range ovs {
		switch o.Kind {
		case OverrideClose:
			return nil
		case OverrideCapacity:
			capOverride = *o.Capacity
		case OverrideOpen:
			extra = append(extra, o)
		}
	}
	var out []wantSlot
	add := func(start, end string, minutes, capacity int) {
		s, e := clockOf(start), clockOf(end)
		for t := s; t+ClockTime(minutes) <= e; t += ClockTime(minutes) {
			out = append(out, wantSlot{
				start:    day.Time(int(t)/60, int(t)%60),
				end:      day.Time(int(t+ClockTime(minutes))/60, int(t+ClockTime(minutes))%60),
				capacity: capacity,
			})
		}
	}
	if !closed {
		for _, t := range tpls {
			if t.Weekday != int(day.Weekday()) {
				continue
			}
			c := t.Capacity
			if capOverride >= 0 {
				c = capOverride
			}
			add(t.Start, t.End, t.SlotMinutes, c)
		}
	}
	for _, o := range extra {
		add(*o.Start, *o.End, *o.SlotMinutes, *o.Capacity)
	}
	return out
}

// clockOf parses a TIME column ("HH:MM:SS" or "HH:MM").
func clockOf(s string) ClockTime {
	if len(s) > 5 {
		s = s[:5]
	}
	c, _ := ParseClock(s)
	return c
}

// generateSlots makes the location's slots for days [from, to) match its schedule. Slots that
// are no longer wanted are closed, never deleted; a slot whose new capacity is below what is
// already booked keeps its bookings, takes no new ones and is flagged for staff.
func generateSlots(ctx context.Context, tx bun.IDB, tenantID, locationID uuid.UUID, from, to Date, now time.Time) error {
	var tpls []Template
	if err := tx.NewSelect().Model(&tpls).Where("location_id = ?", locationID).Scan(ctx); err != nil {
		return err
	}
	var ovs []Override
	if err := tx.NewSelect().Model(&ovs).Where("location_id = ? AND day >= ? AND day < ?", locationID, from.StdTime(), to.StdTime()).
		Order("created_at").Scan(ctx); err != nil {
		return err
	}
	byDay := map[Date][]Override{}
	for _, o := range ovs {
		d := DateFromDB(o.Day)
		byDay[d] = append(byDay[d], o)
	}
	var rows []Slot
	for d := from; d.Before(to); d = d.AddDays(1) {
		for _, w := range desiredSlots(d, tpls, byDay[d]) {
			if !w.start.After(now) {
				continue
			}
			rows = append(rows, Slot{TenantID: tenantID, LocationID: locationID, Day: d.StdTime(),
				StartsAt: w.start, EndsAt: w.end, Capacity: w.capacity, Open: true})
		}
	}
	// Close every future slot in the range first; the upsert below reopens the wanted ones.
	if _, err := tx.NewUpdate().Model((*Slot)(nil)).
		Set("open = false").Set("flagged = booked > 0").Set("updated_at = ?", now).
		Where("location_id = ? AND day >= ? AND day < ? AND starts_at > ?", locationID, from.StdTime(), to.StdTime(), now).
		Exec(ctx); err != nil {
		return err
	}
	const batch = 500
	for i := 0; i < len(rows); i += batch {
		part := rows[i:min(i+batch, len(rows))]
		_, err := tx.NewInsert().Model(&part).
			On("CONFLICT (tenant_id, location_id, starts_at) DO UPDATE").
			Set("ends_at = EXCLUDED.ends_at").
			Set("capacity = GREATEST(EXCLUDED.capacity, slot.booked)").
			Set("flagged = EXCLUDED.capacity < slot.booked").
			Set("open = true").
			Set("updated_at = ?", now).
			Exec(ctx)
		if err != nil {
			return err
		}
	}
	return nil
}

// Mark is the availability symbol of a calendar day (spec 第2章2(3)オ).
type Mark string

// Calendar marks.
const (
	MarkOpen   Mark = "open"   // ○ 空きあり
	MarkFew    Mark = "few"    // △ 残りわずか
	MarkFull   Mark = "full"   // × 満員
	MarkClosed Mark = "closed" // － 受付なし
)

// DayAvailability is one day of the calendar.
type DayAvailability struct {
	Day       Date
	Mark      Mark
	Remaining int // places free in slots that can take the whole party
}

// bookableFrom returns the first day a citizen may still book: slots must start after now and on
// a day whose deadline has not passed (FirstBookableDay).
func bookableFrom(t *tenant.Tenant, now time.Time) (firstDay Date) {
	return FirstBookableDay(t, now)
}

// Availability returns the calendar of a location for days [from, to] for a party of n people,
// as the actor sees it: for a citizen, days before the booking deadline are closed; staff and
// call-center operators, booking on a citizen's behalf, see every day from today on that still
// has slots which have not started (past days and times stay closed).
func (s *Service) Availability(ctx context.Context, t *tenant.Tenant, locationID uuid.UUID, from, to Date, party int, a tenant.Actor) (_ []DayAvailability, err error) {
	defer tenant.Wrap(&err, "booking.Availability(%s, %s)", t.ID, locationID)
	now := s.now()
	return s.availability(ctx, t, locationID, from, to, party, now, firstDay(t, now, a))
}

// firstDay is the first day the actor may book: for a citizen the first day past the deadline,
// for staff and call-center operators today.
func firstDay(t *tenant.Tenant, now time.Time, a tenant.Actor) Date {
	if seesPastDeadline(a) {
		return DateOf(now)
	}
	return bookableFrom(t, now)
}

func (s *Service) availability(ctx context.Context, t *tenant.Tenant, locationID uuid.UUID, from, to Date, party int, now time.Time, first Date) ([]DayAvailability, error) {
	if party < 1 {
		party = 1
	}
	byDay, err := s.openSlots(ctx, t, locationID, laterOf(from, first), to)
	if err != nil {
		return nil, err
	}
	var out []DayAvailability
	for d := from; !to.Before(d); d = d.AddDays(1) {
		a := DayAvailability{Day: d, Mark: MarkClosed}
		if d.Before(first) {
			out = append(out, a)
			continue
		}
		// The places of the slots that have not started: fit counts those that can take the
		// whole party.
		open, fit, fitSlots, capacity := false, 0, 0, 0
		for i := range byDay[d] {
			sl := &byDay[d][i]
			if !sl.StartsAt.After(now) {
				continue
			}
			open = true
			capacity += sl.Capacity
			if r := sl.Capacity - sl.Booked - sl.Held; r >= party {
				fit += r
				fitSlots++
			}
		}
		switch {
		case !open:
		case fitSlots == 0:
			a.Mark = MarkFull
		case fit*5 <= capacity || fit <= 2*party:
			a.Mark, a.Remaining = MarkFew, fit
		default:
			a.Mark, a.Remaining = MarkOpen, fit
		}
		out = append(out, a)
	}
	return out, nil
}

// laterOf returns the later of two days.
func laterOf(a, b Date) Date {
	if a.Before(b) {
		return b
	}
	return a
}

// SlotsOn returns a location's open slots on day that the actor could still book (see
// Availability: the citizens' deadline does not bind staff and operators), with places left and
// not yet started, in time order. Days before the actor's first day return none.
func (s *Service) SlotsOn(ctx context.Context, t *tenant.Tenant, locationID uuid.UUID, day Date, a tenant.Actor) (_ []Slot, err error) {
	defer tenant.Wrap(&err, "booking.SlotsOn(%s, %s)", t.ID, locationID)
	return s.bookableSlots(ctx, t, locationID, day, day, a)
}

// BookableSlots is SlotsOn for the days [from, to], in one read: the slots of every day, in time
// order (Slot.Day tells the days apart).
func (s *Service) BookableSlots(ctx context.Context, t *tenant.Tenant, locationID uuid.UUID, from, to Date, a tenant.Actor) (_ []Slot, err error) {
	defer tenant.Wrap(&err, "booking.BookableSlots(%s, %s)", t.ID, locationID)
	return s.bookableSlots(ctx, t, locationID, from, to, a)
}

func (s *Service) bookableSlots(ctx context.Context, t *tenant.Tenant, locationID uuid.UUID, from, to Date, a tenant.Actor) ([]Slot, error) {
	now := s.now()
	from = laterOf(from, firstDay(t, now, a))
	if to.Before(from) {
		return nil, nil
	}
	byDay, err := s.openSlots(ctx, t, locationID, from, to)
	if err != nil {
		return nil, err
	}
	var out []Slot
	for d := from; !to.Before(d); d = d.AddDays(1) {
		for _, sl := range byDay[d] {
			if sl.StartsAt.After(now) {
				out = append(out, sl)
			}
		}
	}
	return out, nil
}

// openSlotsSQL reads the slots a calendar shows: open, with capacity, of some days of one
// location, in time order.
const openSlotsSQL = `SELECT tenant_id, id, location_id, day, starts_at, ends_at, capacity, booked, held, open, flagged, updated_at
	FROM slots WHERE location_id = $1 AND day BETWEEN $2 AND $3 AND open AND capacity > 0 ORDER BY starts_at`

// CalendarSQL returns the statement a calendar read runs on a cache miss, in the tenant scope
// (tenant.Query: the scope and the statement pipelined as one implicit transaction): $1 the
// location, $2 and $3 the first and last day. madoguchi-bench runs the same text in pgbench, in a
// transaction after the same scope, as the reference of the miss.
func CalendarSQL() string { return openSlotsSQL }

// openSlots returns the open slots with capacity of a location on the days [from, to], by day, in
// time order: from the cache where it has them, the missing days in one query shared with
// concurrent readers of the same days. The slices are shared: callers must not change them.
func (s *Service) openSlots(ctx context.Context, t *tenant.Tenant, locationID uuid.UUID, from, to Date) (map[Date][]Slot, error) {
	if to.Before(from) {
		return nil, nil
	}
	c := s.cfg.Cache
	if c == nil {
		return s.readOpenSlots(ctx, t.ID, locationID, from, to)
	}
	have, missing, start, ok := c.lookup(t.ID, locationID, from, to)
	if !ok {
		return s.readOpenSlots(ctx, t.ID, locationID, from, to)
	}
	if len(missing) == 0 {
		return have, nil
	}
	lo, hi := missing[0], missing[len(missing)-1]
	// start is part of the key: a reader that comes after a change never joins a read that
	// began before it.
	key := fmt.Sprintf("%s/%s/%s/%s/%d", t.ID, locationID, lo, hi, start)
	v, err, _ := c.group.Do(key, func() (any, error) {
		got, err := s.readOpenSlots(context.WithoutCancel(ctx), t.ID, locationID, lo, hi)
		if err != nil {
			return nil, err
		}
		c.put(t.ID, locationID, lo, hi, got, start)
		return got, nil
	})
	if err != nil {
		return nil, err
	}
	for d, sl := range v.(map[Date][]Slot) {
		have[d] = sl
	}
	return have, nil
}

// readOpenSlots reads openSlotsSQL from PostgreSQL in one round trip (tenant.Query).
func (s *Service) readOpenSlots(ctx context.Context, tenantID, locationID uuid.UUID, from, to Date) (map[Date][]Slot, error) {
	out := map[Date][]Slot{}
	err := tenant.Query(ctx, s.db, tenantID, func(rows pgx.Rows) error {
		for rows.Next() {
			var sl Slot
			if err := rows.Scan(&sl.TenantID, &sl.ID, &sl.LocationID, &sl.Day, &sl.StartsAt, &sl.EndsAt,
				&sl.Capacity, &sl.Booked, &sl.Held, &sl.Open, &sl.Flagged, &sl.UpdatedAt); err != nil {
				return err
			}
			d := DateFromDB(sl.Day)
			out[d] = append(out[d], sl)
		}
		return nil
	}, openSlotsSQL, locationID, from.StdTime(), to.StdTime())
	return out, err
}

// SlotsBetween returns every slot of a location in [from, to] (staff view: closed and flagged too).
func (s *Service) SlotsBetween(ctx context.Context, t *tenant.Tenant, locationID uuid.UUID, from, to Date) (_ []Slot, err error) {
	defer tenant.Wrap(&err, "booking.SlotsBetween(%s, %s)", t.ID, locationID)
	var slots []Slot
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&slots).
			Where("location_id = ? AND day BETWEEN ? AND ?", locationID, from.StdTime(), to.StdTime()).
			Order("starts_at").Scan(ctx)
	})
	return slots, err
}
