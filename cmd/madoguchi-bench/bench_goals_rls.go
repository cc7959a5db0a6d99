package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// G8, the cost of row-level security: in a scratch database created with the superuser of
// -admin-url (and dropped after), migrated and seeded as the booking bench seeds one city, the
// hot statements of the app run through pgbench twice per round at equal clients, alternated —
// as the runtime role (every policy on, the tenant scope set) and as a role that is the runtime
// role plus BYPASSRLS (the same grants, statements and scope, no policy applied). Every index
// starts with tenant_id and the app's statements leave the tenant to the policies, so without
// them the same text would scan a whole index: the reference is the same statements with the
// policy's predicate written out (tenant_id = the city, as an app without policies would filter).
// The statement groups:
//   - the login's card read (the point read of G9),
//   - the calendar month on a cache miss (booking.CalendarSQL in its tenant scope, as G5),
//   - the reserve transaction (booking.ReserveSQL, as the booking bench).
// The ratio with / without is the goal (≥ 0.95: RLS costs at most 5 %). Without a superuser or
// without pgbench the rows say why and nothing fails; with -short the runs are tiny and only
// errors fail.

// rlsPlan sizes G8.
type rlsPlan struct {
	rounds, clients int
	seconds         int // pgbench -T; 0: -t perClient
	perClient       int
	pool            int // cards the point read draws from
}

func newRLSPlan(o *benchOptions, a *services) rlsPlan {
	if o.short {
		return rlsPlan{rounds: 1, clients: 2, perClient: 20, pool: 100}
	}
	return rlsPlan{rounds: 3, clients: a.cfg.DBMaxConns, seconds: 5, pool: 1000}
}

// length is pgbench's -T or -t.
func (p rlsPlan) length() []string {
	if p.seconds > 0 {
		return []string{"-T", strconv.Itoa(p.seconds)}
	}
	return []string{"-t", strconv.Itoa(p.perClient)}
}

// reserveCards is how many cards one reserve run may book (one per transaction).
func (p rlsPlan) reserveCards() int {
	if p.seconds > 0 {
		return benchPGCardsPerSec * p.seconds
	}
	return p.clients * p.perClient
}

// rlsGroup is one statement group of G8.
type rlsGroup struct {
	figure string
	script string
	env    []string
	cards  bool // books one card per transaction: every run gets its own range
	off    string
}

// tenantWhere is where the policies add their predicate to a statement of a script: the WHERE
// of a read, update or delete of a city's table (every primary key and index starts with
// tenant_id; the scripts join nothing, so the column needs no qualifier).
var tenantWhere = regexp.MustCompile(`((?:FROM|UPDATE) (?:cards|reservations|slots|slot_holds)\b[^;]*?)\bWHERE `)

// withTenant is script with the tenant predicate the policies add written out in each WHERE
// tenantWhere finds; an error when there is none (the app's statements changed).
func withTenant(figure, script, tenantID string) (string, error) {
	out := tenantWhere.ReplaceAllString(script, "${1}WHERE tenant_id = '"+tenantID+"' AND ")
	if out == script {
		return "", fmt.Errorf("G8 %s: no read by tenant to write the policy's predicate into", figure)
	}
	return out, nil
}

// benchGoalsRLS measures G8 and adds its rows to rep; an error of the runs or a policy that does
// not apply as it should goes to rep.Failed. It returns only ctx's error.
func benchGoalsRLS(ctx context.Context, a *services, o *benchOptions, rep *GoalsReport, stderr io.Writer) error {
	p := newRLSPlan(o, a)
	fmt.Fprintln(stderr, "bench: goals: G8 row-level security on and off in a scratch database")
	skip := func(why string) {
		rep.Rows = append(rep.Rows, GoalRow{Goal: "G8", Figure: "row-level security on / off, hot statements", Want: "≥ 0.95", Holds: "—",
			Note: "not measured: " + why})
	}
	pgbenchPath := ""
	if o.pgbench {
		pgbenchPath, _ = exec.LookPath("pgbench")
	}
	if pgbenchPath == "" {
		skip("pgbench missing or disabled")
		return nil
	}
	admin, err := pgx.Connect(ctx, o.adminURL)
	if err != nil {
		skip("no superuser at -admin-url (" + shortError(err) + ")")
		return ctx.Err()
	}
	defer admin.Close(context.WithoutCancel(ctx))
	var super bool
	if err := admin.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil || !super {
		skip("the role of -admin-url is not a superuser")
		return ctx.Err()
	}
	groups, on, off, err := rlsScratch(ctx, a, o, p, admin, stderr)
	if err != nil {
		rep.Failed = append(rep.Failed, "G8: "+err.Error())
		return ctx.Err()
	}
	defer off.drop()

	type tally struct {
		on, off, ratios []float64
		onRes, offRes   []PGBenchResult
	}
	tallies := make([]tally, len(groups))
	var errs []string
	run := 0 // each run's own card range for the booking group
	for r := 0; r < p.rounds && ctx.Err() == nil; r++ {
		for gi, g := range groups {
			order := []bool{true, false}
			if r%2 == 1 {
				order = []bool{false, true}
			}
			var tps [2]float64
			for _, policies := range order {
				dsn, label, script := on.url, "on", g.script
				if !policies {
					dsn, label, script = off.url, "off", g.off
				}
				args := p.length()
				if g.cards {
					args = append(args, "-D", "n=0", "-D", "nclients="+strconv.Itoa(p.clients), "-D", "base="+strconv.Itoa(benchPGCardBase+run*p.reserveCards()))
					run++
				}
				fmt.Fprintf(stderr, "bench: round %d/%d: G8 %s, row-level security %s, %d clients\n", r+1, p.rounds, g.figure, label, p.clients)
				pr := pgbench(ctx, pgbenchPath, dsn, pgbenchRun{name: "rls", script: script, mode: o.pgbenchMode, clients: p.clients,
					args: args, log: true, env: g.env}, stderr)
				if pr.Aborted || pr.Failed > 0 || pr.Transactions == 0 {
					errs = append(errs, fmt.Sprintf("pgbench %s, RLS %s: %d failed, %s", g.figure, label, pr.Failed, pr.Error))
					continue
				}
				t := &tallies[gi]
				if policies {
					t.on, t.onRes, tps[0] = append(t.on, pr.TPS), append(t.onRes, pr), pr.TPS
				} else {
					t.off, t.offRes, tps[1] = append(t.off, pr.TPS), append(t.offRes, pr), pr.TPS
				}
			}
			if tps[0] > 0 && tps[1] > 0 {
				tallies[gi].ratios = append(tallies[gi].ratios, tps[0]/tps[1])
			}
		}
	}
	rep.Rows = append(rep.Rows, countRow("G8", "row-level security runs: 0 errors, policies on for the runtime role, off for BYPASSRLS", len(errs) == 0, strings.Join(errs, "; ")))
	for gi, g := range groups {
		t := tallies[gi]
		lon, _ := medianPG(t.onRes)
		loff, _ := medianPG(t.offRes)
		rep.Rows = append(rep.Rows, ratioRow("G8", g.figure+", row-level security on, tps", median(t.on),
			"the same with tenant_id = city written out, policies off, tps", median(t.off), median(t.ratios), 0.95,
			fmt.Sprintf("%s; on p50 %.2f ms p99 %.2f ms, off p50 %.2f ms p99 %.2f ms; %d clients", minMax(t.ratios), lon.P50, lon.P99, loff.P50, loff.P99, p.clients)))
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		rep.Failed = append(rep.Failed, "G8: "+strings.Join(errs, "; "))
	}
	return ctx.Err()
}

// rlsDB is a role's URL on the scratch database, and how to drop that database.
type rlsDB struct {
	url  string
	drop func()
}

// rlsScratch creates and seeds the scratch database, checks that the policies apply to the
// runtime role and not to the BYPASSRLS one, and returns the statement groups and both URLs
// (drop the database with off.drop, also set when err is not nil and something was created).
func rlsScratch(ctx context.Context, a *services, o *benchOptions, p rlsPlan, admin *pgx.Conn, stderr io.Writer) (groups []rlsGroup, on, off rlsDB, err error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, on, off, err
	}
	name := "madoguchi_rls_" + hex.EncodeToString(b[:])
	bypass := name + "_norls"
	off.drop = func() {
		bg := context.WithoutCancel(ctx)
		if err := dropFleetDB(bg, o.adminURL, name); err != nil {
			fmt.Fprintf(stderr, "bench: G8: drop %s: %v\n", name, err)
		}
		if _, err := admin.Exec(bg, "DROP ROLE IF EXISTS "+pgx.Identifier{bypass}.Sanitize()); err != nil {
			fmt.Fprintf(stderr, "bench: G8: drop role %s: %v\n", bypass, err)
		}
	}
	fail := func(err error) ([]rlsGroup, rlsDB, rlsDB, error) {
		off.drop()
		return nil, rlsDB{}, rlsDB{drop: func() {}}, err
	}
	fmt.Fprintf(stderr, "bench: G8: scratch database %s\n", name)
	if err := createBenchDB(ctx, admin, o.adminURL, name); err != nil {
		return fail(err)
	}
	// The runtime role's grants, inherited; BYPASSRLS is the only difference.
	if _, err := admin.Exec(ctx, "CREATE ROLE "+pgx.Identifier{bypass}.Sanitize()+" LOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE INHERIT IN ROLE "+
		pgx.Identifier{name + "_app"}.Sanitize()); err != nil {
		return fail(err)
	}
	on.url, off.url = roleURL(o.adminURL, name+"_app", name), roleURL(o.adminURL, bypass, name)

	cfg := *a.cfg
	cfg.DatabaseURL, cfg.DBMaxConns = on.url, 4
	s, err := openServices(ctx, &cfg)
	if err != nil {
		return fail(err)
	}
	defer s.close()
	so := &benchOptions{rounds: 1, cards: p.pool, pgbenchCards: 2 * p.rounds * p.reserveCards()}
	sc, err := benchSetup(ctx, s, so, true, stderr)
	if err != nil {
		return fail(err)
	}
	su, err := pgx.Connect(ctx, roleURL(o.adminURL, mustUser(o.adminURL), name))
	if err != nil {
		return fail(err)
	}
	defer su.Close(context.WithoutCancel(ctx))
	if _, err := su.Exec(ctx, "ANALYZE"); err != nil {
		return fail(err)
	}
	// In another city's scope the runtime role sees no card and the BYPASSRLS role sees them all.
	for _, c := range []struct {
		url  string
		want func(n int) bool
		what string
	}{{on.url, func(n int) bool { return n == 0 }, "the runtime role sees another city's cards"},
		{off.url, func(n int) bool { return n >= p.pool }, "the BYPASSRLS role does not see every card"}} {
		conn, err := pgx.Connect(ctx, c.url)
		if err != nil {
			return fail(err)
		}
		var n int
		err = conn.QueryRow(ctx, "SELECT set_config('app.tenant_id', $1, false), (SELECT count(*) FROM cards)", uuid.NewString()).Scan(nil, &n)
		conn.Close(ctx)
		if err != nil {
			return fail(err)
		}
		if !c.want(n) {
			return fail(fmt.Errorf("%s (%d)", c.what, n))
		}
	}

	reserve, err := pgbenchScript(sc)
	if err != nil {
		return fail(err)
	}
	_, from, end := calendarMonth(sc, time.Now())
	calendar, err := calendarScript(sc, from, end)
	if err != nil {
		return fail(err)
	}
	groups = []rlsGroup{
		{figure: "login's card read", script: pointReadScript(p.pool), env: []string{"PGOPTIONS=-c app.tenant_id=" + sc.tenant.ID.String()}},
		{figure: "calendar month (booking.CalendarSQL)", script: calendar},
		{figure: "reserve transaction (booking.ReserveSQL)", script: reserve, cards: true},
	}
	for i, g := range groups {
		if groups[i].off, err = withTenant(g.figure, g.script, sc.tenant.ID.String()); err != nil {
			return fail(err)
		}
	}
	return groups, on, off, nil
}
