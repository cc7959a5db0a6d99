//go:build drill

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/cmd/internal/citizenapi"
	"github.com/madoguchi/madoguchi/jobs/jobstest"
	"github.com/madoguchi/madoguchi/jobs/mailsink"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// The drills of the web tier (make drill; not part of make test). They run the real binary,
// built from this package, as separate processes.

// drillCardBase numbers the drills' citizens' cards (the demo's own are 100000001…).
const drillCardBase = 200000000

// drillBirth is citizen i's birthday, as MMDD for the login and YYYY-MM-DD for the J-LIS import.
func drillBirth(i int) (mmdd, iso string) {
	m, d := citizenapi.Birthday(i)
	return fmt.Sprintf("%02d%02d", m, d), fmt.Sprintf("1980-%02d-%02d", m, d)
}

// drillCity is the demo city (seedDemo, as `madoguchi demo` opens it) with n more cards.
type drillCity struct {
	app      *App
	tenant   *tenant.Tenant
	location []uuid.UUID
	from, to booking.Date
}

func seedDrillCity(t *testing.T, env map[string]string, cards int) *drillCity {
	t.Helper()
	ctx := context.Background()
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := OpenApp(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	if err := seedDemo(ctx, a); err != nil {
		t.Fatal(err)
	}
	tn, err := a.Tenants.BySlug(ctx, demoSlug)
	if err != nil {
		t.Fatal(err)
	}
	var csv bytes.Buffer
	csv.WriteString("製造管理番号,生年月日\n")
	for i := range cards {
		_, iso := drillBirth(i)
		fmt.Fprintf(&csv, "%09d,%s\n", drillCardBase+i, iso)
	}
	res, err := a.Booking.ImportCards(ctx, tn, &csv, nil)
	if err != nil || res.Inserted != cards {
		t.Fatalf("import %d cards: %+v %v", cards, res, err)
	}
	locs, err := a.Booking.Locations(ctx, tn.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	c := &drillCity{app: a, tenant: tn}
	for _, l := range locs {
		c.location = append(c.location, l.ID)
	}
	c.from = booking.DateOf(time.Now()).AddDays(booking.DeadlineDays(tn) + 1)
	c.to = c.from.AddDays(20)
	return c
}

// check counts what the database holds: of the ids answered 201, how many are booked; slots
// over their capacity; booked places against booked reservations' party sizes.
func (c *drillCity) check(t *testing.T, ids []uuid.UUID) (present, over, places, parties int) {
	t.Helper()
	err := tenant.InTx(context.Background(), c.app.DB, c.tenant.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM reservations WHERE status = 'booked' AND id IN (?)),
			(SELECT count(*) FROM slots WHERE booked > capacity),
			(SELECT coalesce(sum(booked), 0) FROM slots),
			(SELECT coalesce(sum(party_size), 0) FROM reservations WHERE status = 'booked')`,
			bun.List(append(ids, uuid.Nil))).Scan(&present, &over, &places, &parties)
	})
	if err != nil {
		t.Fatal(err)
	}
	return present, over, places, parties
}

// drillDir is a directory for the drill's binary and its processes' logs, kept when the test
// fails (its path is logged) and removed otherwise.
func drillDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "madoguchi-drill-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	return dir
}

// buildBinary builds this package's binary into dir.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "madoguchi")
	t0 := time.Now()
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(t0).Round(time.Millisecond))
	return bin
}

// drillProcess is one `madoguchi serve` or `worker` process of a drill.
type drillProcess struct {
	t        *testing.T
	bin, cmd string
	env      []string
	log      string
	addr     string // the web port ("" for a worker)
	internal string
	proc     *exec.Cmd
	exited   chan struct{}
}

func newDrillProcess(t *testing.T, bin, cmd, dir, name string, env map[string]string) *drillProcess {
	p := &drillProcess{t: t, bin: bin, cmd: cmd, log: filepath.Join(dir, name+".log"), internal: "127.0.0.1:" + jobstest.FreePort(t)}
	e := map[string]string{"PATH": os.Getenv("PATH"), "MADOGUCHI_INTERNAL_ADDR": p.internal}
	if cmd == "serve" {
		p.addr = "127.0.0.1:" + jobstest.FreePort(t)
		e["MADOGUCHI_LISTEN"] = p.addr
	}
	for k, v := range env {
		e[k] = v
	}
	for k, v := range e {
		p.env = append(p.env, k+"="+v)
	}
	t.Cleanup(func() {
		if p.proc != nil {
			_ = p.proc.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// start runs the process and waits until its internal /readyz answers 200; it returns how long
// that took.
func (p *drillProcess) start() time.Duration {
	p.t.Helper()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	defer f.Close()
	t0 := time.Now()
	p.proc = exec.Command(p.bin, p.cmd)
	p.proc.Env, p.proc.Stdout, p.proc.Stderr = p.env, f, f
	if err := p.proc.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { _ = cmd.Wait(); close(exited) }(p.proc, p.exited)
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-p.exited:
			b, _ := os.ReadFile(p.log)
			p.t.Fatalf("%s %s exited at start: %s", p.cmd, p.addr, b[max(0, len(b)-2000):])
		default:
		}
		if resp, err := client.Get("http://" + p.internal + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(t0)
			}
		}
	}
	p.t.Fatalf("%s did not become ready; see %s", p.cmd, p.log)
	return 0
}

// errors logs the distinct errors the process logged (JSON log lines at level ERROR), with
// their counts: what the answers 5xx were.
func (p *drillProcess) errors() {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return
	}
	seen := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		var e struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Err   string `json:"err"`
			Error string `json:"error"`
		}
		if json.Unmarshal([]byte(line), &e) != nil || e.Level != "ERROR" || e.Err+e.Error == "" {
			continue
		}
		m := strings.TrimSpace(e.Msg + ": " + e.Err + e.Error)
		if r := []rune(m); len(r) > 200 {
			m = string(r[:200])
		}
		seen[m]++
	}
	for m, n := range seen {
		p.t.Logf("  %s logged %d × %s", p.cmd, n, m)
	}
}

// stop sends SIGTERM and waits for the exit; it returns how long that took.
func (p *drillProcess) stop() time.Duration {
	p.t.Helper()
	t0 := time.Now()
	if err := p.proc.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		p.t.Fatalf("%s did not exit within 60 s of SIGTERM", p.cmd)
	}
	if !p.proc.ProcessState.Success() {
		p.t.Errorf("%s exited with %v after SIGTERM; see %s", p.cmd, p.proc.ProcessState, p.log)
	}
	p.proc = nil
	return time.Since(t0)
}

// drillProxy is a load balancer as an ingress with an endpoint controller is: it sends each
// request to the next backend (round robin) among those whose /readyz answered 200 at the last
// poll, and retries nothing. Go's transport would resend a GET whose reused connection turned
// out closed; the proxy counts each such resend (a second connection for one request) as a
// failure, since a proxy that retries nothing would have failed that request.
type drillProxy struct {
	backends []*drillBackend
	next     atomic.Uint64
	rp       *httputil.ReverseProxy
	resent   atomic.Int64
	noTarget atomic.Int64
	srv      *http.Server
	addr     string
}

type drillBackend struct {
	target   *url.URL
	internal string
	ready    atomic.Bool
	sent     atomic.Int64
}

type drillTargetKey struct{}

func startDrillProxy(t *testing.T, procs []*drillProcess, poll time.Duration) *drillProxy {
	p := &drillProxy{}
	for _, dp := range procs {
		p.backends = append(p.backends, &drillBackend{target: &url.URL{Scheme: "http", Host: dp.addr}, internal: dp.internal})
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second, ResponseHeaderTimeout: 30 * time.Second}
	p.rp = &httputil.ReverseProxy{
		Transport: tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			b := pr.In.Context().Value(drillTargetKey{}).(*drillBackend)
			pr.SetURL(b.target)
			pr.Out.Host = pr.In.Host // the city's host
			host, _, _ := net.SplitHostPort(pr.In.RemoteAddr)
			pr.Out.Header.Set("X-Real-IP", host)
			var conns atomic.Int32
			pr.Out = pr.Out.WithContext(httptrace.WithClientTrace(pr.Out.Context(), &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) {
				if conns.Add(1) == 2 {
					p.resent.Add(1)
				}
			}}))
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "proxy: %v", err)
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.srv = &http.Server{Handler: p}
	go func() { _ = p.srv.Serve(ln) }()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, b := range p.backends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: poll}
			tick := time.NewTicker(poll)
			defer tick.Stop()
			for {
				resp, err := client.Get("http://" + b.internal + "/readyz")
				if err == nil {
					resp.Body.Close()
				}
				b.ready.Store(err == nil && resp.StatusCode == 200)
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
	}
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
		_ = p.srv.Close()
		tr.CloseIdleConnections()
	})
	return p
}

func (p *drillProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := uint64(len(p.backends))
	start := p.next.Add(1)
	for i := range n {
		b := p.backends[(start+i)%n]
		if b.ready.Load() {
			b.sent.Add(1)
			p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), drillTargetKey{}, b)))
			return
		}
	}
	p.noTarget.Add(1)
	http.Error(w, "proxy: no ready backend", http.StatusServiceUnavailable)
}

// drillLoad is citizens booking through the JSON API as madoguchi-bench's rush does: log in,
// read a location's availability, book a free time among the earliest (reading again after a
// 409 slot.full), each citizen once. Every transport error and 5xx is a failure.
type drillLoad struct {
	host    string // http://matsusaka.localhost
	city    *drillCity
	email   bool // give an e-mail address (a confirmation mail per booking)
	next    atomic.Int64
	cards   int
	reqs    atomic.Int64
	logins  atomic.Int64
	stepUps atomic.Int64 // logins asked for a proof of work first
	full    atomic.Int64
	mu      sync.Mutex
	booked  []uuid.UUID
	mailTo  map[uuid.UUID]string // with email: each booking's address
	fails   []drillFail
	okTimes []time.Time
	loginAt []time.Time
}

type drillFail struct {
	at  time.Time
	msg string
}

func (l *drillLoad) fail(msg string) {
	if r := []rune(msg); len(r) > 100 {
		msg = string(r[:100])
	}
	l.mu.Lock()
	l.fails = append(l.fails, drillFail{time.Now(), msg})
	l.mu.Unlock()
}

// run sends the load from worker w until stop is closed or the cards run out. The worker dials
// addr from its own loopback addresses, a new one every few citizens (as citizens from many
// addresses: the web app's per-address flood limits see what they would in a real rush).
func (l *drillLoad) run(w int, addr string, stop <-chan struct{}) {
	var client *http.Client
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		i := int(l.next.Add(1)) - 1
		if i >= l.cards {
			return
		}
		if n%8 == 0 {
			if client != nil {
				client.CloseIdleConnections()
			}
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 2+byte(w), byte(n>>8), byte(n))}}
			client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2,
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return d.DialContext(ctx, network, addr)
				}}}
		}
		l.citizen(client, i)
	}
}

// call sends one request; it returns the status (0 after a failure, counted) and the body.
func (l *drillLoad) call(client *http.Client, method, path, token string, body any) (int, []byte) {
	req, err := citizenapi.NewRequest(context.Background(), method, l.host+path, token, body)
	if err != nil {
		l.fail(err.Error())
		return 0, nil
	}
	l.reqs.Add(1)
	resp, err := client.Do(req)
	if err != nil {
		l.fail(method + " " + path + ": " + err.Error())
		return 0, nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		l.fail(method + " " + path + ": " + err.Error())
		return 0, nil
	}
	if resp.StatusCode >= 500 {
		l.fail(fmt.Sprintf("%s %s → %d %s", method, strings.SplitN(path, "?", 2)[0], resp.StatusCode, b))
		return 0, nil
	}
	l.mu.Lock()
	l.okTimes = append(l.okTimes, time.Now())
	l.mu.Unlock()
	return resp.StatusCode, b
}

func (l *drillLoad) citizen(client *http.Client, i int) {
	m, d := citizenapi.Birthday(i)
	login := citizenapi.Login(drillCardBase+i, m, d)
	st, b := l.call(client, "POST", "/api/v1/session", "", login)
	var s citizenapi.Session
	if json.Unmarshal(b, &s) == nil && s.StepUp(st, login) {
		// The city asks for a proof of work (its failure count spiked): solved, sent again.
		l.stepUps.Add(1)
		st, b = l.call(client, "POST", "/api/v1/session", "", login)
	}
	if st != http.StatusCreated || json.Unmarshal(b, &s) != nil || s.Token == "" {
		if st != 0 {
			l.fail(fmt.Sprintf("login → %d %.80s", st, b))
		}
		return
	}
	l.logins.Add(1)
	l.mu.Lock()
	l.loginAt = append(l.loginAt, time.Now())
	l.mu.Unlock()
	loc := l.city.location[i%len(l.city.location)]
	avail := citizenapi.AvailabilityPath(loc, l.city.from, l.city.to)
	for range 5 {
		st, b := l.call(client, "GET", avail, s.Token, nil)
		if st != http.StatusOK {
			if st != 0 {
				l.fail(fmt.Sprintf("availability → %d %.80s", st, b))
			}
			return
		}
		free, err := citizenapi.FreeSlots(b, 20)
		if err != nil {
			l.fail(err.Error())
			return
		}
		if len(free) == 0 {
			l.full.Add(1)
			return
		}
		body := map[string]string{"slot_id": free[mrand.IntN(len(free))]}
		if l.email {
			body["email"] = fmt.Sprintf("citizen%d@example.jp", drillCardBase+i)
		}
		st, b = l.call(client, "POST", "/api/v1/reservations", s.Token, body)
		var r struct {
			ID uuid.UUID `json:"id"`
		}
		switch {
		case st == http.StatusCreated && json.Unmarshal(b, &r) == nil:
			l.mu.Lock()
			l.booked = append(l.booked, r.ID)
			if l.email {
				if l.mailTo == nil {
					l.mailTo = map[uuid.UUID]string{}
				}
				l.mailTo[r.ID] = body["email"]
			}
			l.mu.Unlock()
			return
		case st == http.StatusConflict && strings.Contains(string(b), `"slot.full"`):
			continue
		case st != 0:
			l.fail(fmt.Sprintf("reserve → %d %.80s", st, b))
			return
		default:
			return
		}
	}
}

// gapLocked is the longest time between two answered requests (the citizens' view of an
// outage); l.mu is held.
func (l *drillLoad) gapLocked() time.Duration {
	ts := append([]time.Time(nil), l.okTimes...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	var g time.Duration
	for i := 1; i < len(ts); i++ {
		g = max(g, ts[i].Sub(ts[i-1]))
	}
	return g
}

// drive runs the load from workers clients against addr: 3 s of load, then event (the failure
// and its recovery), then tail more seconds of load. It returns when every client stopped, with
// the moment the load started.
func (l *drillLoad) drive(addr string, workers int, event func(), tail time.Duration) time.Time {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() { defer wg.Done(); l.run(w, addr, stop) }()
	}
	t0 := time.Now()
	time.Sleep(3 * time.Second)
	event()
	time.Sleep(tail)
	close(stop)
	wg.Wait()
	return t0
}

// failures reports the failed requests: how many, between which moments after t0, and each
// kind with its count.
func (l *drillLoad) failures(t *testing.T, t0 time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.stepUps.Load(); n > 0 {
		t.Logf("  %d logins were asked for a proof of work first (login.step_up), solved and sent again", n)
	}
	if len(l.fails) == 0 {
		t.Logf("  no request failed; longest time between answered requests %v", l.gapLocked().Round(time.Millisecond))
		return
	}
	kinds := map[string]int{}
	for _, f := range l.fails {
		kinds[f.msg]++
	}
	t.Logf("  %d requests failed, from +%v to +%v; longest time between answered requests %v", len(l.fails),
		l.fails[0].at.Sub(t0).Round(time.Millisecond), l.fails[len(l.fails)-1].at.Sub(t0).Round(time.Millisecond), l.gapLocked().Round(time.Millisecond))
	for m, n := range kinds {
		t.Logf("  %4d × %s", n, m)
	}
}

// loginsAfter counts the logins that succeeded after at.
func (l *drillLoad) loginsAfter(at time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, a := range l.loginAt {
		if a.After(at) {
			n++
		}
	}
	return n
}

// checkBookings fails t when a booking answered 201 is not in the database, a slot is over its
// capacity or the load ran out of cards.
func (l *drillLoad) checkBookings(t *testing.T) {
	present, over, places, parties := l.city.check(t, l.booked)
	t.Logf("  database: %d of %d answered bookings booked, %d slots over capacity, %d booked places for %d booked party members", present, len(l.booked), over, places, parties)
	if len(l.booked) == 0 || present != len(l.booked) {
		t.Errorf("%d of %d bookings answered 201 are in the database", present, len(l.booked))
	}
	if over > 0 || places != parties {
		t.Errorf("%d slots over capacity; %d booked places for %d booked party members", over, places, parties)
	}
	if int(l.next.Load()) >= l.cards {
		t.Errorf("the load ran out of its %d cards before the end: give it more", l.cards)
	}
}

// drillEnv is the processes' environment: database, Redis and SMTP as given, JSON logs, no
// ingress (clients connect directly, each from its own address), no drain, the citizen login
// flood limit off (the guard's lockouts stay).
func drillEnv(database, redisURL, smtp string) map[string]string {
	return map[string]string{
		"MADOGUCHI_DATABASE_URL":             database,
		"MADOGUCHI_REDIS_URL":                redisURL,
		"MADOGUCHI_SECRET_KEY":               strings.Repeat("1f", 32),
		"MADOGUCHI_SMTP_URL":                 smtp,
		"MADOGUCHI_LOG_FORMAT":               "json",
		"MADOGUCHI_TRUSTED_PROXIES":          "none",
		"MADOGUCHI_SHUTDOWN_DRAIN":           "0",
		"MADOGUCHI_SHUTDOWN_TIMEOUT":         "10s",
		"MADOGUCHI_CITIZEN_LOGIN_PER_MINUTE": "0",
	}
}

// TestDrillRollingRestart (make drill): two `madoguchi serve` processes behind a proxy that
// polls their /readyz every 200 ms and retries nothing, citizens booking through it; each
// process is restarted in turn (SIGTERM, exit, start, ready). No request may fail, every booking
// answered 201 must be in the database, and no slot may hold more than its capacity.
func TestDrillRollingRestart(t *testing.T) {
	const (
		workers = 6
		cards   = 3000
		drain   = time.Second
	)
	d := tenanttest.NewDB(t)
	rd := jobstest.StartRedis(t)
	dir := drillDir(t)
	bin := buildBinary(t, dir)
	env := drillEnv(d.AppDSN, "redis://"+rd.Addr()+"/0", "smtp://127.0.0.1:"+jobstest.FreePort(t))
	env["MADOGUCHI_TRUSTED_PROXIES"] = "127.0.0.1/32" // the proxy sets X-Real-IP
	env["MADOGUCHI_SHUTDOWN_DRAIN"] = drain.String()
	city := seedDrillCity(t, env, cards)
	web := []*drillProcess{newDrillProcess(t, bin, "serve", dir, "web-0", env), newDrillProcess(t, bin, "serve", dir, "web-1", env)}
	for _, p := range web {
		p.start()
	}
	proxy := startDrillProxy(t, web, 200*time.Millisecond)
	time.Sleep(500 * time.Millisecond) // the proxy's first polls
	load := &drillLoad{host: "http://" + demoSlug + ".localhost", city: city, cards: cards}
	type restart struct{ stop, start time.Duration }
	var restarts []restart
	t0 := load.drive(proxy.addr, workers, func() {
		for _, p := range web {
			r := restart{stop: p.stop()}
			r.start = p.start()
			restarts = append(restarts, r)
			time.Sleep(time.Second) // the proxy sends to it again before the next one goes
		}
	}, 2*time.Second)
	elapsed := time.Since(t0)

	t.Logf("rolling restart drill: %d requests in %v through the proxy (%d to web-0, %d to web-1), %d logins, %d bookings answered 201, %d told full; %d failed, %d resent by the transport, %d with no ready backend",
		load.reqs.Load(), elapsed.Round(time.Millisecond), proxy.backends[0].sent.Load(), proxy.backends[1].sent.Load(),
		load.logins.Load(), len(load.booked), load.full.Load(), len(load.fails), proxy.resent.Load(), proxy.noTarget.Load())
	for i, r := range restarts {
		t.Logf("  web-%d: SIGTERM to exit %v (drain %v), start to ready %v", i, r.stop.Round(time.Millisecond), drain, r.start.Round(time.Millisecond))
	}
	load.failures(t, t0)
	load.checkBookings(t)
	if len(load.fails) > 0 || proxy.resent.Load() > 0 || proxy.noTarget.Load() > 0 {
		t.Errorf("%d requests failed, %d were resent, %d found no backend: want none", len(load.fails), proxy.resent.Load(), proxy.noTarget.Load())
	}
	for i, b := range proxy.backends {
		if b.sent.Load() == 0 {
			t.Errorf("web-%d got no request", i)
		}
	}
}

// TestDrillRedisSentinel (make drill): Redis as a master, a replica and a sentinel; `madoguchi
// serve` and `madoguchi worker` on a redis-sentinel:// URL, mail to an SMTP sink, citizens
// booking through the API with an e-mail address (a confirmation mail each). The master is
// killed (SIGKILL) during the load and the sentinel promotes the replica by itself. It reports
// the failed requests and the gap; logins must succeed again after the promotion, every booking
// answered 201 must be in the database and get exactly one mail, and no slot may be over its
// capacity.
func TestDrillRedisSentinel(t *testing.T) {
	const (
		workers = 6
		cards   = 3000
	)
	d := tenanttest.NewDB(t)
	rs := jobstest.StartSentinel(t)
	sink, err := mailsink.Start("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	dir := drillDir(t)
	bin := buildBinary(t, dir)
	env := drillEnv(d.AppDSN, rs.URL(), "smtp://"+sink.Addr())
	city := seedDrillCity(t, env, cards)
	web := newDrillProcess(t, bin, "serve", dir, "web", env)
	web.start()
	worker := newDrillProcess(t, bin, "worker", dir, "worker", env)
	worker.start()
	load := &drillLoad{host: "http://" + demoSlug + ".localhost", city: city, cards: cards, email: true}
	var killed, promoted time.Time
	var promotion time.Duration
	t0 := load.drive(web.addr, workers, func() {
		killed = time.Now()
		rs.KillMaster()
		promotion = rs.WaitPromoted(30 * time.Second)
		promoted = time.Now()
	}, 6*time.Second)
	elapsed := time.Since(t0)

	// Mail: wait for one per booking, then a little longer for any duplicate.
	mailWait := time.Now()
	sink.Wait(len(load.booked), 60*time.Second)
	time.Sleep(3 * time.Second)
	mailTook := time.Since(mailWait)
	perAddr := map[string]int{}
	for _, m := range sink.Messages() {
		for _, to := range m.To {
			perAddr[to]++
		}
	}
	missing, twice := 0, 0
	for _, id := range load.booked {
		switch n := perAddr[load.mailTo[id]]; {
		case n == 0:
			missing++
		case n > 1:
			twice++
		}
	}
	after := load.loginsAfter(promoted)
	t.Logf("Redis Sentinel drill: %d requests in %v, %d logins (%d after the promotion), %d bookings answered 201, %d told full; master killed at +%v, replica promoted %v later",
		load.reqs.Load(), elapsed.Round(time.Millisecond), load.logins.Load(), after, len(load.booked), load.full.Load(),
		killed.Sub(t0).Round(time.Millisecond), promotion.Round(time.Millisecond))
	load.failures(t, t0)
	web.errors()
	worker.errors()
	t.Logf("  mail: %d messages in the sink for %d bookings (waited %v): %d bookings without a mail, %d with more than one",
		sink.Count(), len(load.booked), mailTook.Round(time.Millisecond), missing, twice)
	load.checkBookings(t)
	if after == 0 {
		t.Error("no login succeeded after the promotion")
	}
	if missing > 0 || twice > 0 {
		t.Errorf("%d bookings got no mail, %d more than one: want exactly one each", missing, twice)
	}
}

// TestDrillPostgresFailoverWeb (make drill): the PostgreSQL failover drill with bookings through
// the web app: a primary and a synchronous standby (jobstest.StartPostgresPair), the database
// migrated on it with the demo city, `madoguchi serve` on a multi-host URL
// (target_session_attrs=primary), citizens booking through the API; the primary is killed and
// the standby promoted a second later. It reports the failed requests and the gap; bookings must
// succeed again after the promotion, every booking answered 201 must be on the promoted server
// and no slot may be over its capacity.
func TestDrillPostgresFailoverWeb(t *testing.T) {
	const (
		workers = 6
		cards   = 3000
	)
	pair := jobstest.StartPostgresPair(t)
	t.Setenv("MADOGUCHI_TEST_POSTGRES_URL", pair.URL(pair.PrimaryPort))
	d := tenanttest.NewDB(t)
	rd := jobstest.StartRedis(t)
	dir := drillDir(t)
	bin := buildBinary(t, dir)
	env := drillEnv(fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable&target_session_attrs=primary&connect_timeout=2", d.AppRole, pair.Hosts(), d.Name),
		"redis://"+rd.Addr()+"/0", "smtp://127.0.0.1:"+jobstest.FreePort(t))
	city := seedDrillCity(t, env, cards)
	web := newDrillProcess(t, bin, "serve", dir, "web", env)
	web.start()
	load := &drillLoad{host: "http://" + demoSlug + ".localhost", city: city, cards: cards}
	var killed, promoted time.Time
	t0 := load.drive(web.addr, workers, func() {
		killed = time.Now()
		pair.KillPrimary()
		time.Sleep(time.Second) // the time an operator or an operator's controller takes to decide
		pair.Promote()
		promoted = time.Now()
	}, 5*time.Second)
	elapsed := time.Since(t0)
	load.mu.Lock()
	bookedAfter := 0
	for _, at := range load.okTimes {
		if at.After(promoted) {
			bookedAfter++
		}
	}
	load.mu.Unlock()
	after := load.loginsAfter(promoted)
	t.Logf("PostgreSQL failover drill through the web app: %d requests in %v, %d logins (%d after the promotion), %d bookings answered 201, %d told full; primary killed at +%v, standby promoted %v later",
		load.reqs.Load(), elapsed.Round(time.Millisecond), load.logins.Load(), after, len(load.booked), load.full.Load(),
		killed.Sub(t0).Round(time.Millisecond), promoted.Sub(killed).Round(time.Millisecond))
	load.failures(t, t0)
	web.errors()
	// The check's own pool held connections to the killed primary: the first queries may fail.
	for range 20 {
		if city.app.DB.PingContext(context.Background()) == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	load.checkBookings(t)
	if after == 0 || bookedAfter == 0 {
		t.Errorf("%d logins and %d answered requests after the promotion: the app did not follow the new primary", after, bookedAfter)
	}
}
