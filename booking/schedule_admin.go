package booking

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// Check validates one window as SetWeeklySchedule and AddOverride do and returns per-field
// message keys ("weekday", "end", "slot_minutes", "capacity"); it is empty for a valid window.
func (w Window) Check() map[string]string { return w.validate() }

// Overlaps reports whether w and v share a weekday and some minute of the day.
func (w Window) Overlaps(v Window) bool {
	return w.Weekday == v.Weekday && w.Start < v.End && v.Start < w.End
}

// String describes a window for the audit log, e.g. "1 09:00-12:00 30min x3".
func (w Window) String() string {
	return fmt.Sprintf("%d %s-%s %dmin x%d", w.Weekday, w.Start, w.End, w.SlotMinutes, w.Capacity)
}

// FirstOverlap returns the indexes i < j of the first two windows of ws that overlap, and false
// when none do. Overlapping windows would make two slots start at the same time (or serve the
// same minutes twice), so staff must fix them before saving.
func FirstOverlap(ws []Window) (i, j int, found bool) {
	for i = range ws {
		for j = i + 1; j < len(ws); j++ {
			if ws[i].Overlaps(ws[j]) {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

// WeeklyWindows returns the location's weekly opening windows by weekday and start time.
func (s *Service) WeeklyWindows(ctx context.Context, t *tenant.Tenant, locationID uuid.UUID) (_ []Window, err error) {
	defer tenant.Wrap(&err, "booking.WeeklyWindows(%s, %s)", t.ID, locationID)
	var out []Window
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		out, err = weeklyWindows(ctx, tx, locationID)
		return err
	})
	return out, err
}

func weeklyWindows(ctx context.Context, tx bun.IDB, locationID uuid.UUID) ([]Window, error) {
	var tpls []Template
	if err := tx.NewSelect().Model(&tpls).Where("location_id = ?", locationID).Order("weekday", "start_time").Scan(ctx); err != nil {
		return nil, err
	}
	out := make([]Window, len(tpls))
	for i, tp := range tpls {
		out[i] = Window{Weekday: time.Weekday(tp.Weekday), Start: clockOf(tp.Start), End: clockOf(tp.End), SlotMinutes: tp.SlotMinutes, Capacity: tp.Capacity}
	}
	return out, nil
}

// OverridesFrom returns the location's dated overrides on day from and later, by day and time.
func (s *Service) OverridesFrom(ctx context.Context, t *tenant.Tenant, locationID uuid.UUID, from Date) (_ []Override, err error) {
	defer tenant.Wrap(&err, "booking.OverridesFrom(%s, %s)", t.ID, locationID)
	var ovs []Override
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		ovs, err = overridesFrom(ctx, tx, locationID, from)
		return err
	})
	return ovs, err
}

func overridesFrom(ctx context.Context, tx bun.IDB, locationID uuid.UUID, from Date) ([]Override, error) {
	var ovs []Override
	err := tx.NewSelect().Model(&ovs).Where("location_id = ? AND day >= ?", locationID, from.StdTime()).
		OrderExpr("day, start_time NULLS FIRST, created_at").Scan(ctx)
	return ovs, err
}

// FlaggedSlots returns the location's future slots that staff must look at: a schedule change
// lowered their capacity below the places already booked, or closed them with bookings in them.
// The bookings stand; the citizens may need a call.
func (s *Service) FlaggedSlots(ctx context.Context, t *tenant.Tenant, locationID uuid.UUID) (_ []Slot, err error) {
	defer tenant.Wrap(&err, "booking.FlaggedSlots(%s, %s)", t.ID, locationID)
	now := s.now()
	var slots []Slot
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&slots).Where("location_id = ? AND flagged AND starts_at > ?", locationID, now).
			Order("starts_at").Limit(500).Scan(ctx)
	})
	return slots, err
}

// windowsOn returns the windows open on day: the weekly windows of its weekday (none on a public
// holiday or in the year-end closure, which an 'open' override may open with the usual hours)
// and the day's 'open' overrides.
func windowsOn(ctx context.Context, tx bun.IDB, locationID uuid.UUID, day Date) ([]Window, error) {
	var ws []Window
	if !closedByDefault(day) {
		weekly, err := weeklyWindows(ctx, tx, locationID)
		if err != nil {
			return nil, err
		}
		for _, w := range weekly {
			if w.Weekday == day.Weekday() {
				ws = append(ws, w)
			}
		}
	}
	ovs, err := overridesFrom(ctx, tx, locationID, day)
	if err != nil {
		return nil, err
	}
	for _, o := range ovs {
		if o.Kind == OverrideOpen && DateFromDB(o.Day) == day {
			ws = append(ws, o.Window())
		}
	}
	return ws, nil
}

// Window returns an 'open' override's window (zero for the other kinds, except Capacity).
func (o *Override) Window() Window {
	w := Window{Weekday: DateFromDB(o.Day).Weekday()}
	if o.Start != nil && o.End != nil {
		w.Start, w.End = clockOf(*o.Start), clockOf(*o.End)
	}
	if o.SlotMinutes != nil {
		w.SlotMinutes = *o.SlotMinutes
	}
	if o.Capacity != nil {
		w.Capacity = *o.Capacity
	}
	return w
}

// DeleteOverride removes one of the location's overrides, regenerates that day's slots (bookings
// are kept; slots that lose their window are closed and flagged if booked) and writes
// "schedule.override.delete" to the audit log, all in one transaction. It returns the deleted
// override, or not_found when the location has no such override (or is another tenant's).
func (s *Service) DeleteOverride(ctx context.Context, t *tenant.Tenant, locationID, overrideID uuid.UUID, ed tenant.Actor) (_ *Override, err error) {
	defer tenant.Wrap(&err, "booking.DeleteOverride(%s, %s, %s)", t.ID, locationID, overrideID)
	now := s.now()
	o := new(Override)
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := lockLocation(ctx, tx, locationID); err != nil {
			return err
		}
		if err := tx.NewSelect().Model(o).Where("id = ? AND location_id = ?", overrideID, locationID).Scan(ctx); err != nil {
			return tenant.DBError(err)
		}
		if _, err := tx.NewDelete().Model(o).WherePK().Exec(ctx); err != nil {
			return err
		}
		day := DateFromDB(o.Day)
		if err := generateSlots(ctx, tx, t.ID, locationID, day, day.AddDays(1), now); err != nil {
			return err
		}
		before := map[string]any{"day": day.String(), "kind": o.Kind, "note": o.Note}
		if o.Kind != OverrideClose {
			before["window"] = o.Window().String()
		}
		return ed.Audit(ctx, tx, t.ID, "schedule.override.delete", locationID.String(), before, nil)
	})
	if err != nil {
		return nil, err
	}
	day := DateFromDB(o.Day)
	s.slotsChanged(ctx, t.ID, daySpan(locationID, day, day))
	return o, nil
}

// OverrideByID returns one of the location's overrides, or not_found.
func (s *Service) OverrideByID(ctx context.Context, t *tenant.Tenant, locationID, overrideID uuid.UUID) (_ *Override, err error) {
	defer tenant.Wrap(&err, "booking.OverrideByID(%s, %s, %s)", t.ID, locationID, overrideID)
	o := new(Override)
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(o).Where("id = ? AND location_id = ?", overrideID, locationID).Scan(ctx)
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

func windowStrings(ws []Window) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.String()
	}
	sort.Strings(out)
	return out
}
