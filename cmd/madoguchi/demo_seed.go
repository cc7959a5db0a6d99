package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// Demo accounts and cards, printed by `madoguchi demo`. They exist only in the demo city.
const (
	demoAdminLogin = "admin"
	demoAdminPass  = "matsusaka-demo-admin"
	demoStaffLogin = "madoguchi1"
	demoStaffPass  = "matsusaka-demo-staff"
	demoCardFirst  = 100000001
	demoCards      = 20
	demoBirth      = "0401" // every demo card's birthday: April 1
)

// seedDemoExtras gives the demo city its opening hours (weekdays 8:30–17:15 in 30-minute slots of
// three places; 本庁 also opens Thursday evenings 17:15–19:00), staff accounts and cards.
func seedDemoExtras(ctx context.Context, a *App, t *tenant.Tenant) error {
	locs, err := a.Booking.Locations(ctx, t.ID, false)
	if err != nil {
		return err
	}
	for i, l := range locs {
		var ws []booking.Window
		for wd := time.Monday; wd <= time.Friday; wd++ {
			ws = append(ws, booking.Window{Weekday: wd, Start: 8*60 + 30, End: 17 * 60, SlotMinutes: 30, Capacity: 3})
			if i == 0 && wd == time.Thursday {
				ws = append(ws, booking.Window{Weekday: wd, Start: 17*60 + 15, End: 19 * 60, SlotMinutes: 15, Capacity: 2})
			}
		}
		if err := a.Booking.SetWeeklySchedule(ctx, t, l.ID, ws, tenant.System("demo")); err != nil {
			return fmt.Errorf("schedule %s: %w", l.Name, err)
		}
	}
	for _, acc := range []struct {
		login, name, pass string
		role              tenant.Role
	}{{demoAdminLogin, "市管理者（デモ）", demoAdminPass, tenant.RoleAdmin}, {demoStaffLogin, "窓口職員（デモ）", demoStaffPass, tenant.RoleStaff}} {
		_, err := a.Accounts.Create(ctx, t, acc.login, acc.name, acc.role, acc.pass, "demo")
		if err != nil && tenant.ErrorCode(err) != tenant.Conflict {
			return err
		}
		if err := a.Accounts.SetPasswordNoChange(ctx, t, acc.login, acc.pass); err != nil {
			return err
		}
	}
	for i := range demoCards {
		_, err := a.Booking.AddCard(ctx, t, booking.CardInput{CardNo: fmt.Sprintf("%09d", demoCardFirst+i), Birth: demoBirth,
			StoragePos: fmt.Sprintf("箱1-%03d", i+1)})
		if err != nil && tenant.ErrorCode(err) != tenant.Conflict {
			return err
		}
	}
	return nil
}

func printDemoCredentials(w io.Writer, base string) {
	fmt.Fprintf(w, `  staff (admin):         %[1]s/admin  login %[2]s / %[3]s
  staff (counter):       %[1]s/admin  login %[4]s / %[5]s
  citizen cards:         製造管理番号 %09[6]d … %09[7]d, birthday (MMDD) %[8]s
`, base, demoAdminLogin, demoAdminPass, demoStaffLogin, demoStaffPass, demoCardFirst, demoCardFirst+demoCards-1, demoBirth)
}
