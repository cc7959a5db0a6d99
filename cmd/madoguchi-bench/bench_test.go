package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// benchEnv is the environment madoguchi-bench reads: the test database's runtime role and the
// test Redis (MADOGUCHI_TEST_REDIS_URL; empty: the default). The secret key is new for every
// test: the login guard's keys in the shared Redis are derived from it, so what one run's load
// counted against 127.0.0.1 (a step-up or a lock for hours) never meets a later run.
func benchEnv(d *tenanttest.DB) func(string) string {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err)
	}
	env := map[string]string{
		"MADOGUCHI_DATABASE_URL": d.AppDSN,
		"MADOGUCHI_SECRET_KEY":   hex.EncodeToString(key),
		"MADOGUCHI_REDIS_URL":    os.Getenv("MADOGUCHI_TEST_REDIS_URL"),
	}
	return func(k string) string { return env[k] }
}

// runBench runs madoguchi-bench -json with args and returns its report.
func runBench(t *testing.T, d *tenanttest.DB, args ...string) *BenchReport {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"-json"}, args...), benchEnv(d), &out, &errOut)
	if err != nil {
		t.Fatalf("madoguchi-bench %v: %v\nstderr:\n%s", args, err, errOut.String())
	}
	var rep BenchReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("madoguchi-bench %v printed no JSON report (%v):\n%s\nstderr:\n%s", args, err, out.String(), errOut.String())
	}
	return &rep
}

// slotTotals reads, in the tenant's scope, what the database says was booked.
type slotTotals struct {
	Reservations, Booked, Held, OverCapacity, Mismatched, Outbox int
}

func benchTotals(t *testing.T, db *bun.DB, slug string) (*tenant.Tenant, slotTotals) {
	t.Helper()
	ctx := context.Background()
	tn, err := tenant.NewService(db).BySlug(ctx, slug)
	if err != nil {
		t.Fatalf("bench tenant %q: %v", slug, err)
	}
	var s slotTotals
	err = tenant.InTx(ctx, db, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM reservations WHERE status = 'booked'),
			(SELECT coalesce(sum(booked), 0) FROM slots),
			(SELECT coalesce(sum(held), 0) FROM slots),
			(SELECT count(*) FROM slots WHERE booked + held > capacity),
			(SELECT count(*) FROM slots s WHERE booked <> (SELECT count(*) FROM reservations r WHERE r.slot_id = s.id AND r.status = 'booked')),
			(SELECT count(*) FROM outbox)`).Scan(&s.Reservations, &s.Booked, &s.Held, &s.OverCapacity, &s.Mismatched, &s.Outbox)
	})
	if err != nil {
		t.Fatal(err)
	}
	return tn, s
}

func TestBenchApp(t *testing.T) {
	d := tenanttest.NewDB(t)
	rep := runBench(t, d, "-clients", "4", "-bookings", "40", "-pgbench=false")

	if len(rep.App) != 1 {
		t.Fatalf("%d app rounds, want 1", len(rep.App))
	}
	a := rep.App[0]
	if a.Successes != 40 || a.Attempts != 40 || len(a.Failures) != 0 {
		t.Errorf("app: %d of %d bookings succeeded, failures %v; want 40 of 40", a.Successes, a.Attempts, a.Failures)
	}
	if a.Rate <= 0 || a.Flow.N != 40 || a.Reserve.N != 40 || a.Flow.P50 <= 0 || a.Flow.P99 < a.Flow.P50 || a.Reserve.P99 > a.Flow.Max {
		t.Errorf("app figures look wrong: rate %v, flow %+v, reserve %+v", a.Rate, a.Flow, a.Reserve)
	}
	if a.RequestsPerOK != 6 {
		t.Errorf("%v requests per booking, want 6", a.RequestsPerOK)
	}
	if rep.AppRate != a.Rate || rep.Ratio != 0 || len(rep.PGBench) != 1 || rep.PGBench[0].Skipped == "" {
		t.Errorf("without pgbench: app rate %v (round %v), ratio %v, pgbench %+v", rep.AppRate, a.Rate, rep.Ratio, rep.PGBench)
	}
	if !rep.Check.OK || rep.Check.Reservations != 40 {
		t.Errorf("bench check = %+v, want OK with 40 reservations", rep.Check)
	}

	// Independently of the bench's own check: no overbooking, every hold became a booking.
	tn, s := benchTotals(t, d.App, rep.Tenant)
	if s != (slotTotals{Reservations: 40, Booked: 40, Outbox: 40}) {
		t.Errorf("after the bench: %+v; want 40 reservations = 40 booked places, no holds, none over capacity or mismatched, 40 outbox rows", s)
	}
	if !strings.HasPrefix(tn.Slug, "bench-") || tn.Status != tenant.Disabled || !rep.TenantDisabled {
		t.Errorf("bench tenant %s is %s (report says disabled=%v); want a disabled bench-* tenant", tn.Slug, tn.Status, rep.TenantDisabled)
	}
}

func TestBenchWithPGBench(t *testing.T) {
	d := tenanttest.NewDB(t)
	rep := runBench(t, d, "-clients", "4", "-bookings", "40", "-keep")
	if rep.App[0].Successes != 40 {
		t.Fatalf("app: %d bookings, want 40 (failures %v)", rep.App[0].Successes, rep.App[0].Failures)
	}
	if _, err := exec.LookPath("pgbench"); err != nil {
		// The bench must still work and say why there is no reference.
		if rep.PGBenchMissing == "" || rep.Ratio != 0 {
			t.Errorf("no pgbench on PATH, but the report says missing=%q ratio=%v", rep.PGBenchMissing, rep.Ratio)
		}
		return
	}
	p := rep.PGBench[0]
	if p.Aborted || p.Error != "" || p.Transactions != 40 || p.Failed != 0 || p.TPS <= 0 || p.Latency.N != 40 {
		t.Fatalf("pgbench = %+v; want 40 transactions, no failures", p)
	}
	if rep.Ratio <= 0 || rep.PGBenchTPS != p.TPS {
		t.Errorf("ratio %v, pgbench tps %v (round %v)", rep.Ratio, rep.PGBenchTPS, p.TPS)
	}
	if !rep.Check.OK || rep.Check.Reservations != 80 {
		t.Errorf("bench check = %+v, want OK with 80 reservations", rep.Check)
	}
	tn, s := benchTotals(t, d.App, rep.Tenant)
	if s != (slotTotals{Reservations: 80, Booked: 80, Outbox: 80}) {
		t.Errorf("after the bench: %+v; want 80 reservations = 80 booked places, no holds, none over capacity or mismatched, 80 outbox rows", s)
	}
	if tn.Status != tenant.Active || rep.TenantDisabled {
		t.Errorf("with -keep the tenant is %s (report disabled=%v), want active", tn.Status, rep.TenantDisabled)
	}
}

// TestBenchFlags: bad flags fail before the configuration is read (the environment is empty
// here), a missing configuration names every variable, and -h prints the usage.
func TestBenchFlags(t *testing.T) {
	noEnv := func(string) string { return "" }
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"-clients", "0"}, "-clients"},
		{[]string{"-duration", "10ms"}, "-duration"},
		{[]string{"-pgbench-mode", "fast"}, "-pgbench-mode"},
		{[]string{"-bookings", "10", "-cards", "5"}, "fewer than -bookings"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"bench"}, "unexpected argument"}, // the old subcommand's name is no argument here
		{[]string{"-nosuchflag"}, "not defined"},
		{[]string{"-import", "-rows", "0"}, "-rows and -rounds must be positive"},
		{[]string{"-bookings", "10"}, "MADOGUCHI_DATABASE_URL: required"},
		{[]string{"-import"}, "MADOGUCHI_SECRET_KEY: required"},
	} {
		err := run(context.Background(), tc.args, noEnv, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("madoguchi-bench %v = %v, want an error about %s", tc.args, err, tc.err)
		}
	}
	bad := map[string]string{"MADOGUCHI_DATABASE_URL": "postgres://x@127.0.0.1/x", "MADOGUCHI_SECRET_KEY": "abc",
		"MADOGUCHI_REDIS_URL": "http://x", "MADOGUCHI_DB_MAX_CONNS": "0"}
	_, err := loadConfig(func(k string) string { return bad[k] })
	for _, name := range []string{"MADOGUCHI_SECRET_KEY", "MADOGUCHI_REDIS_URL", "MADOGUCHI_DB_MAX_CONNS"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("loadConfig with a bad %s = %v, want it named", name, err)
		}
	}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, noEnv, &stdout, &stderr); err != nil || !strings.Contains(stderr.String(), "usage: madoguchi-bench") || !strings.Contains(stderr.String(), "-pgbench-clients") {
		t.Errorf("madoguchi-bench -h = %v, printed %q", err, stderr.String())
	}
	o := benchOptions{clients: 3, bookings: 10, rounds: 1, pgbenchMode: "prepared"}
	if err := o.resolve(); err != nil {
		t.Fatal(err)
	}
	if o.pgbenchClients != 3 || o.pgbenchTransactionsPerClient() != 4 || o.pgbenchCards != 12 || o.cards != 10 {
		t.Errorf("resolved %+v: want 3 pgbench clients × 4 transactions on 12 cards, 10 app cards", o)
	}
}

func TestPGEnv(t *testing.T) {
	env, err := pgEnv("postgres://app:s%40cret@db1.example:6543/mdg?sslmode=require")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(env, " ")
	for _, w := range []string{"PGHOST=db1.example", "PGPORT=6543", "PGUSER=app", "PGPASSWORD=s@cret", "PGDATABASE=mdg", "PGSSLMODE=require"} {
		if !strings.Contains(got, w) {
			t.Errorf("pgEnv = %s, lacks %s", got, w)
		}
	}
}

// TestBenchGoals is the short goals table of CI (-goals -short): the booking bench, the rush
// closed and open (300 citizens on 20 places, a waiting room of 4, so 429 Retry-After is
// followed too) and the import, small. It fails only on a wrong count, a 5xx or a transport
// error; the ratios are in the log, not gated. MADOGUCHI_BENCH_GOALS runs the full table on the
// test database instead, with its flags ("-" for the defaults; several minutes; not part of CI;
// "-noisy" for G11 and G10 alone, some 40 s).
func TestBenchGoals(t *testing.T) {
	d := tenanttest.NewDB(t)
	// G6's reference is the owner's \copy into a real table (WAL, foreign key), as the goal says:
	// without -ref-url it would be a TEMP table (no WAL, no foreign key), twice as fast.
	args := []string{"-goals", "-short", "-admin-url", tenanttest.AdminURL(), "-ref-url", d.OwnerDSN}
	if full := os.Getenv("MADOGUCHI_BENCH_GOALS"); full != "" {
		args = slices.Delete(args, 1, 2)
		if full != "-" {
			args = append(args, strings.Fields(full)...)
		}
	}
	var out, errOut bytes.Buffer
	var stderr io.Writer = &errOut
	if testing.Verbose() {
		stderr = io.MultiWriter(&errOut, os.Stderr)
	}
	if err := run(context.Background(), args, benchEnv(d), &out, stderr); err != nil {
		t.Fatalf("madoguchi-bench -goals -short: %v\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	table := out.String()
	wants := []string{"goal", "holds?", "G1", "G3", "rush closed: ", "rush open: ", "G6", "G10", "G11", "not run here",
		"reserve transaction (booking.ReserveSQL)", "G2", "G4", "G5", "G8", "G9"}
	if slices.Contains(args, "-noisy") { // G11 and G10 only
		wants = []string{"goal", "holds?", "G10", "G11"}
	}
	for _, want := range wants {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
	// G8 needs pgbench and the tests' superuser (which made the test database).
	if _, err := exec.LookPath("pgbench"); err == nil && !slices.Contains(args, "-noisy") && !strings.Contains(table, "row-level security runs: 0 errors") {
		t.Errorf("the table lacks G8's runs:\n%s", table)
	}
	for _, line := range strings.Split(table, "\n") {
		if strings.Contains(line, "exact") && !strings.HasSuffix(strings.TrimSpace(line), "yes") {
			t.Errorf("a count does not hold: %s", line)
		}
	}
	t.Logf("\n%s", table)
}

// TestBenchRush runs the full rush on the test database when MADOGUCHI_BENCH_RUSH is set, with
// its flags ("-" for the defaults: 5,000 citizens, 200 places; e.g. "-arrival 10s"): every
// citizen books or is told full, no 5xx. Not part of CI (TestBenchGoals runs a small one).
func TestBenchRush(t *testing.T) {
	full := os.Getenv("MADOGUCHI_BENCH_RUSH")
	if full == "" {
		t.Skip("MADOGUCHI_BENCH_RUSH not set")
	}
	d := tenanttest.NewDB(t)
	var args []string
	if full != "-" {
		args = strings.Fields(full)
	}
	var out, errOut bytes.Buffer
	var stderr io.Writer = &errOut
	if testing.Verbose() {
		stderr = io.MultiWriter(&errOut, os.Stderr)
	}
	err := run(context.Background(), append([]string{"-json", "-rush"}, args...), benchEnv(d), &out, stderr)
	if err != nil {
		t.Fatalf("madoguchi-bench -rush: %v\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	var rep RushReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("no JSON report (%v):\n%s", err, out.String())
	}
	if !rep.OK || rep.Booked != rep.Places || rep.DBReservations != rep.Places || rep.Full != rep.Citizens-rep.Places || rep.ServerErrors != 0 {
		t.Fatalf("rush: %+v", rep)
	}
	t.Logf("rush: booked %d, told full %d, 409 %d, 429 %d in %.2f s; p50 %.1f ms p99 %.1f ms; loser answers %.0f/s, pgbench rejections %.0f/s, ratio %.3f",
		rep.Booked, rep.Full, rep.Rejected, rep.Throttled, rep.BookSeconds, rep.Latency.P50, rep.Latency.P99,
		rep.LoserAnswersPerSec, rep.PGBench.TPS, rep.Ratio)
}
