package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/cmd/internal/citizenapi"
	"github.com/madoguchi/madoguchi/tenant"
)

// The scratch tenant's schedule: every day 08:00–20:00 in 30-minute slots of the largest capacity
// a template may have, over the default 90-day horizon (about 2,000 slots, 400,000 places).
const (
	benchSlotMinutes = 30
	benchCapacity    = 200
	benchOpen        = 8 * 60
	benchClose       = 20 * 60
	benchEmail       = "bench@example.jp"
)

// Card numbers: the app's cards of round r are 100000000 + r·10⁷ + i, pgbench's 500000000 + r·10⁷ + j,
// so every booking uses a card nobody has booked.
const (
	benchAppCardBase = 100_000_000
	benchPGCardBase  = 500_000_000
	benchRoundCards  = 10_000_000
)

// Automatic card pools per round and second of -duration, far above what one machine books.
const (
	benchAppCardsPerSec = 1000
	benchPGCardsPerSec  = 2500
)

// benchSteps are the requests of one booking, as a browser makes them: the login form, the login
// (303 to /menu, which a browser follows and which carries the new session's CSRF token), the hold
// (303 to /confirm, the page where the e-mail is typed) and the reservation (303 to /done).
var benchSteps = []string{"GET /login", "POST /login", "GET /menu", "POST /hold", "GET /confirm", "POST /reserve"}

const stepReserve = 5

// Latency is a latency distribution in milliseconds.
type Latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// AppResult is one round of HTTP bookings.
type AppResult struct {
	Attempts      int                `json:"attempts"`
	Successes     int                `json:"successes"`
	Failures      map[string]int     `json:"failures"` // "step → status location" or "step: error"
	Elapsed       float64            `json:"elapsed_s"`
	Rate          float64            `json:"bookings_per_s"`
	Flow          Latency            `json:"flow"`    // the whole booking, all six requests
	Reserve       Latency            `json:"reserve"` // POST /reserve alone
	Steps         map[string]Latency `json:"steps"`
	CardsRunOut   bool               `json:"cards_ran_out,omitempty"`
	Interrupted   bool               `json:"interrupted,omitempty"`
	RequestsPerOK float64            `json:"requests_per_booking"`
}

// PGBenchResult is one round of pgbench with the SQL of booking.Reserve.
type PGBenchResult struct {
	Skipped      string  `json:"skipped,omitempty"` // why it did not run
	Command      string  `json:"command,omitempty"`
	Clients      int     `json:"clients,omitempty"`
	Threads      int     `json:"threads,omitempty"`
	Mode         string  `json:"mode,omitempty"`
	TPS          float64 `json:"tps"`
	Transactions int     `json:"transactions"`
	Failed       int     `json:"failed"`
	Latency      Latency `json:"latency"`
	Aborted      bool    `json:"aborted,omitempty"`
	Error        string  `json:"error,omitempty"`
}

// BenchCheck is the correctness check over the scratch tenant after all rounds.
type BenchCheck struct {
	OK             bool `json:"ok"`
	Slots          int  `json:"slots"`
	OverCapacity   int  `json:"slots_over_capacity"`
	BookedMismatch int  `json:"slots_booked_not_reservations"` // slots whose booked ≠ booked places of their reservations
	Reservations   int  `json:"reservations"`
	BookedPlaces   int  `json:"booked_places"`
	Outbox         int  `json:"outbox"`
	// The cards are checked on the bookings linked to cards (the app's, and pgbench of
	// booking.ReserveSQL): the minimal reference transaction writes reservations without a card
	// link and moves a card found by number, so its rows are not the app's to answer for.
	LinkedBookings  int    `json:"linked_bookings"`   // booked reservations with their cards linked
	LinkedPlaces    int    `json:"linked_places"`     // their places (party sizes)
	LinkedCards     int    `json:"linked_cards"`      // their active card links
	ReservedCards   int    `json:"reserved_cards"`    // of those linked cards, the ones in status reserved
	ExpectedAtLeast int    `json:"expected_at_least"` // app successes + pgbench transactions
	ExpectedExactly bool   `json:"expected_exactly"`  // false when failed app flows may have committed
	Problem         string `json:"problem,omitempty"`
	LeftHeld        int    `json:"held_places"`
}

// BenchReport is what madoguchi-bench prints (-json prints it as is).
type BenchReport struct {
	Tenant         string          `json:"tenant"`
	TenantDisabled bool            `json:"tenant_disabled"`
	Clients        int             `json:"clients"`
	Duration       string          `json:"duration,omitempty"`
	Bookings       int             `json:"bookings,omitempty"`
	Rounds         int             `json:"rounds"`
	DBMaxConns     int             `json:"db_max_conns"`
	CPUs           int             `json:"cpus"`
	Slots          int             `json:"slots"`
	SlotCapacity   int             `json:"slot_capacity"`
	App            []AppResult     `json:"app"`
	PGBench        []PGBenchResult `json:"pgbench"`
	AppRate        float64         `json:"app_bookings_per_s"`        // median over rounds
	PGBenchTPS     float64         `json:"pgbench_tps,omitempty"`     // median over rounds
	Ratio          float64         `json:"ratio,omitempty"`           // median of per-round app/pgbench
	RatioMin       float64         `json:"ratio_min,omitempty"`       // over rounds
	RatioMax       float64         `json:"ratio_max,omitempty"`       // over rounds
	PGBenchMissing string          `json:"pgbench_missing,omitempty"` // set when no pgbench was found
	Check          BenchCheck      `json:"check"`
}

// benchBooking runs the booking benchmark on a with the resolved options o.
func benchBooking(ctx context.Context, a *services, o *benchOptions, stdout, stderr io.Writer) error {
	var err error
	rep := &BenchReport{Clients: o.clients, Rounds: o.rounds, DBMaxConns: a.cfg.DBMaxConns, CPUs: runtime.NumCPU(),
		SlotCapacity: benchCapacity, App: []AppResult{}, PGBench: []PGBenchResult{}}
	if o.bookings > 0 {
		rep.Bookings = o.bookings
	} else {
		rep.Duration = o.duration.String()
	}
	pgbenchPath := ""
	if o.pgbench {
		if pgbenchPath, err = exec.LookPath("pgbench"); err != nil {
			rep.PGBenchMissing = "pgbench not found in PATH (it comes with PostgreSQL, e.g. Debian's postgresql-15); reporting the app figures only"
			fmt.Fprintln(stderr, "bench:", rep.PGBenchMissing)
			pgbenchPath = ""
		}
	}

	sc, err := benchSetup(ctx, a, o, pgbenchPath != "", stderr)
	var once sync.Once
	cleanup := func() {
		once.Do(func() {
			if sc == nil || sc.tenant == nil {
				return
			}
			if o.keep {
				fmt.Fprintf(stderr, "bench: tenant %s left enabled (-keep); its data stays in the database\n", sc.tenant.Slug)
				return
			}
			if err := a.Tenants.SetStatus(context.WithoutCancel(ctx), sc.tenant.Slug, tenant.Disabled, tenant.System("madoguchi-bench")); err != nil {
				fmt.Fprintf(stderr, "bench: disable tenant %s: %v\n", sc.tenant.Slug, err)
				return
			}
			rep.TenantDisabled = true
			fmt.Fprintf(stderr, "bench: tenant %s disabled; its data stays in the database\n", sc.tenant.Slug)
		})
	}
	defer cleanup()
	if sc != nil && sc.tenant != nil {
		rep.Tenant = sc.tenant.Slug
	}
	if err != nil {
		return err
	}
	rep.Slots = len(sc.slots)

	// The in-process web app formats every record as production does; warnings reach stderr.
	log := slog.New(benchLogHandler{all: slog.NewJSONHandler(io.Discard, nil),
		warn: slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})})
	web, err := a.web(log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- web.Listener(ln) }()
	defer func() {
		_ = web.ShutdownWithTimeout(5 * time.Second)
		<-served
	}()

	host := sc.tenant.Slug + "." + benchBaseDomain
	for r := 0; r < o.rounds && ctx.Err() == nil; r++ {
		fmt.Fprintf(stderr, "bench: round %d/%d: app, %d clients on http://%s/ (%s)\n", r+1, o.rounds, o.clients, host, ln.Addr())
		res := runAppPhase(ctx, o, sc, r, ln.Addr().String(), host, stderr)
		rep.App = append(rep.App, res)
		if pgbenchPath == "" || ctx.Err() != nil {
			continue
		}
		fmt.Fprintf(stderr, "bench: round %d/%d: pgbench, %d clients\n", r+1, o.rounds, o.pgbenchClients)
		pres := runPGBench(ctx, pgbenchPath, a.cfg.DatabaseURL, o, sc, r, stderr)
		rep.PGBench = append(rep.PGBench, pres)
	}
	if pgbenchPath == "" {
		skip := "disabled with -pgbench=false"
		if rep.PGBenchMissing != "" {
			skip = rep.PGBenchMissing
		}
		rep.PGBench = append(rep.PGBench, PGBenchResult{Skipped: skip})
	}
	rep.summarize()

	if rep.Check, err = benchCheck(context.WithoutCancel(ctx), a, sc, rep); err != nil {
		return fmt.Errorf("check: %w", err)
	}
	_ = web.ShutdownWithTimeout(5 * time.Second)
	cleanup()
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.print(stdout, o)
	}
	if !rep.Check.OK {
		return fmt.Errorf("correctness check failed: %s", rep.Check.Problem)
	}
	return ctx.Err()
}

// resolve checks the flags and fills in the automatic values.
func (o *benchOptions) resolve() error {
	switch {
	case o.clients < 1 || o.clients > 10000:
		return errors.New("-clients must be 1–10000")
	case o.bookings < 0:
		return errors.New("-bookings must not be negative")
	case o.bookings == 0 && o.duration < time.Second:
		return errors.New("-duration must be at least 1s")
	case o.rounds < 1 || o.rounds > 40:
		return errors.New("-rounds must be 1–40")
	case o.pgbenchMode != "simple" && o.pgbenchMode != "extended" && o.pgbenchMode != "prepared":
		return errors.New("-pgbench-mode must be simple, extended or prepared")
	case o.pgbenchClients < 0 || o.cards < 0 || o.pgbenchCards < 0:
		return errors.New("-pgbench-clients, -cards and -pgbench-cards must not be negative")
	}
	if o.pgbenchClients == 0 {
		o.pgbenchClients = o.clients
	}
	secs := o.pgbenchSeconds()
	if o.cards == 0 {
		o.cards = o.bookings
		if o.bookings == 0 {
			o.cards = benchAppCardsPerSec * secs
		}
	}
	if o.bookings > 0 && o.cards < o.bookings {
		return fmt.Errorf("-cards %d is fewer than -bookings %d", o.cards, o.bookings)
	}
	if o.pgbenchCards == 0 {
		if o.bookings > 0 {
			o.pgbenchCards = o.pgbenchTransactionsPerClient() * o.pgbenchClients
		} else {
			o.pgbenchCards = benchPGCardsPerSec * secs
		}
	}
	if o.cards > benchRoundCards || o.pgbenchCards > benchRoundCards {
		return fmt.Errorf("at most %d cards per round", benchRoundCards)
	}
	return nil
}

// pgbenchSeconds is -duration rounded up to whole seconds (pgbench -T).
func (o *benchOptions) pgbenchSeconds() int {
	return max(1, int(math.Ceil(o.duration.Seconds())))
}

// pgbenchTransactionsPerClient is pgbench -t in -bookings mode.
func (o *benchOptions) pgbenchTransactionsPerClient() int {
	return (o.bookings + o.pgbenchClients - 1) / o.pgbenchClients
}

// benchScratch is the data a bench run works on.
type benchScratch struct {
	tenant   *tenant.Tenant
	location *booking.Location
	slots    []uuid.UUID
}

// benchSetup creates the tenant, its location and schedule, and imports every round's cards.
func benchSetup(ctx context.Context, a *services, o *benchOptions, withPG bool, stderr io.Writer) (*benchScratch, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	slug := "bench-" + hex.EncodeToString(b[:])
	t, err := a.Tenants.Create(ctx, slug, "ベンチマーク "+slug)
	if err != nil {
		return nil, fmt.Errorf("create tenant %s: %w", slug, err)
	}
	sc := &benchScratch{tenant: t}
	if sc.location, err = a.Booking.AddLocation(ctx, t, booking.Location{Name: "ベンチマーク会場", Active: true}, tenant.System("bench")); err != nil {
		return sc, fmt.Errorf("create location: %w", err)
	}
	var ws []booking.Window
	for d := time.Sunday; d <= time.Saturday; d++ {
		ws = append(ws, booking.Window{Weekday: d, Start: benchOpen, End: benchClose, SlotMinutes: benchSlotMinutes, Capacity: benchCapacity})
	}
	if err := a.Booking.SetWeeklySchedule(ctx, t, sc.location.ID, ws, tenant.System("bench")); err != nil {
		return sc, fmt.Errorf("set schedule: %w", err)
	}
	now := time.Now()
	today := booking.DateOf(now)
	slots, err := a.Booking.SlotsBetween(ctx, t, sc.location.ID, booking.FirstBookableDay(t, now), today.AddDays(booking.HorizonDays(t)))
	if err != nil {
		return sc, fmt.Errorf("list slots: %w", err)
	}
	places := 0
	for _, s := range slots {
		if s.Open && s.StartsAt.After(now.Add(time.Hour)) && s.Capacity > 0 {
			sc.slots = append(sc.slots, s.ID)
			places += s.Capacity
		}
	}
	pgCards := 0
	if withPG {
		pgCards = o.pgbenchCards
	}
	if need := o.rounds * (o.cards + pgCards); need > places*9/10 {
		return sc, fmt.Errorf("%d bookable places in %d slots, too few for up to %d bookings; use fewer -rounds, -cards or -pgbench-cards", places, len(sc.slots), need)
	}
	fmt.Fprintf(stderr, "bench: tenant %s, %d slots × %d places; importing %d cards\n", slug, len(sc.slots), benchCapacity, o.rounds*(o.cards+pgCards))
	start := time.Now()
	for r := 0; r < o.rounds; r++ {
		if err := benchImport(ctx, a, t, benchAppCardBase+r*benchRoundCards, o.cards); err != nil {
			return sc, err
		}
		if pgCards > 0 {
			if err := benchImport(ctx, a, t, benchPGCardBase+r*benchRoundCards, pgCards); err != nil {
				return sc, err
			}
		}
	}
	fmt.Fprintf(stderr, "bench: cards imported in %.1fs\n", time.Since(start).Seconds())
	return sc, nil
}

// benchMMDD is the birthday of the i-th card of a pool (every month, days 1–28).
func benchMMDD(i int) (month, day int) { return citizenapi.Birthday(i) }

// benchImport loads n cards numbered base, base+1, … through the J-LIS CSV import.
func benchImport(ctx context.Context, a *services, t *tenant.Tenant, base, n int) error {
	var buf bytes.Buffer
	buf.WriteString("製造管理番号,生年月日\n")
	for i := 0; i < n; i++ {
		m, d := benchMMDD(i)
		fmt.Fprintf(&buf, "%09d,1980-%02d-%02d\n", base+i, m, d)
	}
	res, err := a.Booking.ImportCards(ctx, t, &buf, nil)
	if err != nil {
		return fmt.Errorf("import cards: %w", err)
	}
	if res.Inserted != n {
		return fmt.Errorf("import cards: %d inserted, %d rejected, want %d new", res.Inserted, len(res.Rejected), n)
	}
	return nil
}

// benchRun collects one app phase's measurements across workers.
type benchRun struct {
	next    atomic.Int64 // next card index
	ok      atomic.Int64
	failed  atomic.Int64
	mu      sync.Mutex
	flow    []time.Duration
	steps   [][]time.Duration
	fails   map[string]int
	ranOut  atomic.Bool
	limit   int  // cards (and, with -bookings, attempts) available
	byCount bool // -bookings: reaching limit is the plan, not running out of cards
	reqs    atomic.Int64
}

// runAppPhase books with o.clients concurrent citizens until -bookings are done or -duration is over.
func runAppPhase(ctx context.Context, o *benchOptions, sc *benchScratch, round int, addr, host string, stderr io.Writer) AppResult {
	run := &benchRun{steps: make([][]time.Duration, len(benchSteps)), fails: map[string]int{}, limit: o.cards}
	if o.bookings > 0 {
		run.limit, run.byCount = o.bookings, true
	}
	phaseCtx := ctx
	if o.bookings == 0 {
		var cancel context.CancelFunc
		phaseCtx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	start := time.Now()
	done, progressDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(progressDone)
		benchProgress(run, start, done, stderr)
	}()
	var wg sync.WaitGroup
	for w := 0; w < o.clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			benchWorker(ctx, phaseCtx, run, sc, round, addr, host, w)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(done)
	<-progressDone // stderr is the caller's again (it may not be safe for concurrent writes)

	res := AppResult{Successes: int(run.ok.Load()), Failures: run.fails, Elapsed: round3(elapsed.Seconds()),
		Flow: summarize(run.flow), Reserve: summarize(run.steps[stepReserve]), Steps: map[string]Latency{},
		CardsRunOut: run.ranOut.Load(), Interrupted: ctx.Err() != nil}
	res.Attempts = res.Successes + int(run.failed.Load())
	res.Rate = round3(float64(res.Successes) / elapsed.Seconds())
	if res.Successes > 0 {
		res.RequestsPerOK = round3(float64(run.reqs.Load()) / float64(res.Successes))
	}
	for i, s := range benchSteps {
		res.Steps[s] = summarize(run.steps[i])
	}
	if res.CardsRunOut {
		fmt.Fprintf(stderr, "bench: the app used all %d cards before -duration ended; pass a larger -cards\n", o.cards)
	}
	return res
}

// benchProgress prints bookings so far and the last second's rate until done is closed.
func benchProgress(run *benchRun, start time.Time, done <-chan struct{}, stderr io.Writer) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last, lastAt := int64(0), start
	for {
		select {
		case <-done:
			return
		case now := <-tick.C:
			ok := run.ok.Load()
			fmt.Fprintf(stderr, "bench: app %5.1fs  %7d bookings  %7.1f/s  %d failed\n",
				now.Sub(start).Seconds(), ok, float64(ok-last)/now.Sub(lastAt).Seconds(), run.failed.Load())
			last, lastAt = ok, now
		}
	}
}

// benchWorker is one citizen after another on one keep-alive connection, each with fresh cookies.
// Worker w connects from its own loopback address (127.4.0.0/16, as one browser would from its
// own address): the login guard counts a login before judging it, so many logins in flight from
// one address look like guessing and would be refused.
func benchWorker(ctx, phaseCtx context.Context, run *benchRun, sc *benchScratch, round int, addr, host string, w int) {
	client := benchClient(addr, net.IPv4(127, 4+byte(w>>16), byte(w>>8), byte(w)))
	defer client.CloseIdleConnections()
	c := &citizen{base: "http://" + host, client: client}
	local := make([][]time.Duration, len(benchSteps))
	var flow []time.Duration
	fails := map[string]int{}
	for phaseCtx.Err() == nil {
		i := int(run.next.Add(1) - 1)
		if i >= run.limit {
			run.ranOut.Store(!run.byCount)
			break
		}
		slot := sc.slots[(round*run.limit+i)%len(sc.slots)]
		cardNo := fmt.Sprintf("%09d", benchAppCardBase+round*benchRoundCards+i)
		m, d := benchMMDD(i)
		t0 := time.Now()
		times, fail := c.book(ctx, cardNo, m, d, slot)
		run.reqs.Add(int64(len(times)))
		for s, dt := range times {
			local[s] = append(local[s], dt)
		}
		if fail != "" {
			fails[fail]++
			run.failed.Add(1)
			continue
		}
		flow = append(flow, time.Since(t0))
		run.ok.Add(1)
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	run.flow = append(run.flow, flow...)
	for s := range local {
		run.steps[s] = append(run.steps[s], local[s]...)
	}
	for k, v := range fails {
		run.fails[k] += v
	}
}

// benchClient is one browser's connection to addr, whatever the host asked for, from the source
// address from (nil: the system's choice): one keep-alive connection, redirects not followed.
func benchClient(addr string, from net.IP) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if from != nil {
		d.LocalAddr = &net.TCPAddr{IP: from}
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 1,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// citizen is a minimal browser: one server whatever the host, its own cookies, no redirects
// followed automatically (the flow follows the ones a browser would, and checks each).
type citizen struct {
	base    string
	client  *http.Client
	cookies map[string]string
	refresh string // the last answer's Refresh header: the waiting room's queue page
	csrf    string // the last page's CSRF token
}

var benchCSRF = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// book makes one booking. It returns each request's latency in order and "" on success, or a
// failure key naming the step and what it got.
func (c *citizen) book(ctx context.Context, cardNo string, month, day int, slot uuid.UUID) (times []time.Duration, fail string) {
	c.cookies, c.csrf = map[string]string{}, ""
	return c.steps(ctx, cardNo, month, day, slot, 0, len(benchSteps))
}

// steps makes the requests from, …, to-1 of benchSteps of one booking, with the cookies and CSRF
// token the earlier steps left (book makes them all; the micro goals make the first ones, then
// time the last one alone).
func (c *citizen) steps(ctx context.Context, cardNo string, month, day int, slot uuid.UUID, from, to int) (times []time.Duration, fail string) {
	type want struct {
		status int
		loc    string
	}
	steps := []struct {
		form func() url.Values
		want want
	}{
		{nil, want{http.StatusOK, ""}},
		{func() url.Values {
			return url.Values{"card_no": {cardNo}, "month": {strconv.Itoa(month)}, "day": {strconv.Itoa(day)}, "_csrf": {c.csrf}}
		}, want{http.StatusSeeOther, "/menu"}},
		{nil, want{http.StatusOK, ""}},
		{func() url.Values { return url.Values{"slot": {slot.String()}, "_csrf": {c.csrf}} }, want{http.StatusSeeOther, "/confirm"}},
		{nil, want{http.StatusOK, ""}},
		{func() url.Values {
			return url.Values{"email": {benchEmail}, "email2": {benchEmail}, "_csrf": {c.csrf}}
		}, want{http.StatusSeeOther, "/done"}},
	}
	for i := from; i < to; i++ {
		s := steps[i]
		method, path, _ := strings.Cut(benchSteps[i], " ")
		var form url.Values
		if s.form != nil {
			form = s.form()
		}
		t0 := time.Now()
		status, loc, body, err := c.do(ctx, method, path, form)
		// The waiting room's queue page: as a browser, wait for its refresh, then ask again
		// (a form queued is sent again, as the page tells the citizen to).
		for waits := 0; err == nil && c.refresh != "" && waits < 60; waits++ {
			secs, _, _ := strings.Cut(c.refresh, ";")
			n, _ := strconv.Atoi(strings.TrimSpace(secs))
			select {
			case <-ctx.Done():
				return append(times, time.Since(t0)), benchSteps[i] + ": " + shortError(ctx.Err())
			case <-time.After(time.Duration(max(n, 1)) * time.Second):
			}
			status, loc, body, err = c.do(ctx, method, path, form)
		}
		times = append(times, time.Since(t0))
		if err != nil {
			return times, benchSteps[i] + ": " + shortError(err)
		}
		if base, _, _ := strings.Cut(loc, "?"); status != s.want.status || base != s.want.loc {
			got := strconv.Itoa(status)
			if loc != "" {
				got += " " + strings.SplitN(loc, "?", 2)[0]
			}
			return times, benchSteps[i] + " → " + got
		}
		if method == http.MethodGet {
			m := benchCSRF.FindSubmatch(body)
			if m == nil {
				return times, benchSteps[i] + " → page without a CSRF token"
			}
			c.csrf = string(m[1])
		}
	}
	return times, ""
}

// do sends one request and returns the status, the Location header and the body.
func (c *citizen) do(ctx context.Context, method, path string, form url.Values) (int, string, []byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, "", nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", nil, err
	}
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" || (!ck.Expires.IsZero() && ck.Expires.Before(time.Now())) {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	c.refresh = resp.Header.Get("Refresh")
	return resp.StatusCode, resp.Header.Get("Location"), b, nil
}

// shortError keeps failure keys bounded: the innermost error text, without addresses.
func shortError(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	for {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	return err.Error()
}

// summarize returns the nearest-rank p50 and p99 and the maximum of ds.
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p float64) time.Duration { return s[max(0, int(math.Ceil(p*float64(len(s))))-1)] }
	ms := func(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }
	return Latency{N: len(s), P50: ms(rank(0.50)), P99: ms(rank(0.99)), Max: ms(s[len(s)-1])}
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// benchPGScript is booking.Reserve for one card with a hold, statement by statement, as pgbench
// SQL: the same round trips in the same transaction, under the same RLS scope, as the same role.
// The statements are booking.ReserveSQL's own texts (pgbenchScript fills in their arguments), so
// the reference follows the app. Differences, all in the reference's favour or neutral: the card
// is locked by its number (the app locks it by id after the login found the id), the slot id and
// the request key come out of the set_config round trip (pgbench variables cannot hold a uuid
// otherwise), there is no hold to convert (the own-hold DELETE finds nothing), times are now() and
// the booking code is drawn by the server.
const benchPGScript = `\set i :n * :nclients + :client_id
\set n :n + 1
\set no :base + :i
\set k random(1, {{nslots}})
\set a1 random(1, 32)
\set a2 random(1, 32)
\set a3 random(1, 32)
\set a4 random(1, 32)
\set a5 random(1, 32)
\set a6 random(1, 32)
\set a7 random(1, 32)
\set a8 random(1, 32)
BEGIN;
SELECT set_config('app.tenant_id', '{{tenant}}', true), ('{{slots}}'::uuid[])[:k::int] AS sid,
  md5(random()::text) || md5(random()::text) AS rkey \gset
{{lock}} \gset c_
{{find}};
{{take}} \gset s_
{{insert}};
COMMIT;
`

// benchArgs are the pgbench expressions of the $n arguments of each statement of Reserve.
var benchArgs = struct{ find, take, insert map[int]string }{
	find: map[int]string{1: ":rkey"},
	take: map[int]string{1: ":sid", 2: "now()", 3: "'00000000-0000-0000-0000-000000000000'::uuid", 4: "1"},
	insert: map[int]string{1: "'{{tenant}}'::uuid", 2: "{{code}}", 3: ":sid", 4: ":s_location_id", 5: ":s_starts_at",
		6: "'booked'", 7: "'web'", 8: "'{{email}}'", 9: "'ja'", 10: "1", 11: "now()", 12: ":rkey",
		13: "('{' || :c_id || '}')", 14: "('{' || :c_status || '}')", 15: "''", 16: "'reservation_created'", 17: "''"},
}

var placeholder = regexp.MustCompile(`\$([0-9]+)`)

// fillArgs replaces every $n of a statement with its pgbench expression; a $n without one is an
// error (the booking statement changed: benchArgs must follow).
func fillArgs(name, sql string, args map[int]string) (string, error) {
	var missing []string
	out := placeholder.ReplaceAllStringFunc(sql, func(p string) string {
		n, _ := strconv.Atoi(p[1:])
		if e, ok := args[n]; ok {
			return e
		}
		missing = append(missing, p)
		return p
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("pgbench script: no argument for %v of booking.ReserveSQL().%s", missing, name)
	}
	return out, nil
}

// pgbenchScript fills in benchPGScript for the scratch tenant.
func pgbenchScript(sc *benchScratch) (string, error) {
	st := booking.ReserveSQL()
	const byID = "id = ANY($1::uuid[])"
	if !strings.Contains(st.LockCards, byID) {
		return "", fmt.Errorf("pgbench script: booking.ReserveSQL().LockCards no longer selects %q", byID)
	}
	lock := strings.Replace(st.LockCards, byID, "card_no = :no::text", 1)
	find, err := fillArgs("FindRequest", st.FindRequest, benchArgs.find)
	if err != nil {
		return "", err
	}
	take, err := fillArgs("TakePlaces", st.TakePlaces, benchArgs.take)
	if err != nil {
		return "", err
	}
	insert, err := fillArgs("InsertBooking", st.InsertBooking, benchArgs.insert)
	if err != nil {
		return "", err
	}
	script := strings.NewReplacer("{{lock}}", lock, "{{find}}", find, "{{take}}", take, "{{insert}}", insert).Replace(benchPGScript)
	return pgbenchFill(sc, script), nil
}

// pgbenchFill fills in the scratch tenant, its slots, the booking code's expression and the
// e-mail address of a booking script.
func pgbenchFill(sc *benchScratch, script string) string {
	ids := make([]string, len(sc.slots))
	for i, s := range sc.slots {
		ids[i] = s.String()
	}
	var code []string
	for i := 1; i <= 8; i++ {
		code = append(code, fmt.Sprintf("substr('%s', :a%d::int, 1)", "23456789ABCDEFGHJKLMNPQRSTUVWXYZ", i))
	}
	return strings.NewReplacer(
		"{{tenant}}", sc.tenant.ID.String(),
		"{{nslots}}", strconv.Itoa(len(sc.slots)),
		"{{slots}}", "{"+strings.Join(ids, ",")+"}",
		"{{code}}", "("+strings.Join(code, " || ")+")",
		"{{email}}", benchEmail,
	).Replace(script)
}

// pgEnv turns the runtime role's URL into libpq variables, so the password is not on pgbench's
// command line. A multi-host URL uses its first host.
func pgEnv(dsn string) ([]string, error) {
	c, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	env := []string{"PGHOST=" + c.Host, "PGPORT=" + strconv.Itoa(int(c.Port)), "PGUSER=" + c.User,
		"PGDATABASE=" + c.Database, "PGPASSWORD=" + c.Password, "PGAPPNAME=madoguchi-bench"}
	sslmode := ""
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		sslmode = u.Query().Get("sslmode")
	} else {
		for _, f := range strings.Fields(dsn) {
			if v, ok := strings.CutPrefix(f, "sslmode="); ok {
				sslmode = strings.Trim(v, `'`)
			}
		}
	}
	if sslmode != "" {
		env = append(env, "PGSSLMODE="+sslmode)
	}
	return env, nil
}

var (
	pgbenchTPS       = regexp.MustCompile(`(?m)^tps = ([0-9.]+)`)
	pgbenchProcessed = regexp.MustCompile(`(?m)^number of transactions actually processed: ([0-9]+)`)
	pgbenchFailed    = regexp.MustCompile(`(?m)^number of failed transactions: ([0-9]+)`)
)

// runPGBench runs pgbench with the Reserve script on this round's cards, for -duration (or the
// transactions per client that make -bookings), and parses its summary and per-transaction logs.
func runPGBench(ctx context.Context, path, dsn string, o *benchOptions, sc *benchScratch, round int, stderr io.Writer) PGBenchResult {
	sql, err := pgbenchScript(sc)
	if err != nil {
		return PGBenchResult{Clients: o.pgbenchClients, Mode: o.pgbenchMode, Error: err.Error()}
	}
	args := []string{"-D", "n=0", "-D", "nclients=" + strconv.Itoa(o.pgbenchClients),
		"-D", "base=" + strconv.Itoa(benchPGCardBase+round*benchRoundCards), "-P", "1"}
	if o.bookings > 0 {
		args = append(args, "-t", strconv.Itoa(o.pgbenchTransactionsPerClient()))
	} else {
		args = append(args, "-T", strconv.Itoa(o.pgbenchSeconds()))
	}
	res := pgbench(ctx, path, dsn, pgbenchRun{name: "reserve", script: sql, mode: o.pgbenchMode,
		clients: o.pgbenchClients, args: args, log: true}, stderr)
	if strings.Contains(res.Error, "did not return exactly one row") || strings.Contains(res.Error, "expected one row") {
		res.Error += " (probably out of cards: pass a larger -pgbench-cards)"
	}
	return res
}

// pgbenchRun is one pgbench run: a script, its clients, and the arguments that say how long.
type pgbenchRun struct {
	name, script, mode string
	clients            int
	args               []string // besides -n -M -c -j -f: the duration, -D variables, -P
	log                bool     // per-transaction logs (-l), read for the latencies
	env                []string // more libpq variables (e.g. PGOPTIONS)
}

// pgbench runs one pgbench script (with the environment of dsn), echoing its progress lines
// to stderr, and reads its summary.
func pgbench(ctx context.Context, path, dsn string, r pgbenchRun, stderr io.Writer) PGBenchResult {
	threads := min(r.clients, runtime.NumCPU())
	res := PGBenchResult{Clients: r.clients, Threads: threads, Mode: r.mode}
	env, err := pgEnv(dsn)
	if err != nil {
		res.Error = "MADOGUCHI_DATABASE_URL: " + err.Error()
		return res
	}
	dir, err := os.MkdirTemp("", "madoguchi-bench-")
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, r.name+".sql")
	if err := os.WriteFile(script, []byte(r.script), 0o600); err != nil {
		res.Error = err.Error()
		return res
	}
	args := append([]string{"-n", "-M", r.mode, "-c", strconv.Itoa(r.clients), "-j", strconv.Itoa(threads)}, r.args...)
	if r.log {
		args = append(args, "-l", "--log-prefix="+filepath.Join(dir, "log"))
	}
	args = append(args, "-f", script)
	res.Command = strings.ReplaceAll("pgbench "+strings.Join(args, " "), dir+string(filepath.Separator), "")
	fmt.Fprintf(stderr, "bench: %s\n", res.Command)
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(append(os.Environ(), env...), r.env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		res.Error = err.Error()
		return res
	}
	if err := cmd.Start(); err != nil {
		res.Error = err.Error()
		return res
	}
	var errLines []string
	lines := bufio.NewScanner(errPipe)
	for lines.Scan() {
		line := lines.Text()
		if strings.HasPrefix(line, "progress:") {
			fmt.Fprintln(stderr, "bench: pgbench", line)
			continue
		}
		fmt.Fprintln(stderr, "bench: pgbench:", line)
		if len(errLines) < 5 {
			errLines = append(errLines, line)
		}
	}
	waitErr := cmd.Wait()
	text := out.String()
	if m := pgbenchTPS.FindStringSubmatch(text); m != nil {
		res.TPS, _ = strconv.ParseFloat(m[1], 64)
		res.TPS = round3(res.TPS)
	}
	if m := pgbenchProcessed.FindStringSubmatch(text); m != nil {
		res.Transactions, _ = strconv.Atoi(m[1])
	}
	if m := pgbenchFailed.FindStringSubmatch(text); m != nil {
		res.Failed, _ = strconv.Atoi(m[1])
	}
	if r.log {
		res.Latency = pgbenchLatencies(dir)
	}
	if waitErr != nil || res.TPS == 0 {
		res.Aborted = true
		res.Error = strings.TrimSpace(strings.Join(errLines, "; "))
		if res.Error == "" && waitErr != nil {
			res.Error = waitErr.Error()
		}
	}
	return res
}

// pgbenchLatencies reads pgbench's per-transaction logs (-l): the third field is the latency in
// microseconds, or a word for a failed transaction.
func pgbenchLatencies(dir string) Latency {
	files, _ := filepath.Glob(filepath.Join(dir, "log.*"))
	var ds []time.Duration
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		s := bufio.NewScanner(fh)
		for s.Scan() {
			fields := strings.Fields(s.Text())
			if len(fields) < 3 {
				continue
			}
			if us, err := strconv.ParseInt(fields[2], 10, 64); err == nil {
				ds = append(ds, time.Duration(us)*time.Microsecond)
			}
		}
		fh.Close()
	}
	return summarize(ds)
}

// summarize computes the medians and the ratio over rounds.
func (r *BenchReport) summarize() {
	var rates, tps, ratios []float64
	for i, a := range r.App {
		rates = append(rates, a.Rate)
		if i < len(r.PGBench) && r.PGBench[i].Skipped == "" && !r.PGBench[i].Aborted && r.PGBench[i].TPS > 0 {
			tps = append(tps, r.PGBench[i].TPS)
			ratios = append(ratios, a.Rate/r.PGBench[i].TPS)
		}
	}
	r.AppRate = round3(median(rates))
	r.PGBenchTPS = round3(median(tps))
	if len(ratios) > 0 {
		r.Ratio = round3(median(ratios))
		r.RatioMin, r.RatioMax = round3(slices.Min(ratios)), round3(slices.Max(ratios))
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// benchCheck proves there is no overbooking: every slot's booked equals the places of its booked
// reservations and stays within capacity, and there are as many reservations as successful
// bookings (app and pgbench), each with its outbox row.
func benchCheck(ctx context.Context, a *services, sc *benchScratch, rep *BenchReport) (BenchCheck, error) {
	var c BenchCheck
	err := tenant.InTx(ctx, a.DB, sc.tenant.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.QueryRowContext(ctx, `WITH r AS (
	SELECT slot_id, sum(party_size) AS places, count(*) AS n FROM reservations WHERE status = 'booked' GROUP BY slot_id)
SELECT count(*),
	count(*) FILTER (WHERE s.booked + s.held > s.capacity),
	count(*) FILTER (WHERE s.booked <> coalesce(r.places, 0)),
	coalesce(sum(r.n), 0), coalesce(sum(s.booked), 0), coalesce(sum(s.held), 0),
	(SELECT count(*) FROM outbox WHERE kind = 'reservation_created'),
	(SELECT count(*) FROM reservations x WHERE x.status = 'booked' AND EXISTS (SELECT 1 FROM reservation_cards l WHERE l.reservation_id = x.id AND l.active)),
	(SELECT coalesce(sum(x.party_size), 0) FROM reservations x WHERE x.status = 'booked' AND EXISTS (SELECT 1 FROM reservation_cards l WHERE l.reservation_id = x.id AND l.active)),
	(SELECT count(*) FROM reservation_cards l JOIN reservations x ON x.id = l.reservation_id WHERE l.active AND x.status = 'booked'),
	(SELECT count(*) FROM reservation_cards l JOIN reservations x ON x.id = l.reservation_id JOIN cards k ON k.id = l.card_id
		WHERE l.active AND x.status = 'booked' AND k.status = 'reserved')
FROM slots s LEFT JOIN r ON r.slot_id = s.id`).Scan(&c.Slots, &c.OverCapacity, &c.BookedMismatch,
			&c.Reservations, &c.BookedPlaces, &c.LeftHeld, &c.Outbox, &c.LinkedBookings, &c.LinkedPlaces, &c.LinkedCards, &c.ReservedCards)
	})
	if err != nil {
		return c, err
	}
	appFailed, appBooked := false, 0
	for _, ar := range rep.App {
		c.ExpectedAtLeast += ar.Successes
		appBooked += ar.Successes
		appFailed = appFailed || ar.Attempts > ar.Successes
	}
	pgExact := true
	for _, p := range rep.PGBench {
		c.ExpectedAtLeast += p.Transactions
		pgExact = pgExact && !p.Aborted && p.Failed == 0
	}
	c.ExpectedExactly = !appFailed && pgExact
	var problems []string
	if c.OverCapacity > 0 {
		problems = append(problems, fmt.Sprintf("%d slots over capacity", c.OverCapacity))
	}
	if c.BookedMismatch > 0 {
		problems = append(problems, fmt.Sprintf("%d slots whose booked count differs from their reservations", c.BookedMismatch))
	}
	if c.Outbox != c.Reservations {
		problems = append(problems, fmt.Sprintf("%d outbox rows for %d reservations", c.Outbox, c.Reservations))
	}
	if c.LinkedBookings < appBooked {
		problems = append(problems, fmt.Sprintf("%d bookings with their cards linked, the app answered %d", c.LinkedBookings, appBooked))
	}
	if c.LinkedCards != c.LinkedPlaces {
		problems = append(problems, fmt.Sprintf("%d cards linked to bookings of %d places", c.LinkedCards, c.LinkedPlaces))
	}
	if c.ReservedCards != c.LinkedCards {
		problems = append(problems, fmt.Sprintf("%d reserved cards for %d cards linked to bookings", c.ReservedCards, c.LinkedCards))
	}
	if c.Reservations < c.ExpectedAtLeast || (c.ExpectedExactly && c.Reservations != c.ExpectedAtLeast) {
		problems = append(problems, fmt.Sprintf("%d reservations, want %d", c.Reservations, c.ExpectedAtLeast))
	}
	if c.LeftHeld > 0 && !appFailed {
		problems = append(problems, fmt.Sprintf("%d places still held although every hold was booked", c.LeftHeld))
	}
	c.OK = len(problems) == 0
	c.Problem = strings.Join(problems, "; ")
	return c, nil
}

// print writes the human-readable report.
func (r *BenchReport) print(w io.Writer, o *benchOptions) {
	what := "duration " + r.Duration
	if r.Bookings > 0 {
		what = fmt.Sprintf("%d bookings", r.Bookings)
	}
	fmt.Fprintf(w, "\nmadoguchi-bench: tenant %s, %d slots × %d places, %d HTTP clients, %s, %d round(s); DB pool %d, %d CPUs\n",
		r.Tenant, r.Slots, r.SlotCapacity, r.Clients, what, r.Rounds, r.DBMaxConns, r.CPUs)
	fmt.Fprintf(w, "app flow = %s (one card per booking); pgbench = the SQL of booking.Reserve\n\n", strings.Join(benchSteps, ", "))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\twhat\tper s\tp50 ms\tp99 ms\tok\terrors\t")
	for i, a := range r.App {
		fmt.Fprintf(tw, "%d\tapp booking (whole flow)\t%.1f\t%.1f\t%.1f\t%d\t%d\t\n", i+1, a.Rate, a.Flow.P50, a.Flow.P99, a.Successes, a.Attempts-a.Successes)
		fmt.Fprintf(tw, "%d\tapp POST /reserve\t\t%.1f\t%.1f\t\t\t\n", i+1, a.Reserve.P50, a.Reserve.P99)
		if i < len(r.PGBench) {
			p := r.PGBench[i]
			switch {
			case p.Skipped != "":
				fmt.Fprintf(tw, "%d\tpgbench\tskipped\t\t\t\t\t\n", i+1)
			case p.Aborted && p.Transactions == 0:
				fmt.Fprintf(tw, "%d\tpgbench Reserve SQL\tfailed\t\t\t\t\t\n", i+1)
			case p.Aborted:
				fmt.Fprintf(tw, "%d\tpgbench Reserve SQL (aborted)\t%.1f\t%.1f\t%.1f\t%d\t%d\t\n", i+1, p.TPS, p.Latency.P50, p.Latency.P99, p.Transactions, p.Failed)
			default:
				fmt.Fprintf(tw, "%d\tpgbench Reserve SQL (tps)\t%.1f\t%.1f\t%.1f\t%d\t%d\t\n", i+1, p.TPS, p.Latency.P50, p.Latency.P99, p.Transactions, p.Failed)
			}
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	for i, a := range r.App {
		var parts []string
		for _, st := range benchSteps {
			l := a.Steps[st]
			parts = append(parts, fmt.Sprintf("%s %.1f/%.1f", st, l.P50, l.P99))
		}
		fmt.Fprintf(w, "round %d app requests, p50/p99 ms: %s\n", i+1, strings.Join(parts, ", "))
		if len(a.Failures) > 0 {
			keys := make([]string, 0, len(a.Failures))
			for k := range a.Failures {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				fmt.Fprintf(w, "round %d app failures: %s × %d\n", i+1, k, a.Failures[k])
			}
		}
		if a.CardsRunOut {
			fmt.Fprintf(w, "round %d: the app ran out of cards (-cards %d) before the time was up\n", i+1, o.cards)
		}
	}
	for i, p := range r.PGBench {
		if p.Error != "" {
			fmt.Fprintf(w, "round %d pgbench: %s\n", i+1, p.Error)
		}
	}
	fmt.Fprintf(w, "app bookings/s: %.1f", r.AppRate)
	if r.Rounds > 1 {
		fmt.Fprint(w, " (median)")
	}
	fmt.Fprintln(w)
	switch {
	case r.PGBenchMissing != "":
		fmt.Fprintln(w, "pgbench:", r.PGBenchMissing)
	case r.Ratio > 0:
		fmt.Fprintf(w, "pgbench tps: %.1f\nratio app/pgbench: %.3f", r.PGBenchTPS, r.Ratio)
		if r.Rounds > 1 {
			fmt.Fprintf(w, " (median; min %.3f, max %.3f)", r.RatioMin, r.RatioMax)
		}
		fmt.Fprintln(w)
		if len(r.PGBench) > 0 {
			fmt.Fprintln(w, "pgbench command:", r.PGBench[0].Command)
		}
	case len(r.PGBench) > 0 && r.PGBench[0].Skipped != "":
		fmt.Fprintln(w, "pgbench: skipped,", r.PGBench[0].Skipped)
	default:
		fmt.Fprintln(w, "pgbench: no usable result, no ratio")
	}
	c := r.Check
	status := "OK"
	if !c.OK {
		status = "FAILED: " + c.Problem
	}
	fmt.Fprintf(w, "check: %d reservations (want %d), %d booked places in %d slots, %d over capacity, %d mismatched, %d outbox rows: %s\n",
		c.Reservations, c.ExpectedAtLeast, c.BookedPlaces, c.Slots, c.OverCapacity, c.BookedMismatch, c.Outbox, status)
}

// benchLogHandler formats every record of the in-process web app (so the bench pays for access
// logging as production does) but writes only warnings and errors, to stderr.
type benchLogHandler struct{ all, warn slog.Handler }

func (h benchLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.all.Enabled(ctx, l)
}

func (h benchLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if err := h.all.Handle(ctx, r); err != nil {
		return err
	}
	if h.warn.Enabled(ctx, r.Level) {
		return h.warn.Handle(ctx, r.Clone())
	}
	return nil
}

func (h benchLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return benchLogHandler{all: h.all.WithAttrs(as), warn: h.warn.WithAttrs(as)}
}

func (h benchLogHandler) WithGroup(name string) slog.Handler {
	return benchLogHandler{all: h.all.WithGroup(name), warn: h.warn.WithGroup(name)}
}
