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
	demoOpsLogin   = "ops.demo"
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

// seedDemoOps makes the vendor's ops console usable on this machine: 127.0.0.1 and ::1 (browsers
// reach ops.localhost over either) go on the console's allow-list, and the demo's ops account is
// created. It returns the account's issued password to print, which the console asks to change at
// the first login before the authenticator app is set up. An account that has not finished that
// first login gets a new password on each run (the one printed before is gone with the terminal);
// one that has is left alone and "" is returned.
func seedDemoOps(ctx context.Context, a *App) (initial string, err error) {
	by := tenant.System("demo")
	for _, cidr := range []string{"127.0.0.1", "::1"} {
		if _, err := a.Ops.Allow(ctx, tenant.ConsoleOps, cidr, "demo: this machine", by); err != nil {
			return "", err
		}
	}
	acc, err := a.Ops.ByLogin(ctx, demoOpsLogin)
	switch {
	case tenant.ErrorCode(err) == tenant.NotFound:
		_, initial, err = a.Ops.Create(ctx, demoOpsLogin, "運用担当（デモ）", tenant.OpsRoleOps, by)
		return initial, err
	case err != nil:
		return "", err
	case acc.MustChange || !acc.TOTPEnabled:
		_, initial, err = a.Ops.Reset(ctx, acc.ID, true, by)
		return initial, err
	}
	return "", nil
}

// printDemoOps prints where the ops console is and how to log in to it.
func printDemoOps(w io.Writer, base, initial string) {
	if initial == "" {
		fmt.Fprintf(w, "  ops console (vendor):  %s/  login %s with the password you chose and your authenticator app\n"+
			"                         (forgotten: madoguchi ops account reset %s --totp)\n", base, demoOpsLogin, demoOpsLogin)
		return
	}
	fmt.Fprintf(w, "  ops console (vendor):  %s/  login %s, initial password: %s\n"+
		"                         (change it at the first login, then set up an authenticator app)\n", base, demoOpsLogin, initial)
}
