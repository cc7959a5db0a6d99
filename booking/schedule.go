package booking

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking/jpholiday"
	"github.com/madoguchi/madoguchi/booking/slotfeed"
	"github.com/madoguchi/madoguchi/tenant"
)

// SlotLengths are the slot lengths a template may use, in minutes (spec 3(3)エ).
var SlotLengths = []int{10, 15, 20, 30, 60}

// ClockTime is a time of day in minutes after midnight (JST).
type ClockTime int

// ParseClock parses "HH:MM" (00:00–24:00).
func ParseClock(s string) (ClockTime, error) {
	var h, m int
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) || len(s) > 5 {
		return 0, fmt.Errorf("bad time of day (want HH:MM)") // the typed text stays out of logs
	}
	return ClockTime(h*60 + m), nil
}

// String formats c as HH:MM.
func (c ClockTime) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// Template is one weekly opening window of a location.
type Template struct {
	bun.BaseModel `bun:"table:schedule_templates"`

	TenantID    uuid.UUID `bun:"tenant_id,pk,type:uuid"`
	ID          uuid.UUID `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	LocationID  uuid.UUID `bun:"location_id,type:uuid,notnull"`
	Weekday     int       `bun:"weekday,notnull"`
	Start       string    `bun:"start_time,type:time,notnull"` // "HH:MM:SS"
	End         string    `bun:"end_time,type:time,notnull"`
	SlotMinutes int       `bun:"slot_minutes,notnull"`
	Capacity    int       `bun:"capacity,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull,default:current_timestamp"`
}

// OverrideKind says what a dated override does.
type OverrideKind string

// Override kinds.
const (
	OverrideOpen     OverrideKind = "open"     // an extra window: 休日開庁, 夜間窓口; opens a holiday too
	OverrideClose    OverrideKind = "close"    // the whole day is closed
	OverrideCapacity OverrideKind = "capacity" // the day's template windows take another capacity
)

// Override is a dated exception to the weekly template.
type Override struct {
	bun.BaseModel `bun:"table:schedule_overrides"`

	TenantID    uuid.UUID    `bun:"tenant_id,pk,type:uuid"`
	ID          uuid.UUID    `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	LocationID  uuid.UUID    `bun:"location_id,type:uuid,notnull"`
	Day         time.Time    `bun:"day,type:date,notnull"`
	Kind        OverrideKind `bun:"kind,notnull"`
	Start       *string      `bun:"start_time,type:time"`
	End         *string      `bun:"end_time,type:time"`
	SlotMinutes *int         `bun:"slot_minutes"`
	Capacity    *int         `bun:"capacity"`
	Note        string       `bun:"note,notnull"`
	CreatedAt   time.Time    `bun:"created_at,notnull,default:current_timestamp"`
}

// Window is an opening window as entered by staff.
type Window struct {
	Weekday     time.Weekday
	Start, End  ClockTime
	SlotMinutes int
	Capacity    int
}

func validSlotLength(m int) bool {
	for _, l := range SlotLengths {
		if m == l {
			return true
		}
	}
	return false
}

func (w Window) validate() map[string]string {
	f := map[string]string{}
	if w.Weekday < time.Sunday || w.Weekday > time.Saturday {
		f["weekday"] = "schedule.weekday.invalid"
	}
	if w.End <= w.Start {
		f["end"] = "schedule.end.before_start"
	}
	if !validSlotLength(w.SlotMinutes) {
		f["slot_minutes"] = "schedule.slot_minutes.invalid"
	} else if w.End > w.Start && int(w.End-w.Start) < w.SlotMinutes {
		f["end"] = "schedule.window.too_short"
	}
	if w.Capacity < 0 || w.Capacity > 200 {
		f["capacity"] = "schedule.capacity.invalid"
	}
	return f
}

// SetWeeklySchedule replaces the location's weekly windows, regenerates its slots over the
// horizon and, for every actor but a citizen, writes "schedule.weekly" with the windows before and
// after to the audit log, in one transaction. It returns invalid (with per-field keys) for a bad
// window, invalid with field "start" "schedule.window.overlaps" for overlapping windows, and
// not_found for a location of another tenant.
func (s *Service) SetWeeklySchedule(ctx context.Context, t *tenant.Tenant, locationID uuid.UUID, ws []Window, a tenant.Actor) (err error) {
	defer tenant.Wrap(&err, "booking.SetWeeklySchedule(%s, %s)", t.ID, locationID)
	for _, w := range ws {
		if f := w.validate(); len(f) > 0 {
			return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: f}
		}
	}
	if _, _, overlap := FirstOverlap(ws); overlap {
		return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{"start": "schedule.window.overlaps"}}
	}
	now := s.now()
	from, to := DateOf(now), DateOf(now).AddDays(HorizonDays(t))
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := lockLocation(ctx, tx, locationID); err != nil {
			return err
		}
		before, err := weeklyWindows(ctx, tx, locationID)
		if err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*Template)(nil)).Where("location_id = ?", locationID).Exec(ctx); err != nil {
			return err
		}
		for _, w := range ws {
			tpl := &Template{TenantID: t.ID, LocationID: locationID, Weekday: int(w.Weekday),
				Start: w.Start.String(), End: w.End.String(), SlotMinutes: w.SlotMinutes, Capacity: w.Capacity}
			if _, err := tx.NewInsert().Model(tpl).Exec(ctx); err != nil {
				return err
			}
		}
		if err := generateSlots(ctx, tx, t.ID, locationID, from, to, now); err != nil {
			return err
		}
		return a.Audit(ctx, tx, t.ID, "schedule.weekly", locationID.String(),
			map[string]any{"windows": windowStrings(before)}, map[string]any{"windows": windowStrings(ws)})
	})
	if err == nil {
		s.slotsChanged(ctx, t.ID, generatedSpan(locationID, from, to))
	}
	return err
}

// generatedSpan is the change generateSlots(from, to) made: the days [from, to).
func generatedSpan(locationID uuid.UUID, from, to Date) slotfeed.Span {
	return daySpan(locationID, from, to.AddDays(-1))
}

// AddOverride records a dated exception, regenerates that day's slots and, for every actor but a
// citizen, writes "schedule.override.add" to the audit log, in one transaction. For OverrideOpen
// the window is required and may not overlap the day's weekly windows or another 'open' override
// of the day (invalid, field "start", "schedule.window.overlaps"); for OverrideCapacity only
// Capacity counts.
func (s *Service) AddOverride(ctx context.Context, t *tenant.Tenant, locationID uuid.UUID, day Date, kind OverrideKind, w *Window, note string, a tenant.Actor) (err error) {
	defer tenant.Wrap(&err, "booking.AddOverride(%s, %s)", t.ID, locationID)
	o := &Override{TenantID: t.ID, LocationID: locationID, Day: day.StdTime(), Kind: kind, Note: note}
	switch kind {
	case OverrideOpen:
		if w == nil {
			return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{"start": "schedule.window.required"}}
		}
		w.Weekday = day.Weekday()
		if f := w.validate(); len(f) > 0 {
			return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: f}
		}
		st, en := w.Start.String(), w.End.String()
		o.Start, o.End, o.SlotMinutes, o.Capacity = &st, &en, &w.SlotMinutes, &w.Capacity
	case OverrideCapacity:
		if w == nil || w.Capacity < 0 || w.Capacity > 200 {
			return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{"capacity": "schedule.capacity.invalid"}}
		}
		o.Capacity = &w.Capacity
	case OverrideClose:
	default:
		return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{"kind": "schedule.kind.invalid"}}
	}
	now := s.now()
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := lockLocation(ctx, tx, locationID); err != nil {
			return err
		}
		if kind == OverrideOpen {
			busy, err := windowsOn(ctx, tx, locationID, day)
			if err != nil {
				return err
			}
			for _, b := range busy {
				if w.Overlaps(b) {
					return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{"start": "schedule.window.overlaps"}}
				}
			}
		}
		if _, err := tx.NewInsert().Model(o).Exec(ctx); err != nil {
			return err
		}
		if err := generateSlots(ctx, tx, t.ID, locationID, day, day.AddDays(1), now); err != nil {
			return err
		}
		after := map[string]any{"day": day.String(), "kind": kind, "note": note}
		if w != nil {
			after["window"] = w.String()
		}
		return a.Audit(ctx, tx, t.ID, "schedule.override.add", locationID.String(), nil, after)
	})
	if err == nil {
		s.slotsChanged(ctx, t.ID, daySpan(locationID, day, day))
	}
	return err
}

// GenerateSlots materialises every location's slots from today over the tenant's horizon. It is
// idempotent; the worker runs it daily and staff changes run it for what they touch.
func (s *Service) GenerateSlots(ctx context.Context, t *tenant.Tenant) (err error) {
	defer tenant.Wrap(&err, "booking.GenerateSlots(%s)", t.ID)
	now := s.now()
	from := DateOf(now)
	locs, err := s.Locations(ctx, t.ID, false)
	if err != nil {
		return err
	}
	for _, l := range locs {
		err := tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
			if err := lockLocation(ctx, tx, l.ID); err != nil {
				return err
			}
			return generateSlots(ctx, tx, t.ID, l.ID, from, from.AddDays(HorizonDays(t)), now)
		})
		if err != nil {
			return fmt.Errorf("generate slots for %s: %w", l.ID, err)
		}
		s.slotsChanged(ctx, t.ID, generatedSpan(l.ID, from, from.AddDays(HorizonDays(t))))
	}
	return nil
}

// lockLocation serialises schedule changes of one location and returns not_found when the
// location is not visible in this tenant.
func lockLocation(ctx context.Context, tx bun.IDB, locationID uuid.UUID) error {
	var id uuid.UUID
	err := tx.NewSelect().Model((*Location)(nil)).Column("id").Where("id = ?", locationID).For("UPDATE").Scan(ctx, &id)
	return tenant.DBError(err)
}

// HorizonDays is how many days ahead slots are generated and shown (default 90).
func HorizonDays(t *tenant.Tenant) int {
	if t.Settings.HorizonDays > 0 {
		return t.Settings.HorizonDays
	}
	return 90
}

// DeadlineDays returns N of "開庁何日前まで": citizens may book, change or cancel day D until the end
// of DeadlineDay(t, D) (JST): day D−N, or the N-th opening day before D when the city counts in
// opening days. Default 1 (the day before).
func DeadlineDays(t *tenant.Tenant) int {
	if t.Settings.BookingDeadlineDays != nil {
		return *t.Settings.BookingDeadlineDays
	}
	return 1
}

// IsOpeningDay reports whether d is a 開庁日 of a city office: Monday to Friday, not a national
// holiday and not in the year-end closure (12-29 … 01-03). The places' own schedules and their
// 休日開庁 overrides do not change it: the deadline counts the office's working days.
func IsOpeningDay(d Date) bool {
	wd := d.Weekday()
	noon := d.Time(12, 0)
	return wd != time.Saturday && wd != time.Sunday && !jpholiday.IsHoliday(noon) && !jpholiday.IsYearEndClosure(noon)
}

// DeadlineDay returns the last day (JST, until its end) on which a citizen may book, change or
// cancel a visit on day d: d−N for N = DeadlineDays(t), or, when the city counts in opening days
// (Settings.DeadlineOpeningDays), the N-th opening day before d. N = 0 is d itself either way.
func DeadlineDay(t *tenant.Tenant, d Date) Date {
	n := DeadlineDays(t)
	if n == 0 || !t.Settings.DeadlineOpeningDays {
		return d.AddDays(-n)
	}
	for {
		d = d.AddDays(-1)
		if IsOpeningDay(d) {
			if n--; n == 0 {
				return d
			}
		}
	}
}

// FirstBookableDay returns the first day a citizen may book (or still change or cancel) on the
// day of now: the first day D with DeadlineDay(t, D) not before today.
func FirstBookableDay(t *tenant.Tenant, now time.Time) Date {
	today := DateOf(now)
	n := DeadlineDays(t)
	if n == 0 || !t.Settings.DeadlineOpeningDays {
		return today.AddDays(n)
	}
	// D is bookable when [today, D−1] holds N opening days: D is the day after the N-th opening
	// day from today on.
	for d := today; ; d = d.AddDays(1) {
		if IsOpeningDay(d) {
			if n--; n == 0 {
				return d.AddDays(1)
			}
		}
	}
}
