package booking_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/booking/jpholiday"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

var editor = tenant.Staff(uuid.Nil, "admin-1", "192.0.2.1")

// openWeekday returns the first day of weekday wd at least 7 days ahead that is not a holiday.
func openWeekday(wd time.Weekday) booking.Date {
	d := booking.DateOf(tenanttest.Now()).AddDays(7)
	for d.Weekday() != wd || jpholiday.IsHoliday(d.StdTime()) || jpholiday.IsYearEndClosure(d.StdTime()) {
		d = d.AddDays(1)
	}
	return d
}

func TestFirstOverlap(t *testing.T) {
	w := func(wd time.Weekday, s, e booking.ClockTime) booking.Window {
		return booking.Window{Weekday: wd, Start: s, End: e, SlotMinutes: 30, Capacity: 1}
	}
	tests := []struct {
		name string
		ws   []booking.Window
		i, j int
		want bool
	}{
		{name: "morning and afternoon", ws: []booking.Window{w(1, 540, 720), w(1, 780, 1020)}},
		{name: "touching windows do not overlap", ws: []booking.Window{w(1, 540, 720), w(1, 720, 780)}},
		{name: "same hours on other days", ws: []booking.Window{w(1, 540, 720), w(2, 540, 720)}},
		{name: "overlap", ws: []booking.Window{w(1, 540, 720), w(2, 540, 720), w(1, 690, 780)}, i: 0, j: 2, want: true},
		{name: "inside", ws: []booking.Window{w(3, 540, 720), w(3, 600, 630)}, i: 0, j: 1, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i, j, found := booking.FirstOverlap(tc.ws)
			if found != tc.want || (found && (i != tc.i || j != tc.j)) {
				t.Errorf("FirstOverlap = %d, %d, %v; want %d, %d, %v", i, j, found, tc.i, tc.j, tc.want)
			}
		})
	}
}

func TestScheduleAdmin(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	svc := bookingtest.Service(d.App, nil)
	tn := tenanttest.MustCreateTenant(t, d.App)
	other := tenanttest.MustCreateTenant(t, d.App)
	loc := bookingtest.MustLocation(t, svc, tn, "本庁", 2) // every day 09:00–12:00, 30 minutes
	otherLoc := bookingtest.MustLocation(t, svc, other, "本庁", 2)
	monday := openWeekday(time.Monday)

	// Weekly windows: replaced, read back in order, overlapping ones refused.
	ws := []booking.Window{
		{Weekday: time.Monday, Start: 13 * 60, End: 15 * 60, SlotMinutes: 60, Capacity: 1},
		{Weekday: time.Monday, Start: 9 * 60, End: 12 * 60, SlotMinutes: 30, Capacity: 3},
	}
	if err := svc.SetWeeklySchedule(ctx, tn, loc.ID, ws, editor); err != nil {
		t.Fatal(err)
	}
	got, err := svc.WeeklyWindows(ctx, tn, loc.ID)
	if err != nil || len(got) != 2 || got[0].Start != 9*60 || got[1].SlotMinutes != 60 {
		t.Fatalf("WeeklyWindows = %v, %v", got, err)
	}
	slots, _ := svc.SlotsOn(ctx, tn, loc.ID, monday, bookingtest.Citizen)
	if len(slots) != 8 {
		t.Errorf("slots on %s after SetWeeklySchedule = %d, want 8", monday, len(slots))
	}
	bad := append(ws, booking.Window{Weekday: time.Monday, Start: 11 * 60, End: 13 * 60, SlotMinutes: 30, Capacity: 1})
	if err := svc.SetWeeklySchedule(ctx, tn, loc.ID, bad, editor); tenant.ErrorCode(err) != tenant.Invalid {
		t.Errorf("overlapping windows: err = %v, want invalid", err)
	}
	if err := svc.SetWeeklySchedule(ctx, other, loc.ID, ws, editor); tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("another tenant's location: err = %v, want not_found", err)
	}

	// An evening window that overlaps the day's hours is refused; one after them is added.
	if err := svc.AddOverride(ctx, tn, loc.ID, monday, booking.OverrideOpen,
		&booking.Window{Start: 14 * 60, End: 16 * 60, SlotMinutes: 15, Capacity: 1}, "夜間窓口", editor); tenant.ErrorCode(err) != tenant.Invalid {
		t.Errorf("overlapping open override: err = %v, want invalid", err)
	}
	if err := svc.AddOverride(ctx, tn, loc.ID, monday, booking.OverrideOpen,
		&booking.Window{Start: 17*60 + 15, End: 19 * 60, SlotMinutes: 15, Capacity: 1}, "夜間窓口", editor); err != nil {
		t.Fatal(err)
	}
	if slots, _ := svc.SlotsOn(ctx, tn, loc.ID, monday, bookingtest.Citizen); len(slots) != 15 {
		t.Errorf("slots with the evening counter = %d, want 15", len(slots))
	}
	ovs, err := svc.OverridesFrom(ctx, tn, loc.ID, booking.DateOf(tenanttest.Now()))
	if err != nil || len(ovs) != 1 || ovs[0].Note != "夜間窓口" || ovs[0].Window().Start != 17*60+15 {
		t.Fatalf("OverridesFrom = %+v, %v", ovs, err)
	}
	if _, err := svc.OverrideByID(ctx, other, loc.ID, ovs[0].ID); tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("OverrideByID from another tenant: err = %v, want not_found", err)
	}
	if _, err := svc.DeleteOverride(ctx, tn, otherLoc.ID, ovs[0].ID, editor); tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("DeleteOverride through another location: err = %v, want not_found", err)
	}
	if _, err := svc.DeleteOverride(ctx, tn, loc.ID, ovs[0].ID, editor); err != nil {
		t.Fatal(err)
	}
	if slots, _ := svc.SlotsOn(ctx, tn, loc.ID, monday, bookingtest.Citizen); len(slots) != 8 {
		t.Errorf("slots after deleting the evening counter = %d, want 8", len(slots))
	}

	// Lowering the capacity below a booking keeps the booking and flags the slot.
	slots, _ = svc.SlotsOn(ctx, tn, loc.ID, monday, bookingtest.Citizen)
	card := bookingtest.MustCard(t, svc, tn, "0101")
	if _, err := svc.Reserve(ctx, tn, booking.ReserveInput{SlotID: slots[0].ID, CardIDs: []uuid.UUID{card.ID}, Actor: staff}); err != nil {
		t.Fatal(err)
	}
	ws[1].Capacity = 0
	if err := svc.SetWeeklySchedule(ctx, tn, loc.ID, ws, editor); err != nil {
		t.Fatal(err)
	}
	flagged, err := svc.FlaggedSlots(ctx, tn, loc.ID)
	if err != nil || len(flagged) != 1 || flagged[0].ID != slots[0].ID || flagged[0].Booked != 1 {
		t.Errorf("FlaggedSlots = %+v, %v; want the booked slot", flagged, err)
	}
	if f, _ := svc.FlaggedSlots(ctx, other, loc.ID); len(f) != 0 {
		t.Errorf("another tenant sees %d flagged slots", len(f))
	}

	// Every change is in the audit log.
	var actions []string
	_ = tenant.InTx(ctx, d.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT action FROM audit_log WHERE actor = ? ORDER BY at", editor.Login).Scan(ctx, &actions)
	})
	want := []string{"schedule.weekly", "schedule.override.add", "schedule.override.delete", "schedule.weekly"}
	if len(actions) != len(want) {
		t.Fatalf("audit actions = %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Errorf("audit actions = %v, want %v", actions, want)
			break
		}
	}
}

func TestLocationAdmin(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	svc := bookingtest.Service(d.App, nil)
	tn := tenanttest.MustCreateTenant(t, d.App)
	other := tenanttest.MustCreateTenant(t, d.App)

	l, err := svc.AddLocation(ctx, tn, booking.Location{Name: " 嬉野地域振興局 ", Guidance: "交付通知書", SortOrder: 2, Active: true}, editor)
	if err != nil || l.Name != "嬉野地域振興局" || l.ID == uuid.Nil {
		t.Fatalf("AddLocation = %+v, %v", l, err)
	}
	if _, err := svc.AddLocation(ctx, tn, booking.Location{Name: "嬉野地域振興局"}, editor); tenant.AsError(err) == nil || tenant.AsError(err).Fields["name"] != "location.name.taken" {
		t.Errorf("duplicate name: err = %v, want location.name.taken", err)
	}
	if _, err := svc.AddLocation(ctx, tn, booking.Location{Name: ""}, editor); tenant.ErrorCode(err) != tenant.Invalid {
		t.Errorf("empty name: err = %v, want invalid", err)
	}
	l.Name, l.Active, l.Address = "嬉野地域振興局 市民窓口", false, "松阪市嬉野町"
	up, err := svc.UpdateLocation(ctx, tn, *l, editor)
	if err != nil || up.Name != "嬉野地域振興局 市民窓口" || up.Active || up.Guidance != "交付通知書" {
		t.Fatalf("UpdateLocation = %+v, %v", up, err)
	}
	if _, err := svc.UpdateLocation(ctx, other, *l, editor); tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("UpdateLocation from another tenant: err = %v, want not_found", err)
	}
	if got, err := svc.LocationByID(ctx, tn.ID, l.ID); err != nil || got.Address != "松阪市嬉野町" {
		t.Errorf("LocationByID = %+v, %v", got, err)
	}

	var before, after string
	err = tenant.InTx(ctx, d.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT before->>'active', after->>'active' FROM audit_log WHERE action = 'location.update'").Scan(ctx, &before, &after)
	})
	if err != nil || before != "true" || after != "false" {
		t.Errorf("audit of location.update: before %q after %q (%v)", before, after, err)
	}
}
