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
	demoCCLogin    = "cc.demo"
	demoSlug       = "matsusaka"
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

// demoVendor is a vendor account the demo creates: on which console, for whom, and (for the call
// center) the city it serves.
type demoVendor struct {
	console     tenant.Console
	login, name string
	role        tenant.OpsRole
	host        string // the console's host name before the base domain: "ops", "callcenter"
	label       string // how printDemoOps names the console
}

var demoVendors = []demoVendor{
	{tenant.ConsoleOps, demoOpsLogin, "運用担当（デモ）", tenant.OpsRoleOps, "ops", "ops console (vendor):"},
	{tenant.ConsoleCallCenter, demoCCLogin, "コールセンター責任者（デモ）", tenant.OpsRoleSupervisor, "callcenter", "call center (vendor):"},
}

// seedDemoOps makes the vendor's consoles usable on this machine: 127.0.0.1 and ::1 (browsers
// reach ops.localhost and callcenter.localhost over either) go on each console's allow-list, and
// the demo's accounts are created — an ops member, and a call-center supervisor (who also serves
// callers) granted the demo city. It returns each account's issued password to print (by login),
// which the console asks to change at the first login before the authenticator app is set up. An
// account that has not finished that first login gets a new password on each run (the one
// printed before is gone with the terminal); one that has is left alone and has no entry.
func seedDemoOps(ctx context.Context, a *App) (initial map[string]string, err error) {
	by := tenant.System("demo")
	initial = map[string]string{}
	for _, v := range demoVendors {
		for _, cidr := range []string{"127.0.0.1", "::1"} {
			if _, err := a.Ops.Allow(ctx, v.console, cidr, "demo: this machine", by); err != nil {
				return nil, err
			}
		}
		acc, err := a.Ops.ByLogin(ctx, v.login)
		var pw string
		switch {
		case tenant.ErrorCode(err) == tenant.NotFound:
			acc, pw, err = a.Ops.Create(ctx, v.login, v.name, v.role, by)
		case err == nil && (acc.MustChange || !acc.TOTPEnabled):
			_, pw, err = a.Ops.Reset(ctx, acc.ID, true, by)
		}
		if err != nil {
			return nil, err
		}
		if pw != "" {
			initial[v.login] = pw
		}
		if v.role.Serves() {
			if err := a.Ops.Grant(ctx, acc.ID, demoSlug, by); err != nil {
				return nil, err
			}
		}
	}
	return initial, nil
}

// printDemoOps prints where the vendor's consoles are and how to log in to them; base is the
// address pattern with %s for the console's host name ("http://%s.localhost:8080").
func printDemoOps(w io.Writer, base string, initial map[string]string) {
	for _, v := range demoVendors {
		url := fmt.Sprintf(base, v.host)
		if pw := initial[v.login]; pw != "" {
			fmt.Fprintf(w, "  %-22s %s/  login %s, initial password: %s\n"+
				"                         (change it at the first login, then set up an authenticator app)\n", v.label, url, v.login, pw)
			continue
		}
		fmt.Fprintf(w, "  %-22s %s/  login %s with the password you chose and your authenticator app\n"+
			"                         (forgotten: madoguchi ops account reset %s --totp)\n", v.label, url, v.login, v.login)
	}
}
