package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/cmd/internal/app"
	"github.com/madoguchi/madoguchi/cmd/internal/citizenapi"
	"github.com/madoguchi/madoguchi/tenant"
)

// The rush (-rush, goal G3): a city opens a small number of places and many citizens, each
// through the JSON API as a client program would, log in, read the availability of the
// location with its slots, and book a free time among the earliest, reading again and retrying
// on 409 slot.full until they booked or the availability shows no place left (the clean 満席
// answer). 429 (the waiting room, or the login flood limit) is followed: the citizen waits the
// Retry-After seconds and asks again. Closed loop (-arrival 0): every citizen logs in first,
// then all book at one moment. Open (-arrival D): citizens arrive evenly over D, each logging in
// and booking at once.
//
// It fails (exit status 1) only on a wrong count — bookings ≠ places, or the database disagreeing
// with the answers — or on any 5xx or transport error; rates and latencies are reported.

// rushSlotCapacity is the places of each slot the rush leaves open: -places / rushSlotCapacity
// slots, the earliest bookable ones, stay open.
const rushSlotCapacity = 4

// rushCitizensPerIP is how many citizens share one source address (and its connections): the
// citizens come from 127.1.0.0/16 (every 127/8 address is the loopback), a few per address, as
// from a mobile carrier's shared addresses, so the web app's per-address flood limits see
// what they would see in a real rush and not one address sending everything.
const rushCitizensPerIP = 4

// rushClients returns one HTTP client per group of rushCitizensPerIP citizens, each dialling
// addr from its own loopback address.
func rushClients(addr string, citizens int) []*http.Client {
	out := make([]*http.Client, (citizens+rushCitizensPerIP-1)/rushCitizensPerIP)
	for g := range out {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 1+byte(g>>16), byte(g>>8), byte(g))}}
		tr := &http.Transport{MaxConnsPerHost: rushCitizensPerIP, MaxIdleConnsPerHost: rushCitizensPerIP, IdleConnTimeout: time.Minute,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			}}
		out[g] = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	}
	return out
}

// rushCardBase numbers the rush's cards (a range the booking bench does not use).
const rushCardBase = 800_000_000

// RushReport is what -rush prints (-json prints it as is).
type RushReport struct {
	Tenant             string         `json:"tenant"`
	Citizens           int            `json:"citizens"`
	Places             int            `json:"places"`
	Slots              int            `json:"slots"`
	Arrival            string         `json:"arrival"` // "closed" or the open arrival window
	CitizenConcurrency int            `json:"citizen_concurrency"`
	LoginSeconds       float64        `json:"login_s,omitempty"` // closed loop: the login phase
	BookSeconds        float64        `json:"book_s"`            // until the last citizen had its answer
	Booked             int            `json:"booked"`            // 201 answers
	Full               int            `json:"full"`              // citizens who ended on "no place left"
	Rejected           int            `json:"rejected_409"`      // 409 slot.full answers (then read again)
	Throttled          int            `json:"throttled_429"`     // 429 answers followed after Retry-After
	ServerErrors       int            `json:"server_errors"`     // 5xx answers
	Errors             map[string]int `json:"errors"`            // transport errors and unexpected answers
	Requests           int            `json:"requests"`
	LoserAnswersPerSec float64        `json:"loser_answers_per_s"` // answers other than 201 and 429 in the booking phase, per second
	FirstToLast        float64        `json:"places_gone_s"`       // from the booking phase's start to the last 201
	Latency            Latency        `json:"latency"`             // every request of the booking phase
	Login              Latency        `json:"login"`               // POST /api/v1/session
	Availability       Latency        `json:"availability"`        // GET /api/v1/availability
	Reserve            Latency        `json:"reserve"`             // POST /api/v1/reservations
	Wait               Latency        `json:"retry_after_wait"`    // time spent following Retry-After
	DBReservations     int            `json:"db_reservations"`
	DBBooked           int            `json:"db_booked_places"`
	PGBench            PGBenchResult  `json:"pgbench_rejections"` // the reference: the refusal's SQL on the full slots
	Ratio              float64        `json:"ratio,omitempty"`    // loser answers / pgbench rejections
	OK                 bool           `json:"ok"`
	Problem            string         `json:"problem,omitempty"`
}

// rushRun collects the measurements of one rush across citizens.
type rushRun struct {
	start                           time.Time
	booked, full, rejected, thr, se atomic.Int64
	loserAnswers, reqs              atomic.Int64
	lastBooked                      atomic.Int64 // ns after start
	mu                              sync.Mutex
	all, login, avail, reserve      []time.Duration
	wait                            []time.Duration
	errs                            map[string]int
}

func (r *rushRun) fail(key string) {
	r.mu.Lock()
	r.errs[key]++
	r.mu.Unlock()
}

func (r *rushRun) took(list *[]time.Duration, d time.Duration, booking bool) {
	r.mu.Lock()
	*list = append(*list, d)
	if booking {
		r.all = append(r.all, d)
	}
	r.mu.Unlock()
}

// rushScratch is the rush's city: one location whose earliest slots hold the places.
type rushScratch struct {
	tenant   *tenant.Tenant
	location uuid.UUID
	slots    []uuid.UUID
	from, to booking.Date
}

// benchRush runs the rush with the options o.
func benchRush(ctx context.Context, a *services, o *benchOptions, stdout, stderr io.Writer) error {
	rep, err := runRush(ctx, a, o, stderr)
	if rep == nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.print(stdout)
	}
	if err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("rush check failed: %s", rep.Problem)
	}
	return ctx.Err()
}

// runRush sets the city up, runs the rush and the pgbench reference, and checks the counts.
func runRush(ctx context.Context, a *services, o *benchOptions, stderr io.Writer) (*RushReport, error) {
	if o.places < rushSlotCapacity || o.places%rushSlotCapacity != 0 || o.citizens < 1 {
		return nil, fmt.Errorf("-rush: -places must be a positive multiple of %d and -citizens positive", rushSlotCapacity)
	}
	sc, err := rushSetup(ctx, a, o, stderr)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := a.Tenants.SetStatus(context.WithoutCancel(ctx), sc.tenant.Slug, tenant.Disabled, tenant.System("madoguchi-bench")); err != nil {
			fmt.Fprintf(stderr, "bench: disable tenant %s: %v\n", sc.tenant.Slug, err)
		}
	}()
	rep := &RushReport{Tenant: sc.tenant.Slug, Citizens: o.citizens, Places: o.places, Slots: len(sc.slots),
		Arrival: "closed", CitizenConcurrency: o.citizenConcurrency, Errors: map[string]int{}}
	if o.arrival > 0 {
		rep.Arrival = o.arrival.String()
	}

	log := slog.New(benchLogHandler{all: slog.NewJSONHandler(io.Discard, nil),
		warn: slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError})})
	web, err := a.Web(app.WebOptions{Log: log, BaseDomain: benchBaseDomain, CitizenConcurrency: o.citizenConcurrency})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	served := make(chan error, 1)
	go func() { served <- web.Listener(ln) }()
	defer func() {
		_ = web.ShutdownWithTimeout(5 * time.Second)
		<-served
	}()

	clients := rushClients(ln.Addr().String(), o.citizens)
	defer func() {
		for _, c := range clients {
			c.CloseIdleConnections()
		}
	}()
	host := "http://" + sc.tenant.Slug + "." + benchBaseDomain
	run := &rushRun{errs: map[string]int{}}

	stderr = &lockedWriter{w: stderr} // the progress line below and this goroutine both write
	progress, progressDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(progressDone)
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-progress:
				return
			case <-tick.C:
				fmt.Fprintf(stderr, "bench: rush: %d requests, %d 429, %d booked, %d told full\n",
					run.reqs.Load(), run.thr.Load(), run.booked.Load(), run.full.Load())
			}
		}
	}()
	defer func() { // the progress line is not written after the rush returns (stderr is not ours then)
		close(progress)
		<-progressDone
	}()
	tokens := make([]string, o.citizens)
	citizens := func(each func(i int)) {
		var wg sync.WaitGroup
		for i := range o.citizens {
			wg.Add(1)
			go func() { defer wg.Done(); each(i) }()
		}
		wg.Wait()
	}
	if o.arrival == 0 {
		fmt.Fprintf(stderr, "bench: rush: %d citizens log in\n", o.citizens)
		t0 := time.Now()
		citizens(func(i int) { tokens[i] = rushLogin(ctx, clients[i/rushCitizensPerIP], host, run, i) })
		rep.LoginSeconds = round3(time.Since(t0).Seconds())
		fmt.Fprintf(stderr, "bench: rush: %d citizens book %d places at once\n", o.citizens, o.places)
		run.start = time.Now()
		citizens(func(i int) {
			if tokens[i] != "" {
				rushBook(ctx, clients[i/rushCitizensPerIP], host, sc, run, tokens[i])
			}
		})
	} else {
		fmt.Fprintf(stderr, "bench: rush: %d citizens arrive over %s for %d places\n", o.citizens, o.arrival, o.places)
		run.start = time.Now()
		citizens(func(i int) {
			at := time.Duration(float64(o.arrival) * float64(i) / float64(o.citizens))
			select {
			case <-time.After(time.Until(run.start.Add(at))):
			case <-ctx.Done():
				return
			}
			if tok := rushLogin(ctx, clients[i/rushCitizensPerIP], host, run, i); tok != "" {
				rushBook(ctx, clients[i/rushCitizensPerIP], host, sc, run, tok)
			}
		})
	}
	elapsed := time.Since(run.start)
	rep.BookSeconds = round3(elapsed.Seconds())
	rep.Booked, rep.Full, rep.Rejected = int(run.booked.Load()), int(run.full.Load()), int(run.rejected.Load())
	rep.Throttled, rep.ServerErrors, rep.Requests = int(run.thr.Load()), int(run.se.Load()), int(run.reqs.Load())
	rep.Errors = run.errs
	rep.LoserAnswersPerSec = round3(float64(run.loserAnswers.Load()) / elapsed.Seconds())
	rep.FirstToLast = round3(time.Duration(run.lastBooked.Load()).Seconds())
	rep.Latency, rep.Login, rep.Availability = summarize(run.all), summarize(run.login), summarize(run.avail)
	rep.Reserve, rep.Wait = summarize(run.reserve), summarize(run.wait)
	_ = web.ShutdownWithTimeout(5 * time.Second)

	if err := rushCheck(ctx, a, sc, rep); err != nil {
		return rep, err
	}
	if o.pgbench {
		rep.PGBench = rushPGBench(ctx, a.cfg.DatabaseURL, a.cfg.DBMaxConns, o, sc, stderr)
		if rep.PGBench.TPS > 0 {
			rep.Ratio = round3(rep.LoserAnswersPerSec / rep.PGBench.TPS)
		}
	} else {
		rep.PGBench.Skipped = "disabled with -pgbench=false"
	}
	return rep, nil
}

// rushSetup creates the city (slug bench-rush-…), a location with every day's slots, closes all
// but the earliest places/rushSlotCapacity bookable ones (rushSlotCapacity places each) and
// imports the citizens' cards. The cache is not followed yet, so the direct UPDATE is safe.
func rushSetup(ctx context.Context, a *services, o *benchOptions, stderr io.Writer) (*rushScratch, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	slug := "bench-rush-" + hex.EncodeToString(b[:])
	t, err := a.Tenants.Create(ctx, slug, "ベンチマーク "+slug)
	if err != nil {
		return nil, fmt.Errorf("create tenant %s: %w", slug, err)
	}
	sc := &rushScratch{tenant: t}
	loc, err := a.Booking.AddLocation(ctx, t, booking.Location{Name: "ベンチマーク会場", Active: true}, tenant.System("bench"))
	if err != nil {
		return nil, fmt.Errorf("create location: %w", err)
	}
	sc.location = loc.ID
	var ws []booking.Window
	for d := time.Sunday; d <= time.Saturday; d++ {
		ws = append(ws, booking.Window{Weekday: d, Start: benchOpen, End: benchClose, SlotMinutes: benchSlotMinutes, Capacity: rushSlotCapacity})
	}
	if err := a.Booking.SetWeeklySchedule(ctx, t, loc.ID, ws, tenant.System("bench")); err != nil {
		return nil, fmt.Errorf("set schedule: %w", err)
	}
	now := time.Now()
	today := booking.DateOf(now)
	sc.from = today.AddDays(booking.DeadlineDays(t))
	slots, err := a.Booking.SlotsBetween(ctx, t, loc.ID, sc.from, sc.from.AddDays(60))
	if err != nil {
		return nil, fmt.Errorf("list slots: %w", err)
	}
	want := o.places / rushSlotCapacity
	for _, s := range slots {
		if len(sc.slots) < want && s.Open && s.StartsAt.After(now.Add(time.Hour)) && s.Capacity == rushSlotCapacity {
			sc.slots = append(sc.slots, s.ID)
			sc.to = booking.DateOf(s.StartsAt)
		}
	}
	if len(sc.slots) < want {
		return nil, fmt.Errorf("only %d bookable slots in 60 days, want %d: use fewer -places", len(sc.slots), want)
	}
	err = tenant.InTx(ctx, a.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewRaw("UPDATE slots SET open = false WHERE NOT (id IN (?))", bun.List(sc.slots)).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("close the other slots: %w", err)
	}
	fmt.Fprintf(stderr, "bench: rush: tenant %s, %d slots × %d places (%s–%s); importing %d cards\n",
		slug, len(sc.slots), rushSlotCapacity, sc.from, sc.to, o.citizens)
	if err := benchImport(ctx, a, t, rushCardBase, o.citizens); err != nil {
		return nil, err
	}
	return sc, nil
}

// rushCall sends one API request, following 429 Retry-After until another answer comes. It
// returns the status and body of that answer (status 0: a transport error, counted).
func rushCall(ctx context.Context, client *http.Client, run *rushRun, method, url, token string, body any, lat *[]time.Duration, inBooking bool) (int, []byte) {
	for ctx.Err() == nil {
		req, err := citizenapi.NewRequest(ctx, method, url, token, body)
		if err != nil {
			run.fail(err.Error())
			return 0, nil
		}
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			run.fail(method + " " + shortError(err))
			return 0, nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		run.reqs.Add(1)
		run.took(lat, time.Since(t0), inBooking)
		if err != nil {
			run.fail(method + " " + shortError(err))
			return 0, nil
		}
		if resp.StatusCode >= 500 {
			run.se.Add(1)
			run.fail(fmt.Sprintf("%s → %d %.80s", method, resp.StatusCode, b))
			return resp.StatusCode, b
		}
		if resp.StatusCode != http.StatusTooManyRequests {
			return resp.StatusCode, b
		}
		run.thr.Add(1)
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || secs < 1 {
			run.fail("429 without a Retry-After of whole seconds")
			return resp.StatusCode, b
		}
		// Wait as asked, spread over the second after it, as a polite client does.
		d := time.Duration(secs)*time.Second + time.Duration(mrand.Int64N(int64(time.Second)))
		run.mu.Lock()
		run.wait = append(run.wait, d)
		run.mu.Unlock()
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	return 0, nil
}

// rushLogin logs citizen i in and returns the session token ("" on failure, counted).
func rushLogin(ctx context.Context, client *http.Client, host string, run *rushRun, i int) string {
	m, d := benchMMDD(i)
	st, b := rushCall(ctx, client, run, "POST", host+"/api/v1/session", "",
		citizenapi.Login(rushCardBase+i, m, d), &run.login, false)
	var s citizenapi.Session
	if st != http.StatusCreated || json.Unmarshal(b, &s) != nil || s.Token == "" {
		if st != 0 && st < 500 {
			run.fail(fmt.Sprintf("login → %d %.80s", st, b))
		}
		return ""
	}
	return s.Token
}

// rushBook reads the availability and books a random free slot among the earliest, again after
// each 409, until it booked or no place is left.
func rushBook(ctx context.Context, client *http.Client, host string, sc *rushScratch, run *rushRun, token string) {
	avail := host + citizenapi.AvailabilityPath(sc.location, sc.from, sc.to)
	for attempt := 0; attempt < 1000 && ctx.Err() == nil; attempt++ {
		st, b := rushCall(ctx, client, run, "GET", avail, token, nil, &run.avail, true)
		if st != http.StatusOK {
			if st != 0 && st < 500 {
				run.fail(fmt.Sprintf("availability → %d %.80s", st, b))
			}
			return
		}
		run.loserAnswers.Add(1)
		free, err := citizenapi.FreeSlots(b, 50)
		if err != nil {
			run.fail(err.Error())
			return
		}
		if len(free) == 0 {
			run.full.Add(1) // the clean 満席 answer: nothing left to book
			return
		}
		st, b = rushCall(ctx, client, run, "POST", host+"/api/v1/reservations", token,
			map[string]string{"slot_id": free[mrand.IntN(len(free))]}, &run.reserve, true)
		switch {
		case st == http.StatusCreated:
			run.booked.Add(1)
			for {
				at, now := run.lastBooked.Load(), int64(time.Since(run.start))
				if now <= at || run.lastBooked.CompareAndSwap(at, now) {
					break
				}
			}
			run.loserAnswers.Add(-1) // the availability read was a winner's
			return
		case st == http.StatusConflict && strings.Contains(string(b), `"slot.full"`):
			run.rejected.Add(1)
			run.loserAnswers.Add(1)
		default:
			if st != 0 && st < 500 {
				run.fail(fmt.Sprintf("reserve → %d %.80s", st, b))
			}
			return
		}
	}
}

// rushCheck compares the answers with the database: bookings = places = booked places, no 5xx,
// no transport error, every citizen either booked or told no place is left.
func rushCheck(ctx context.Context, a *services, sc *rushScratch, rep *RushReport) error {
	err := tenant.InTx(context.WithoutCancel(ctx), a.DB, sc.tenant.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM reservations WHERE status = 'booked'),
			(SELECT coalesce(sum(booked), 0) FROM slots)`).Scan(&rep.DBReservations, &rep.DBBooked)
	})
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	var problems []string
	if rep.Booked != rep.Places {
		problems = append(problems, fmt.Sprintf("%d bookings answered, want exactly %d", rep.Booked, rep.Places))
	}
	if rep.DBReservations != rep.Booked || rep.DBBooked != rep.Booked {
		problems = append(problems, fmt.Sprintf("database: %d reservations, %d booked places; %d answered 201", rep.DBReservations, rep.DBBooked, rep.Booked))
	}
	if rep.ServerErrors > 0 {
		problems = append(problems, fmt.Sprintf("%d answers 5xx", rep.ServerErrors))
	}
	if n := sumCounts(rep.Errors); n > 0 {
		problems = append(problems, fmt.Sprintf("%d errors", n))
	}
	if rep.Booked+rep.Full != rep.Citizens {
		problems = append(problems, fmt.Sprintf("%d booked + %d told full ≠ %d citizens", rep.Booked, rep.Full, rep.Citizens))
	}
	rep.OK, rep.Problem = len(problems) == 0, strings.Join(problems, "; ")
	return nil
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// rushPGScript is the refusal a loser gets, as pgbench SQL from booking.ReserveSQL's own texts:
// the card's lock and the conditional take of a place in one of the (now full) slots, then
// ROLLBACK as Reserve's transaction does on slot.full.
const rushPGScript = `\set no {{base}} + random(0, {{ncards}} - 1)
\set k random(1, {{nslots}})
BEGIN;
SELECT set_config('app.tenant_id', '{{tenant}}', true), ('{{slots}}'::uuid[])[:k::int] AS sid \gset
{{lock}} \gset c_
{{take}} \gset s_
ROLLBACK;
`

// rushPGBench runs the refusal's SQL on the full slots for a few seconds with as many clients as
// the app's pool (or -pgbench-clients): the rate at which PostgreSQL alone can say "full".
func rushPGBench(ctx context.Context, dsn string, dbConns int, o *benchOptions, sc *rushScratch, stderr io.Writer) PGBenchResult {
	path, err := exec.LookPath("pgbench")
	if err != nil {
		return PGBenchResult{Skipped: "pgbench not found in PATH"}
	}
	st := booking.ReserveSQL()
	const byID = "id = ANY($1::uuid[])"
	if !strings.Contains(st.LockCards, byID) {
		return PGBenchResult{Error: "booking.ReserveSQL().LockCards no longer selects " + byID}
	}
	take, err := fillArgs("TakePlaces", st.TakePlaces, benchArgs.take)
	if err != nil {
		return PGBenchResult{Error: err.Error()}
	}
	ids := make([]string, len(sc.slots))
	for i, s := range sc.slots {
		ids[i] = s.String()
	}
	script := strings.NewReplacer("{{lock}}", strings.Replace(st.LockCards, byID, "card_no = :no::text", 1), "{{take}}", take,
		"{{base}}", strconv.Itoa(rushCardBase), "{{ncards}}", strconv.Itoa(o.citizens),
		"{{tenant}}", sc.tenant.ID.String(), "{{nslots}}", strconv.Itoa(len(sc.slots)),
		"{{slots}}", "{"+strings.Join(ids, ",")+"}").Replace(rushPGScript)
	clients := o.pgbenchClients
	if clients == 0 {
		clients = dbConns
	}
	return pgbench(ctx, path, dsn, pgbenchRun{name: "rejections", script: script, mode: o.pgbenchMode, clients: clients,
		args: []string{"-T", strconv.Itoa(o.rushPGSeconds)}}, stderr)
}

// print writes the rush report as text.
func (r *RushReport) print(w io.Writer) {
	fmt.Fprintf(w, "rush (G3): %d citizens (%d per source address), %d places in %d slots, arrival %s, waiting room %d per city\n",
		r.Citizens, rushCitizensPerIP, r.Places, r.Slots, r.Arrival, r.CitizenConcurrency)
	if r.LoginSeconds > 0 {
		fmt.Fprintf(w, "  login phase          %.2f s (p50 %.1f ms, p99 %.1f ms)\n", r.LoginSeconds, r.Login.P50, r.Login.P99)
	}
	fmt.Fprintf(w, "  booking phase        %.2f s; places gone after %.2f s\n", r.BookSeconds, r.FirstToLast)
	fmt.Fprintf(w, "  booked               %d (database: %d reservations, %d places)\n", r.Booked, r.DBReservations, r.DBBooked)
	fmt.Fprintf(w, "  told full (満席)      %d; 409 slot.full %d; 429 followed %d; 5xx %d; errors %d\n",
		r.Full, r.Rejected, r.Throttled, r.ServerErrors, sumCounts(r.Errors))
	keys := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "    %6d  %s\n", r.Errors[k], k)
	}
	fmt.Fprintf(w, "  requests             %d; p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.Requests, r.Latency.P50, r.Latency.P99, r.Latency.Max)
	fmt.Fprintf(w, "    availability       p50 %.1f ms, p99 %.1f ms (%d)\n", r.Availability.P50, r.Availability.P99, r.Availability.N)
	fmt.Fprintf(w, "    reserve            p50 %.1f ms, p99 %.1f ms (%d)\n", r.Reserve.P50, r.Reserve.P99, r.Reserve.N)
	if r.Wait.N > 0 {
		fmt.Fprintf(w, "    Retry-After waits  p50 %.1f ms, max %.1f ms (%d)\n", r.Wait.P50, r.Wait.Max, r.Wait.N)
	}
	fmt.Fprintf(w, "  loser answers        %.1f/s\n", r.LoserAnswersPerSec)
	switch {
	case r.PGBench.Skipped != "":
		fmt.Fprintf(w, "  pgbench rejections   skipped: %s\n", r.PGBench.Skipped)
	case r.PGBench.Error != "":
		fmt.Fprintf(w, "  pgbench rejections   failed: %s\n", r.PGBench.Error)
	default:
		fmt.Fprintf(w, "  pgbench rejections   %.1f tps (%s)\n", r.PGBench.TPS, r.PGBench.Command)
		fmt.Fprintf(w, "  ratio                %.3f (goal ≥ 0.5)\n", r.Ratio)
	}
	if r.OK {
		fmt.Fprintln(w, "  check                ok")
	} else {
		fmt.Fprintf(w, "  check                FAILED: %s\n", r.Problem)
	}
}

var errRushFlags = errors.New("-rush: -citizens must be 1–100000, -places positive, -arrival not negative, -rush-pgbench-seconds at least 1")

// resolveRush checks the rush's flags.
func (o *benchOptions) resolveRush() error {
	if o.citizens < 1 || o.citizens > 100_000 || o.places < 1 || o.arrival < 0 || o.rushPGSeconds < 1 {
		return errRushFlags
	}
	return nil
}

// lockedWriter serialises writes to w, for a writer shared by goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
