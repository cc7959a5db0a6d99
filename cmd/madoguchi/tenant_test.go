package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

var initialPasswordLine = regexp.MustCompile(`(?m)^initial password: (\S+)$`)

// cli runs the madoguchi command at the test clock and returns what it printed, failing t on an
// error.
func cli(t *testing.T, getenv func(string) string, clock *tenanttest.Clock, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := runAt(context.Background(), args, getenv, &out, io.Discard, clock.Now); err != nil {
		t.Fatalf("madoguchi %s: %v", strings.Join(args, " "), err)
	}
	return out.String()
}

// password returns the password printed on the "initial password:" line.
func password(t *testing.T, out string) string {
	t.Helper()
	m := initialPasswordLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no line beginning 'initial password:' in\n%s", out)
	}
	return m[1]
}

// TestOnboardFromTheCommand: from a clean database, `tenant create tsu 津市 --code 242012 --admin
// tsu.admin` opens a city whose admin logs in with the printed password, must change it, adds a
// place and its hours, and a citizen books the same day; `tenant admin-reset` gives a locked
// admin a new password. Everything the vendor did is in the city's audit log.
func TestOnboardFromTheCommand(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	getenv := testEnv(t, d, ":0")
	clock := tenanttest.NewClock()
	cli(t, getenv, clock, "migrate")
	out := cli(t, getenv, clock, "tenant", "create", "tsu", "津市", "--code", "242012", "--admin", "tsu.admin", "--kana", "つし", "--color", "1a5c2e")
	initial := password(t, out)
	if !strings.Contains(out, "http://tsu.localhost/admin") {
		t.Errorf("output does not say where the admin logs in:\n%s", out)
	}

	accs := tenant.NewAccounts(d.App, clock.Now)
	city, err := tenant.NewService(d.App).BySlug(ctx, "tsu")
	if err != nil || city.Code != "242012" || city.NameKana != "ツシ" || city.BannerColor != "#1a5c2e" {
		t.Fatalf("tsu = %+v, %v", city, err)
	}
	admin, err := accs.Authenticate(ctx, city, "tsu.admin", initial, "192.0.2.10")
	if err != nil || !admin.MustChange || admin.Role != tenant.RoleAdmin {
		t.Fatalf("admin's login with the printed password = %+v, %v; want an admin who must change it", admin, err)
	}
	if err := accs.ChangePassword(ctx, city, admin.ID, initial, "tsu admin's own long passphrase"); err != nil {
		t.Fatal(err)
	}

	// The admin adds a place open every day and its hours; a citizen books tomorrow.
	svc := bookingtest.Service(d.App, clock.Now)
	by := tenant.Staff(admin.ID, admin.LoginID, "192.0.2.10")
	loc, err := svc.AddLocation(ctx, city, booking.Location{Name: "津市役所 本庁", Active: true}, by)
	if err != nil {
		t.Fatal(err)
	}
	var ws []booking.Window
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		ws = append(ws, booking.Window{Weekday: wd, Start: 9 * 60, End: 12 * 60, SlotMinutes: 30, Capacity: 2})
	}
	if err := svc.SetWeeklySchedule(ctx, city, loc.ID, ws, by); err != nil {
		t.Fatal(err)
	}
	slot := bookingtest.FirstSlot(t, svc, city, loc, clock.Now())
	if limit := booking.DateOf(clock.Now()).AddDays(10); !booking.DateFromDB(slot.Day).Before(limit) {
		t.Errorf("first bookable day is %s; a new city should take bookings for the coming days", booking.DateFromDB(slot.Day))
	}
	card := bookingtest.MustCard(t, svc, city, "0401")
	r, err := svc.Reserve(ctx, city, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{card.ID}, Email: "taro@example.jp",
		Lang: "ja", Actor: tenant.Citizen("198.51.100.1")})
	if err != nil || r.Code == "" {
		t.Fatalf("a citizen's booking in the new city = %+v, %v", r, err)
	}

	// A locked-out admin gets a new password from the command. The wrong passwords come from
	// different addresses: the account's lock is what is tested, not the per-address slow-down
	// (which would make these tries wait half a minute).
	for i := range 20 {
		accs.Authenticate(ctx, city, "tsu.admin", "wrong password", fmt.Sprintf("192.0.2.%d", 100+i)) //nolint:errcheck // failing on purpose
	}
	if _, err := accs.Authenticate(ctx, city, "tsu.admin", "tsu admin's own long passphrase", "192.0.2.10"); err == nil {
		t.Fatal("the admin's right password still logs in after 20 wrong ones; want the account locked")
	}
	out = cli(t, getenv, clock, "tenant", "admin-reset", "tsu", "tsu.admin")
	again := password(t, out)
	if acc, err := accs.Authenticate(ctx, city, "tsu.admin", again, "192.0.2.10"); err != nil || !acc.MustChange {
		t.Errorf("login after admin-reset = %+v, %v", acc, err)
	}
	var out2 bytes.Buffer
	err = runAt(ctx, []string{"tenant", "admin-reset", "tsu", "nobody"}, getenv, &out2, io.Discard, clock.Now)
	if err == nil || !strings.Contains(err.Error(), "tenant.admin.not_found") || initialPasswordLine.MatchString(out2.String()) {
		t.Errorf("admin-reset of an unknown login = %q, %v", out2.String(), err)
	}

	// Support actions from the command, each in the city's audit log as the vendor.
	cli(t, getenv, clock, "tenant", "domain", "add", "tsu", "yoyaku.city.tsu.mie.jp")
	cli(t, getenv, clock, "tenant", "mail-domains", "tsu", "city.tsu.mie.jp")
	show := cli(t, getenv, clock, "tenant", "show", "tsu")
	for _, w := range []string{"242012", "ツシ", "#1a5c2e", "yoyaku.city.tsu.mie.jp", "city.tsu.mie.jp"} {
		if !strings.Contains(show, w) {
			t.Errorf("tenant show lacks %q:\n%s", w, show)
		}
	}
	recs, _, _, err := accs.AuditLog(ctx, city, tenant.AuditQuery{Actor: "vendor:cli", PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action)
	}
	for _, w := range []string{"vendor.tenant.create", "account.create", "vendor.account.reset_password", "vendor.domain.add", "vendor.mail_domains.set"} {
		if !strings.Contains(strings.Join(actions, " "), w) {
			t.Errorf("the city's audit log (actor vendor:cli) lacks %s: %v", w, actions)
		}
	}
}

// TestOpsAccountFromTheCommand: `ops account create` prints a one-time password that logs in at
// the password step; grants and the allow-list work from the command too.
func TestOpsAccountFromTheCommand(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	getenv := testEnv(t, d, ":0")
	clock := tenanttest.NewClock()
	out := cli(t, getenv, clock, "ops", "account", "create", "CC.Tanaka", "--name", "田中", "--role", "operator")
	pw := password(t, out)
	ops := tenant.NewOpsAccounts(d.App, clock.Now)
	acc, err := ops.Authenticate(ctx, "cc.tanaka", pw, "203.0.113.5")
	if err != nil || acc.Role != tenant.OpsRoleOperator || !acc.MustChange || acc.TOTPEnabled {
		t.Fatalf("login with the printed password = %+v, %v", acc, err)
	}
	cli(t, getenv, clock, "tenant", "create", "tsu", "津市", "--code", "242012", "--admin", "tsu.admin")
	cli(t, getenv, clock, "ops", "grant", "cc.tanaka", "tsu")
	if out := cli(t, getenv, clock, "ops", "grants", "cc.tanaka"); !strings.Contains(out, "津市") {
		t.Errorf("ops grants:\n%s", out)
	}
	cli(t, getenv, clock, "ops", "revoke", "cc.tanaka", "tsu")
	if out := cli(t, getenv, clock, "ops", "grants", "cc.tanaka"); strings.Contains(out, "津市") {
		t.Errorf("ops grants after revoke:\n%s", out)
	}
	if out := cli(t, getenv, clock, "ops", "allow", "add", "ops", "203.0.113.0/24", "--note", "本社"); !strings.Contains(out, "203.0.113.0/24 allowed") {
		t.Errorf("ops allow add:\n%s", out)
	}
	if ok, err := ops.ConsoleAllowed(ctx, tenant.ConsoleOps, "203.0.113.5"); err != nil || !ok {
		t.Errorf("ConsoleAllowed after ops allow add = %v, %v", ok, err)
	}
	if out := cli(t, getenv, clock, "ops", "allow", "list"); !strings.Contains(out, "nobody can reach it") || !strings.Contains(out, "本社") {
		t.Errorf("ops allow list:\n%s", out)
	}
	out = cli(t, getenv, clock, "ops", "account", "reset", "cc.tanaka", "--totp")
	if _, err := ops.Authenticate(ctx, "cc.tanaka", password(t, out), "203.0.113.5"); err != nil {
		t.Errorf("login after ops account reset: %v", err)
	}
	if out := cli(t, getenv, clock, "ops", "account", "list"); !strings.Contains(out, "cc.tanaka") || !strings.Contains(out, "operator") {
		t.Errorf("ops account list:\n%s", out)
	}
}

// TestSeedDemo: the demo city is opened the vendor's way (code, kana, its admin from onboarding),
// seeding twice changes nothing, and the demo admin logs in with the printed password without a
// forced change.
func TestSeedDemo(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	clock := tenanttest.NewClock()
	a := openAppAt(t, testEnv(t, d, ":0"), clock.Now)
	for range 2 {
		if err := seedDemo(ctx, a); err != nil {
			t.Fatalf("seedDemo: %v", err)
		}
	}
	city, err := a.Tenants.BySlug(ctx, "matsusaka")
	if err != nil || city.Code != "242047" || city.NameKana != "マツサカシ" {
		t.Fatalf("matsusaka = %+v, %v", city, err)
	}
	acc, err := a.Accounts.Authenticate(ctx, city, demoAdminLogin, demoAdminPass, "127.0.0.1")
	if err != nil || acc.MustChange || acc.Role != tenant.RoleAdmin {
		t.Errorf("demo admin's login = %+v, %v", acc, err)
	}
	if locs, err := a.Booking.Locations(ctx, city.ID, false); err != nil || len(locs) != len(demoLocations) {
		t.Errorf("demo locations = %d, %v", len(locs), err)
	}
}

// TestTrainingFromTheCommand: `tenant training tsu` opens tsu's training copy through the same
// domain method as the ops console (booking.Service.OpenTraining): its administrator logs in with
// the printed password, `tenant list` marks the copy with the city it copies and the real city
// not at all, and a second copy or a copy of the copy is refused with the domain's message.
func TestTrainingFromTheCommand(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	getenv := testEnv(t, d, ":0")
	clock := tenanttest.NewClock()
	cli(t, getenv, clock, "migrate")
	cli(t, getenv, clock, "tenant", "create", "tsu", "津市", "--code", "242012", "--admin", "tsu.admin")

	out := cli(t, getenv, clock, "tenant", "training", "tsu")
	initial := password(t, out)
	if !strings.Contains(out, "http://tsu-kensyu.localhost/admin") || !strings.Contains(out, tenant.TrainingAdminLogin) {
		t.Errorf("output does not say where the training copy's admin logs in:\n%s", out)
	}
	copyCity, err := tenant.NewService(d.App).BySlug(ctx, "tsu-kensyu")
	if err != nil || !copyCity.Training() {
		t.Fatalf("tsu-kensyu = %+v, %v; want a training city", copyCity, err)
	}
	admin, err := tenant.NewAccounts(d.App, clock.Now).Authenticate(ctx, copyCity, tenant.TrainingAdminLogin, initial, "192.0.2.10")
	if err != nil || !admin.MustChange || admin.Role != tenant.RoleAdmin {
		t.Fatalf("training admin's login with the printed password = %+v, %v", admin, err)
	}

	list := cli(t, getenv, clock, "tenant", "list")
	lines := map[string]string{}
	for _, l := range strings.Split(list, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines[f[0]] = l
		}
	}
	if !strings.Contains(lines["SLUG"], "TRAINING") || !strings.HasSuffix(strings.TrimSpace(lines["tsu-kensyu"]), "copy of tsu") ||
		!strings.HasSuffix(strings.TrimSpace(lines["tsu"]), "-") {
		t.Errorf("tenant list does not mark the copy (and only the copy):\n%s", list)
	}

	for _, c := range []struct{ slug, key string }{{"tsu", "tenant.training.exists"}, {"tsu-kensyu", "tenant.training.of_training"}, {"nowhere", "not_found"}} {
		err := runAt(ctx, []string{"tenant", "training", c.slug}, getenv, io.Discard, io.Discard, clock.Now)
		if err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("tenant training %s = %v; want the refusal %s", c.slug, err, c.key)
		}
	}
}
