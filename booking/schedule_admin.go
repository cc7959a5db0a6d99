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
func (s *Service) WeeklyWindows(ctx context.Context, t *tenant.Tenant, locationID uuid.UUID) ([]Window, error) {
	var tpls []Template
	err := tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&tpls).Where("location_id = ?", locationID).Order("weekday", "start_time").Scan(ctx)
	})
	if err != nil {
		return nil, err
	}
	out := make([]Window, len(tpls))
	for i, tp := range tpls {
		out[i] = Window{Weekday: time.Weekday(tp.Weekday), Start: clockOf(tp.Start), End: clockOf(tp.End), SlotMinutes: tp.SlotMinutes, Capacity: tp.Capacity}
	}
	return out, nil
}

// OverridesFrom returns the location's dated overrides on day from and later, by day and time.
func (s *Service) OverridesFrom(ctx context.Context, t *tenant.Tenant, locationID uuid.UUID, from Date) ([]Override, error) {
	var ovs []Override
	err := tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&ovs).Where("location_id = ? AND day >= ?", locationID, from.StdTime()).
			OrderExpr("day, start_time NULLS FIRST, created_at").Scan(ctx)
	})
	return ovs, err
}

// FlaggedSlots returns the location's future slots that staff must look at: a schedule change
// lowered their capacity below the places already booked, or closed them with bookings in them.
// The bookings stand; the citizens may need a call.
func (s *Service) FlaggedSlots(ctx context.Context, t *tenant.Tenant, locationID uuid.UUID) ([]Slot, error) {
	now := s.now()
	var slots []Slot
	err := tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&slots).Where("location_id = ? AND flagged AND starts_at > ?", locationID, now).
			Order("starts_at").Limit(500).Scan(ctx)
	})
	return slots, err
}

// SetWeeklyScheduleBy is SetWeeklySchedule for a staff member: it refuses overlapping windows
// (invalid, field "start", "schedule.window.overlaps"), saves the windows, regenerates the slots
// and writes "schedule.weekly" with the windows before and after to the audit log. The audit line
// is written right after the change, in its own transaction, because SetWeeklySchedule commits
// its own.
func (s *Service) SetWeeklyScheduleBy(ctx context.Context, t *tenant.Tenant, locationID uuid.UUID, ws []Window, ed StaffActor) error {
	if _, _, found := FirstOverlap(ws); found {
		return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{"start": "schedule.window.overlaps"}}
	}
	before, err := s.WeeklyWindows(ctx, t, locationID)
	if err != nil {
		return err
	}
	if err := s.SetWeeklySchedule(ctx, t, locationID, ws); err != nil {
		return err
	}
	return s.audit(ctx, t, ed.entry("schedule.weekly", locationID.String(),
		map[string]any{"windows": windowStrings(before)}, map[string]any{"windows": windowStrings(ws)}))
}

// AddOverrideBy is AddOverride for a staff member: an 'open' window that overlaps the day's
// weekly windows or another 'open' override of the day is refused (invalid, field "start",
// "schedule.window.overlaps"); the override is saved, the day's slots regenerated and
// "schedule.override.add" written to the audit log (in its own transaction, as for
// SetWeeklyScheduleBy).
func (s *Service) AddOverrideBy(ctx context.Context, t *tenant.Tenant, locationID uuid.UUID, day Date, kind OverrideKind, w *Window, note string, ed StaffActor) error {
	if kind == OverrideOpen && w != nil {
		w.Weekday = day.Weekday()
		busy, err := s.windowsOn(ctx, t, locationID, day)
		if err != nil {
			return err
		}
		for _, b := range busy {
			if w.Overlaps(b) {
				return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{"start": "schedule.window.overlaps"}}
			}
		}
	}
	if err := s.AddOverride(ctx, t, locationID, day, kind, w, note); err != nil {
		return err
	}
	after := map[string]any{"day": day.String(), "kind": kind, "note": note}
	if w != nil {
		after["window"] = w.String()
	}
	return s.audit(ctx, t, ed.entry("schedule.override.add", locationID.String(), nil, after))
}

// windowsOn returns the weekly windows of day's weekday and the 'open' overrides of day.
func (s *Service) windowsOn(ctx context.Context, t *tenant.Tenant, locationID uuid.UUID, day Date) ([]Window, error) {
	ws, err := s.WeeklyWindows(ctx, t, locationID)
	if err != nil {
		return nil, err
	}
	ovs, err := s.OverridesFrom(ctx, t, locationID, day)
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
func (s *Service) DeleteOverride(ctx context.Context, t *tenant.Tenant, locationID, overrideID uuid.UUID, ed StaffActor) (*Override, error) {
	now := s.now()
	o := new(Override)
	err := tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
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
		return tenant.Audit(ctx, tx, t.ID, ed.entry("schedule.override.delete", locationID.String(), before, nil))
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// OverrideByID returns one of the location's overrides, or not_found.
func (s *Service) OverrideByID(ctx context.Context, t *tenant.Tenant, locationID, overrideID uuid.UUID) (*Override, error) {
	o := new(Override)
	err := tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(o).Where("id = ? AND location_id = ?", overrideID, locationID).Scan(ctx)
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

func (s *Service) audit(ctx context.Context, t *tenant.Tenant, e tenant.AuditEntry) error {
	return tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tenant.Audit(ctx, tx, t.ID, e)
	})
}

func windowStrings(ws []Window) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.String()
	}
	sort.Strings(out)
	return out
}
