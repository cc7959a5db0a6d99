package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// The micro goals of -goals, each subject alternated with its reference in the same run, with as
// many clients on both sides:
//   - the reserve transaction (booking.ReserveSQL in pgbench) against the minimal booking
//     transaction (tenant scope, conditional UPDATE of the slot, reservation, card, outbox), ≥ 0.5;
//   - G2: POST /reserve alone (citizens already logged in and holding a place) against pgbench of
//     booking.ReserveSQL, ≥ 0.8;
//   - G4: the citizen's calendar month page served from the availability cache against a
//     hello-world handler on a Fiber app of the same configuration, ≥ 0.3, and its p99 at a fixed
//     rate of half the measured one;
//   - G5: the same page without the cache (every read a miss) against pgbench of the tenant scope
//     and booking.CalendarSQL, ≥ 0.5;
//   - G9: the citizen login (POST /api/v1/session) against a pgbench point read of one card, ≥ 0.5.
// With -short each phase is small: only errors and wrong counts fail; the ratios are reported.

// microPlan sizes the micro goals.
type microPlan struct {
	rounds   int
	clients  int           // HTTP clients and pgbench clients alike
	phase    time.Duration // each closed-loop phase and pgbench run
	citizens int           // G2: citizens holding a place, per round
	logins   int           // G9: logins per round
}

func newMicroPlan(o *benchOptions, a *services) microPlan {
	if o.short {
		return microPlan{rounds: 1, clients: 4, phase: 500 * time.Millisecond, citizens: 20, logins: 100}
	}
	return microPlan{rounds: 3, clients: a.cfg.DBMaxConns, phase: 5 * time.Second, citizens: 25 * a.cfg.DBMaxConns, logins: 3000}
}

// pgSeconds is pgbench's -T for a phase: whole seconds, at least one.
func (p microPlan) pgSeconds() int { return max(1, int(p.phase.Seconds())) }

// minimalBookingBody is the minimal booking transaction in pgbench: the same header (card and
// slot drawn as benchPGScript draws them) and one statement per round trip.
const minimalBookingBody = `BEGIN;
SELECT set_config('app.tenant_id', '{{tenant}}', true), ('{{slots}}'::uuid[])[:k::int] AS sid \gset
UPDATE slots SET booked = booked + 1 WHERE id = :sid AND booked + 1 <= capacity RETURNING location_id, starts_at \gset s_
INSERT INTO reservations (tenant_id, code, slot_id, location_id, starts_at, status, channel, email, lang, party_size)
  VALUES ('{{tenant}}', {{code}}, :sid, :s_location_id, :s_starts_at, 'booked', 'web', '{{email}}', 'ja', 1) RETURNING id \gset r_
UPDATE cards SET status = 'reserved', status_changed_at = now(), updated_at = now() WHERE card_no = :no::text;
INSERT INTO outbox (tenant_id, kind, reservation_id, data) VALUES ('{{tenant}}', 'reservation_created', :r_id, '{}');
COMMIT;
`

// benchGoalsMicro measures the micro goals and adds their rows to rep; a wrong count or an error
// goes to rep.Failed. It returns only ctx's error.
func benchGoalsMicro(ctx context.Context, a *services, o *benchOptions, rep *GoalsReport, stderr io.Writer) error {
	p := newMicroPlan(o, a)
	pgbenchPath := ""
	if o.pgbench {
		pgbenchPath, _ = exec.LookPath("pgbench")
	}
	fail := func(name string, err error) {
		if err != nil {
			rep.Failed = append(rep.Failed, name+": "+err.Error())
		}
	}
	fmt.Fprintln(stderr, "bench: goals: reserve SQL vs the minimal transaction, G2 POST /reserve alone")
	fail("reserve and G2", microBooking(ctx, a, o, p, pgbenchPath, rep, stderr))
	if ctx.Err() != nil {
		return ctx.Err()
	}
	fmt.Fprintln(stderr, "bench: goals: G4/G5 calendar month, G9 citizen login")
	fail("G4/G5/G9", microReads(ctx, a, o, p, pgbenchPath, rep, stderr))
	return ctx.Err()
}

// microWeb starts s's web app on a loopback port and returns its address and a stop function.
func microWeb(s *services, stderr io.Writer) (*fiber.App, string, func(), error) {
	log := slog.New(benchLogHandler{all: slog.NewJSONHandler(io.Discard, nil),
		warn: slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})})
	web, err := s.web(log)
	if err != nil {
		return nil, "", nil, err
	}
	addr, stop, err := serve(web)
	return web, addr, stop, err
}

// serve runs a Fiber app on a loopback port until stop is called.
func serve(app *fiber.App) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	return ln.Addr().String(), func() {
		_ = app.ShutdownWithTimeout(5 * time.Second)
		<-served
	}, nil
}

// microBooking runs, per round, pgbench of booking.ReserveSQL, pgbench of the minimal booking
// transaction and POST /reserve alone, then checks the counts as the booking bench does.
func microBooking(ctx context.Context, a *services, o *benchOptions, p microPlan, pgbenchPath string, rep *GoalsReport, stderr io.Writer) error {
	s, err := openServices(ctx, a.cfg)
	if err != nil {
		return err
	}
	defer s.close()
	secs := p.pgSeconds()
	so := &benchOptions{rounds: p.rounds, clients: p.clients, pgbenchClients: p.clients, pgbenchMode: o.pgbenchMode,
		duration: time.Duration(secs) * time.Second, cards: p.citizens + benchPGCardsPerSec*secs, pgbenchCards: benchPGCardsPerSec * secs}
	sc, done, err := microSetup(ctx, s, so, pgbenchPath != "", stderr)
	defer done()
	if err != nil {
		return err
	}
	_, addr, stop, err := microWeb(s, stderr)
	if err != nil {
		return err
	}
	defer stop()
	host := sc.tenant.Slug + "." + benchBaseDomain
	br := &BenchReport{}
	var reserve, minimal []PGBenchResult
	var ratios, g2ratios, g2rates []float64
	var g2lat []time.Duration
	var errs []string
	for r := 0; r < p.rounds && ctx.Err() == nil; r++ {
		var pr, pm PGBenchResult
		if pgbenchPath != "" {
			fmt.Fprintf(stderr, "bench: round %d/%d: pgbench of booking.ReserveSQL, %d clients\n", r+1, p.rounds, p.clients)
			pr = runPGBench(ctx, pgbenchPath, a.cfg.DatabaseURL, so, sc, r, stderr)
			fmt.Fprintf(stderr, "bench: round %d/%d: pgbench of the minimal booking transaction, %d clients\n", r+1, p.rounds, p.clients)
			header, _, _ := strings.Cut(benchPGScript, "BEGIN;")
			pm = pgbench(ctx, pgbenchPath, a.cfg.DatabaseURL, pgbenchRun{name: "minimal", script: pgbenchFill(sc, header+minimalBookingBody),
				mode: o.pgbenchMode, clients: p.clients, log: true, args: []string{"-D", "n=0", "-D", "nclients=" + strconv.Itoa(p.clients),
					"-D", "base=" + strconv.Itoa(benchAppCardBase+r*benchRoundCards+p.citizens), "-T", strconv.Itoa(secs)}}, stderr)
			for _, x := range []PGBenchResult{pr, pm} {
				if x.Aborted || x.Failed > 0 {
					errs = append(errs, fmt.Sprintf("pgbench %s: %d failed %s", x.Command, x.Failed, x.Error))
				}
			}
			reserve, minimal = append(reserve, pr), append(minimal, pm)
			br.PGBench = append(br.PGBench, pr, pm)
			if pr.TPS > 0 && pm.TPS > 0 {
				ratios = append(ratios, pr.TPS/pm.TPS)
			}
		}
		fmt.Fprintf(stderr, "bench: round %d/%d: %d citizens log in and hold a place, then POST /reserve with %d clients\n", r+1, p.rounds, p.citizens, p.clients)
		res, lat := reserveAlone(ctx, p, sc, r, addr, host)
		br.App = append(br.App, res)
		g2rates = append(g2rates, res.Rate)
		if len(res.Failures) > 0 {
			errs = append(errs, fmt.Sprintf("POST /reserve alone: %v", res.Failures))
		}
		if pr.TPS > 0 {
			g2ratios = append(g2ratios, res.Rate/pr.TPS)
		}
		g2lat = append(g2lat, lat...)
	}
	check, err := benchCheck(context.WithoutCancel(ctx), s, sc, br)
	if err != nil {
		return err
	}
	rep.Rows = append(rep.Rows, countRow("R", "reserve SQL, minimal transaction and POST /reserve: no slot over capacity, booked = reservations", check.OK && len(errs) == 0,
		strings.Join(append(errs, check.Problem), "; ")))
	tps := func(rs []PGBenchResult) (float64, Latency) {
		var xs []float64
		for _, x := range rs {
			xs = append(xs, x.TPS)
		}
		if len(rs) == 0 {
			return 0, Latency{}
		}
		return median(xs), rs[len(rs)/2].Latency
	}
	rt, rl := tps(reserve)
	mt, ml := tps(minimal)
	rep.Rows = append(rep.Rows, ratioRow("R", "reserve transaction (booking.ReserveSQL), tps", rt, "minimal booking transaction, tps", mt, median(ratios), 0.5,
		fmt.Sprintf("%s; reserve p50 %.1f ms p99 %.1f ms, minimal p50 %.1f ms p99 %.1f ms; %d pgbench clients each", minMax(ratios), rl.P50, rl.P99, ml.P50, ml.P99, p.clients)))
	g2 := summarize(g2lat)
	rep.Rows = append(rep.Rows, ratioRow("G2", "POST /reserve alone (logged in, place held), bookings/s", median(g2rates), "pgbench of booking.ReserveSQL, tps", rt, median(g2ratios), 0.8,
		fmt.Sprintf("%s; POST /reserve p50 %.1f ms p99 %.1f ms, pgbench p50 %.1f ms p99 %.1f ms; %d clients each", minMax(g2ratios), g2.P50, g2.P99, rl.P50, rl.P99, p.clients)))
	if !check.OK {
		return fmt.Errorf("check: %s", check.Problem)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// reserveAlone makes p.citizens citizens of round r log in and hold a place (not timed), then
// sends every one's POST /reserve with p.clients clients: the bookings per second of that phase.
func reserveAlone(ctx context.Context, p microPlan, sc *benchScratch, r int, addr, host string) (AppResult, []time.Duration) {
	cits := make([]*citizen, p.citizens)
	card := func(i int) (string, int, int, uuid.UUID) {
		m, d := benchMMDD(i)
		return fmt.Sprintf("%09d", benchAppCardBase+r*benchRoundCards+i), m, d, sc.slots[(r*p.citizens+i)%len(sc.slots)]
	}
	fails := map[string]int{}
	var mu sync.Mutex
	each := func(do func(client *http.Client, i int)) time.Duration {
		var next atomic.Int64
		var wg sync.WaitGroup
		t0 := time.Now()
		for range p.clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := benchClient(addr, nil)
				defer client.CloseIdleConnections()
				for ctx.Err() == nil {
					i := int(next.Add(1) - 1)
					if i >= p.citizens {
						return
					}
					do(client, i)
				}
			}()
		}
		wg.Wait()
		return time.Since(t0)
	}
	each(func(_ *http.Client, i int) {
		// Each citizen logs in from its own address (127.4.0.0/16): the login guard counts a
		// guess before judging it, so five logins in flight from one address on distinct cards
		// would look like a spray.
		c := &citizen{base: "http://" + host, client: loginClient(addr, 1<<16+r*p.citizens+i), cookies: map[string]string{}}
		no, m, d, slot := card(i)
		_, fail := c.steps(ctx, no, m, d, slot, 0, stepReserve)
		c.client.CloseIdleConnections()
		if fail != "" {
			mu.Lock()
			fails[fail]++
			mu.Unlock()
			return
		}
		cits[i] = c
	})
	lat := make([]time.Duration, p.citizens)
	var ok atomic.Int64
	elapsed := each(func(client *http.Client, i int) {
		c := cits[i]
		if c == nil {
			return
		}
		c.client = client
		no, m, d, slot := card(i)
		times, fail := c.steps(ctx, no, m, d, slot, stepReserve, stepReserve+1)
		if len(times) > 0 {
			lat[i] = times[0]
		}
		if fail != "" {
			mu.Lock()
			fails[fail]++
			mu.Unlock()
			return
		}
		ok.Add(1)
	})
	lat = slices.DeleteFunc(lat, func(d time.Duration) bool { return d == 0 })
	res := AppResult{Attempts: p.citizens, Successes: int(ok.Load()), Failures: fails, Elapsed: round3(elapsed.Seconds()),
		Rate: round3(float64(ok.Load()) / elapsed.Seconds()), Reserve: summarize(lat)}
	if len(fails) == 0 {
		res.Failures = nil
	}
	return res, lat
}

// minMax is "ratio min–max a–b" over rounds ("" without any).
func minMax(xs []float64) string {
	if len(xs) == 0 {
		return "no ratio"
	}
	return fmt.Sprintf("ratio min–max %.3f–%.3f", slices.Min(xs), slices.Max(xs))
}

// microSetup is benchSetup for a micro part; done disables its tenant at the end (call it even
// when err is set: the tenant may exist).
func microSetup(ctx context.Context, s *services, so *benchOptions, withPG bool, stderr io.Writer) (sc *benchScratch, done func(), err error) {
	sc, err = benchSetup(ctx, s, so, withPG, stderr)
	done = func() {}
	if sc != nil && sc.tenant != nil {
		done = func() { disableTenant(ctx, s, sc.tenant.Slug, stderr) }
	}
	return sc, done, err
}

// disableTenant disables a bench tenant at the end of a part; its data stays.
func disableTenant(ctx context.Context, s *services, slug string, stderr io.Writer) {
	if err := s.Tenants.SetStatus(context.WithoutCancel(ctx), slug, tenant.Disabled, tenant.System("madoguchi-bench")); err != nil {
		fmt.Fprintf(stderr, "bench: disable tenant %s: %v\n", slug, err)
	}
}

// loop is what a load phase measured.
type loop struct {
	ok, errors int
	first      string // the first error
	rate       float64
	lat        []time.Duration
}

func (l *loop) add(m loop) {
	l.ok += m.ok
	l.errors += m.errors
	if l.first == "" {
		l.first = m.first
	}
	l.lat = append(l.lat, m.lat...)
}

// closedLoop runs do with workers concurrent callers, each calling again as soon as it has its
// answer, until d is over (d > 0) or do was called limit times (limit > 0).
func closedLoop(ctx context.Context, workers int, d time.Duration, limit int, do func(w, i int) error) loop {
	var next atomic.Int64
	var mu sync.Mutex
	var out loop
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine loop
			for ctx.Err() == nil && (d == 0 || time.Since(t0) < d) {
				i := int(next.Add(1) - 1)
				if limit > 0 && i >= limit {
					break
				}
				s := time.Now()
				if err := do(w, i); err != nil {
					mine.errors++
					if mine.first == "" {
						mine.first = err.Error()
					}
					continue
				}
				mine.ok++
				mine.lat = append(mine.lat, time.Since(s))
			}
			mu.Lock()
			out.add(mine)
			mu.Unlock()
		}()
	}
	wg.Wait()
	out.rate = float64(out.ok) / time.Since(t0).Seconds()
	return out
}

// fixedRate calls do rate times a second for d, whatever the answers take (open loop); each
// latency counts from the moment the call was due, so a stall is not hidden.
func fixedRate(ctx context.Context, rate float64, d time.Duration, do func() error) loop {
	n := int(rate * d.Seconds())
	var mu sync.Mutex
	var out loop
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		due := t0.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		time.Sleep(time.Until(due))
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := do()
			took := time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				out.errors++
				if out.first == "" {
					out.first = err.Error()
				}
				return
			}
			out.ok++
			out.lat = append(out.lat, took)
		}()
	}
	wg.Wait()
	out.rate = float64(out.ok) / time.Since(t0).Seconds()
	return out
}

// getter sends GET requests to one server with fasthttp's client, which costs the load generator
// less CPU than net/http's on a machine it shares with the server.
type getter struct{ hc *fasthttp.HostClient }

func newGetter(addr string, conns int) getter {
	return getter{&fasthttp.HostClient{Addr: addr, MaxConns: conns, MaxConnWaitTimeout: 30 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}}
}

// get asks for uri with the cookie header and wants 200.
func (g getter) get(uri, cookie string) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(uri)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	if err := g.hc.Do(req, resp); err != nil {
		return err
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		return fmt.Errorf("GET %s → %d", req.URI().Path(), resp.StatusCode())
	}
	return nil
}

// cookieHeader is a citizen's cookies as one Cookie header.
func (c *citizen) cookieHeader() string {
	var parts []string
	for k, v := range c.cookies {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// microReads measures G4 (the calendar month page from the cache against hello-world), G5 (the
// page without the cache against pgbench of its query) and G9 (the API login against a pgbench
// point read), alternating each subject with its reference.
func microReads(ctx context.Context, a *services, o *benchOptions, p microPlan, pgbenchPath string, rep *GoalsReport, stderr io.Writer) error {
	cached, err := openServices(ctx, a.cfg)
	if err != nil {
		return err
	}
	defer cached.close()
	uncached, err := openServicesCache(ctx, a.cfg, 0)
	if err != nil {
		return err
	}
	defer uncached.close()
	so := &benchOptions{rounds: 1, cards: p.clients + p.rounds*p.logins}
	sc, done, err := microSetup(ctx, cached, so, false, stderr)
	defer done()
	if err != nil {
		return err
	}
	webC, addrC, stopC, err := microWeb(cached, stderr)
	if err != nil {
		return err
	}
	defer stopC()
	_, addr0, stop0, err := microWeb(uncached, stderr)
	if err != nil {
		return err
	}
	defer stop0()
	hello := fiber.New(webC.Config())
	hello.Get("/", func(c *fiber.Ctx) error { return c.SendString("hello") })
	addrH, stopH, err := serve(hello)
	if err != nil {
		return err
	}
	defer stopH()

	host := sc.tenant.Slug + "." + benchBaseDomain
	// Every client is a citizen logged in on each app (the calendar needs a session).
	login := func(addr string) ([]string, error) {
		cookies := make([]string, p.clients)
		for i := range cookies {
			c := &citizen{base: "http://" + host, client: loginClient(addr, 2<<16+i), cookies: map[string]string{}}
			m, d := benchMMDD(i)
			if _, fail := c.steps(ctx, fmt.Sprintf("%09d", benchAppCardBase+i), m, d, uuid.Nil, 0, 2); fail != "" {
				return nil, fmt.Errorf("calendar citizen login: %s", fail)
			}
			c.client.CloseIdleConnections()
			cookies[i] = c.cookieHeader()
		}
		return cookies, nil
	}
	cookC, err := login(addrC)
	if err != nil {
		return err
	}
	cook0, err := login(addr0)
	if err != nil {
		return err
	}
	month, from, end := calendarMonth(sc, time.Now())
	calendar := "http://" + host + "/calendar?location=" + sc.location.ID.String() + "&month=" + month.Time(12, 0).Format("2006-01")
	gC, g0, gH := newGetter(addrC, p.clients), newGetter(addr0, p.clients), newGetter(addrH, p.clients)

	var helloL, calL, missL, loginL, healthL, familyL, freshL loop
	var helloR, calR, missR, loginR, pgMiss, pgRead, healthR, familyR, freshR []float64
	var g4, g5, g9, healthG, familyG, freshG []float64
	var pgMissRes, pgReadRes []PGBenchResult
	var errs []string
	calScript, calErr := calendarScript(sc, from, end)
	if calErr != nil {
		errs = append(errs, calErr.Error())
	}
	for r := 0; r < p.rounds && ctx.Err() == nil; r++ {
		fmt.Fprintf(stderr, "bench: round %d/%d: hello-world, calendar month from the cache, %d clients\n", r+1, p.rounds, p.clients)
		h := closedLoop(ctx, p.clients, p.phase, 0, func(w, _ int) error { return gH.get("http://"+host+"/", "") })
		c := closedLoop(ctx, p.clients, p.phase, 0, func(w, _ int) error { return gC.get(calendar, cookC[w]) })
		helloL.add(h)
		calL.add(c)
		helloR, calR = append(helloR, h.rate), append(calR, c.rate)
		if h.rate > 0 {
			g4 = append(g4, c.rate/h.rate)
		}
		// The floors under G4: what the same app answers with no work of its own (its middleware
		// alone), and a citizen page that reads nothing but the session (the page frame).
		z := closedLoop(ctx, p.clients, p.phase, 0, func(w, _ int) error { return gC.get("http://"+host+"/healthz", "") })
		f := closedLoop(ctx, p.clients, p.phase, 0, func(w, _ int) error { return gC.get("http://"+host+"/family", cookC[w]) })
		healthL.add(z)
		familyL.add(f)
		healthR, familyR = append(healthR, z.rate), append(familyR, f.rate)
		if h.rate > 0 {
			healthG, familyG = append(healthG, z.rate/h.rate), append(familyG, f.rate/h.rate)
		}

		fmt.Fprintf(stderr, "bench: round %d/%d: calendar month without the cache, pgbench of its query\n", r+1, p.rounds)
		m := closedLoop(ctx, p.clients, p.phase, 0, func(w, _ int) error { return g0.get(calendar, cook0[w]) })
		missL.add(m)
		missR = append(missR, m.rate)
		if pgbenchPath != "" && calErr == nil {
			pr := pgbench(ctx, pgbenchPath, a.cfg.DatabaseURL, pgbenchRun{name: "calendar", script: calScript, mode: o.pgbenchMode,
				clients: p.clients, log: true, args: []string{"-T", strconv.Itoa(p.pgSeconds())}}, stderr)
			pgMissRes = append(pgMissRes, pr)
			if pr.Aborted || pr.Failed > 0 {
				errs = append(errs, "pgbench calendar: "+pr.Error)
			} else if pr.TPS > 0 {
				pgMiss = append(pgMiss, pr.TPS)
				g5 = append(g5, m.rate/pr.TPS)
			}
		}

		fmt.Fprintf(stderr, "bench: round %d/%d: %d citizen logins, pgbench point read\n", r+1, p.rounds, p.logins)
		base := p.clients + r*p.logins
		l := closedLoop(ctx, p.clients, 0, p.logins, func(w, i int) error {
			// One login per source address (127.3.0.0/16, a new connection each): the API allows
			// 30 logins a minute per address, and the login guard counts a guess before judging
			// it, so logins in flight on distinct cards from one address would look like a spray.
			client := loginClient(addrC, r*p.logins+i)
			defer client.CloseIdleConnections()
			return apiLogin(ctx, client, "http://"+host, base+i)
		})
		loginL.add(l)
		loginR = append(loginR, l.rate)
		// The floor under G9: the app's /healthz on a new connection from a new address each time,
		// as each login comes.
		n := closedLoop(ctx, p.clients, 0, p.logins, func(w, i int) error {
			c := &citizen{base: "http://" + host, client: loginClient(addrC, 3<<16+r*p.logins+i), cookies: map[string]string{}}
			defer c.client.CloseIdleConnections()
			status, _, _, err := c.do(ctx, http.MethodGet, "/healthz", nil)
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("GET /healthz → %d", status)
			}
			return err
		})
		freshL.add(n)
		freshR = append(freshR, n.rate)
		if pgbenchPath != "" {
			pr := pgbench(ctx, pgbenchPath, a.cfg.DatabaseURL, pgbenchRun{name: "pointread", mode: o.pgbenchMode, clients: p.clients, log: true,
				script: pointReadScript(so.cards),
				args:   []string{"-T", strconv.Itoa(p.pgSeconds())},
				env:    []string{"PGOPTIONS=-c app.tenant_id=" + sc.tenant.ID.String()}}, stderr)
			pgReadRes = append(pgReadRes, pr)
			if pr.Aborted || pr.Failed > 0 || pr.Transactions == 0 {
				errs = append(errs, "pgbench point read: "+pr.Error)
			} else {
				pgRead = append(pgRead, pr.TPS)
				g9 = append(g9, l.rate/pr.TPS)
				freshG = append(freshG, n.rate/pr.TPS)
			}
		}
	}

	// Half the cached calendar's rate, open loop: the p99 a citizen sees below saturation.
	half := median(calR) / 2
	var fixed loop
	if half >= 1 && ctx.Err() == nil {
		fmt.Fprintf(stderr, "bench: calendar month from the cache at a fixed %.0f/s\n", half)
		gF := newGetter(addrC, 4*p.clients)
		var k atomic.Int64
		fixed = fixedRate(ctx, half, p.phase, func() error { return gF.get(calendar, cookC[int(k.Add(1))%len(cookC)]) })
	}

	for name, l := range map[string]loop{"hello-world": helloL, "calendar (cache)": calL, "calendar (no cache)": missL, "login": loginL, "calendar at a fixed rate": fixed,
		"/healthz": healthL, "/family": familyL, "/healthz on new connections": freshL} {
		if l.errors > 0 {
			errs = append(errs, fmt.Sprintf("%s: %d errors, first: %s", name, l.errors, l.first))
		}
	}
	slices.Sort(errs)
	rep.Rows = append(rep.Rows, countRow("G4", "calendar, hello-world and login phases: 0 errors", len(errs) == 0, strings.Join(errs, "; ")))
	cl, ml, ll, fl := summarize(calL.lat), summarize(missL.lat), summarize(loginL.lat), summarize(fixed.lat)
	rep.Rows = append(rep.Rows, ratioRow("G4", "calendar month page from the cache, pages/s", median(calR), "hello-world handler, same Fiber config, req/s", median(helloR), median(g4), 0.3,
		fmt.Sprintf("%s; calendar p50 %.1f ms p99 %.1f ms, hello-world p99 %.1f ms; %d clients", minMax(g4), cl.P50, cl.P99, summarize(helloL.lat).P99, p.clients)))
	rep.Rows = append(rep.Rows,
		floorRow("G4", "floor: GET /healthz of the same app (its middleware, no page), req/s", median(healthR), "hello-world", median(helloR), median(healthG), summarize(healthL.lat)),
		floorRow("G4", "floor: GET /family (citizen session read and page frame, no data), pages/s", median(familyR), "hello-world", median(helloR), median(familyG), summarize(familyL.lat)))
	p99 := GoalRow{Goal: "G4", Figure: fmt.Sprintf("calendar p99 at a fixed %.0f/s (half its rate), ms", half), Value: round3(fl.P99), Want: "≤ 20 ms (reported)", Holds: "no",
		Note: fmt.Sprintf("p50 %.1f ms, max %.1f ms over %d requests", fl.P50, fl.Max, fl.N)}
	if fl.N > 0 && fl.P99 <= 20 {
		p99.Holds = "yes"
	}
	rep.Rows = append(rep.Rows, p99)
	pm, _ := medianPG(pgMissRes)
	rep.Rows = append(rep.Rows, ratioRow("G5", "calendar month page without the cache, pages/s", median(missR), "pgbench of booking.CalendarSQL in its tenant scope, tps", median(pgMiss), median(g5), 0.5,
		fmt.Sprintf("%s; page p50 %.1f ms p99 %.1f ms, pgbench p50 %.1f ms p99 %.1f ms; %d clients", minMax(g5), ml.P50, ml.P99, pm.P50, pm.P99, p.clients)))
	pr, _ := medianPG(pgReadRes)
	rep.Rows = append(rep.Rows, ratioRow("G9", "citizen login (POST /api/v1/session), logins/s", median(loginR), "pgbench point read of one card, tps", median(pgRead), median(g9), 0.5,
		fmt.Sprintf("%s; login p50 %.1f ms p99 %.1f ms, point read p50 %.2f ms p99 %.2f ms; %d clients", minMax(g9), ll.P50, ll.P99, pr.P50, pr.P99, p.clients)))
	rep.Rows = append(rep.Rows, floorRow("G9", "floor: GET /healthz on a new connection from a new address each, req/s", median(freshR),
		"pgbench point read", median(pgRead), median(freshG), summarize(freshL.lat)))
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// floorRow reports what the app answers doing none of a goal's own work, against the goal's
// reference: a goal's ratio cannot pass its floor's, so a floor under the goal's ratio shows the
// gap is in the request path every page shares, not in the goal's own work.
func floorRow(goal, figure string, v float64, ref string, rv, ratio float64, lat Latency) GoalRow {
	row := GoalRow{Goal: goal, Figure: figure, Value: round3(v), Reference: ref, RefValue: round3(rv), Ratio: round3(ratio),
		Want: "(floor, reported)", Holds: "—", Note: fmt.Sprintf("p50 %.1f ms p99 %.1f ms", lat.P50, lat.P99)}
	if rv <= 0 {
		row.Ratio = 0
	}
	return row
}

// pointReadScript is a point read of one card of the first cards of the app's pool, as a login
// reads it, in pgbench (the tenant scope comes from PGOPTIONS).
func pointReadScript(cards int) string {
	return fmt.Sprintf("\\set no %d + random(0, %d)\nSELECT id, status FROM cards WHERE card_no = :no::text;\n", benchAppCardBase, cards-1)
}

// medianPG is the latency of the middle run of rs.
func medianPG(rs []PGBenchResult) (Latency, bool) {
	if len(rs) == 0 {
		return Latency{}, false
	}
	return rs[len(rs)/2].Latency, true
}

// calendarScript is a calendar read on a cache miss as pgbench SQL: booking.CalendarSQL's own
// text in the tenant scope, for the days [from, to] of the bench location.
func calendarScript(sc *benchScratch, from, to booking.Date) (string, error) {
	q, err := fillArgs("CalendarSQL", booking.CalendarSQL(), map[int]string{1: "'" + sc.location.ID.String() + "'::uuid",
		2: "'" + from.String() + "'::date", 3: "'" + to.String() + "'::date"})
	if err != nil {
		return "", err
	}
	return "BEGIN;\nSELECT set_config('app.tenant_id', '" + sc.tenant.ID.String() + "', true);\n" + q + ";\nCOMMIT;\n", nil
}

// calendarMonth is the month after now's as the calendar page reads it: its first day, the first
// day shown (not before the first bookable one) and its last day.
func calendarMonth(sc *benchScratch, now time.Time) (month, from, end booking.Date) {
	today := booking.DateOf(now)
	month = booking.DateOf(time.Date(today.Year, today.Month+1, 1, 12, 0, 0, 0, time.Local))
	end = booking.DateOf(month.Time(12, 0).AddDate(0, 1, -1))
	from = month
	if fb := booking.FirstBookableDay(sc.tenant, now); month.Before(fb) {
		from = fb
	}
	return month, from, end
}

// loginClient is an HTTP client from loopback address number g (127.3.0.0 upwards), no redirects
// followed.
func loginClient(addr string, g int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 3+byte(g>>16), byte(g>>8), byte(g))}}
	return &http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			}}}
}

// apiLogin logs the i-th card of the pool in through the API and wants 201 with a token.
func apiLogin(ctx context.Context, client *http.Client, base string, i int) error {
	m, d := benchMMDD(i)
	body, _ := json.Marshal(map[string]string{"card_no": fmt.Sprintf("%09d", benchAppCardBase+i), "birth": fmt.Sprintf("%02d%02d", m, d)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/session", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("login: %s", shortError(err))
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated || !bytes.Contains(b, []byte(`"token"`)) {
		return fmt.Errorf("login → %d %.80s", resp.StatusCode, b)
	}
	return nil
}
