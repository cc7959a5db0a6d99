package ui_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/booking/slotfeed"
	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
	"github.com/madoguchi/madoguchi/ui"
	"github.com/madoguchi/madoguchi/ui/web"
)

// queryCounter is a bun query hook counting every statement the app's pool runs.
type queryCounter struct{ n atomic.Int64 }

func (q *queryCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}
func (q *queryCounter) AfterQuery(context.Context, *bun.QueryEvent) { q.n.Add(1) }

var bookedRE = regexp.MustCompile(`予約 ([0-9]+)人`)

// BenchmarkLiveFanOut: N open SSE streams of one city's staff dashboard (the real page fragment,
// read through booking.Service.DaySummary), one booking per operation through booking.Service
// (announced on the Redis feed like every channel's), until every stream shows the new count.
// Reported per booking: the time to the last stream (mean and worst), the database statements
// (a bun query hook on the app's pool: the booking's own and the renders'), the hub's renders,
// and the process's CPU time; and once, the heap and OS memory the open streams added (the
// streams' client ends run in the same process, on raw connections with 4 KB buffers, and are
// included). The web app, the hub and its Redis subscription are wired as cmd/internal/app does.
//
//	go test -run '^$' -bench LiveFanOut -benchtime 20x ./ui/
func BenchmarkLiveFanOut(b *testing.B) {
	for _, n := range []int{1, 100, 500} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) { benchFanOut(b, n) })
	}
}

func benchFanOut(b *testing.B, streams int) {
	ctx := context.Background()
	d := tenanttest.NewDB(b)
	city := tenanttest.MustCreateTenant(b, d.App)
	clock := tenanttest.NewClock()
	opt, err := redis.ParseURL(redisURL())
	if err != nil {
		b.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	b.Cleanup(func() { rdb.Close() })
	pub, err := slotfeed.NewPublisher(slotfeed.PublisherConfig{Redis: rdb})
	if err != nil {
		b.Fatal(err)
	}
	queries := &queryCounter{}
	db := d.App.WithQueryHook(queries)
	svc := booking.NewService(db, booking.Config{Now: clock.Now, SecretKey: bookingtest.Key, Announce: pub.Announce})
	loc := bookingtest.MustLocation(b, svc, city, "本庁舎", 200)
	slot := bookingtest.FirstSlot(b, svc, city, loc, clock.Now())
	day := booking.DateOf(slot.StartsAt)
	clock.Set(time.Date(day.Year, day.Month, day.Day, 8, 0, 0, 0, booking.JST))

	reg := prometheus.NewRegistry()
	hub := web.NewLive(nil, reg, web.WithLiveConfig(web.LiveConfig{MaxStreams: 2000}))
	b.Cleanup(hub.Close)
	live := make(chan bool, 16)
	sctx, cancel := context.WithCancel(ctx)
	subDone := make(chan struct{})
	go func() {
		defer close(subDone)
		_ = slotfeed.NewSubscriber(slotfeed.SubscriberConfig{Redis: rdb, Tenants: []uuid.UUID{city.ID}, OnChange: hub.Apply,
			OnLive: func(l bool) { hub.SetLive(l); live <- l }}).Run(sctx)
	}()
	b.Cleanup(func() { cancel(); <-subDone })
	accounts := tenant.NewAccounts(db, clock.Now)
	app, err := ui.New(ui.Deps{DB: db, Redis: rdb, Booking: svc, Accounts: accounts, Registry: reg, Gatherer: reg,
		ImportQueue: jobs.NewImportQueue(rdb), Tenants: tenant.NewResolver(tenant.NewDirectory(tenant.NewService(d.App), 0), "localhost"),
		Logger: slog.New(slog.DiscardHandler), BaseDomain: "localhost", Now: clock.Now, Live: hub})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	b.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	addr, host := ln.Addr().String(), city.Slug+".localhost"
	if !<-live {
		b.Fatal("feed not live")
	}

	// One clerk logged in; every stream carries the clerk's session cookie.
	if _, err := accounts.Create(ctx, city, "clerk1", "窓口", tenant.RoleStaff, "x-initial-123", "test"); err != nil {
		b.Fatal(err)
	}
	if err := accounts.SetPasswordNoChange(ctx, city, "clerk1", "clerk password one"); err != nil {
		b.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	base := "http://" + host
	page := func(resp *http.Response, err error) string {
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	login := page(hc.Get(base + "/admin/login"))
	page(hc.PostForm(base+"/admin/login", url.Values{"_csrf": {csrfOf(login)}, "login_id": {"clerk1"}, "password": {"clerk password one"}}))
	u, _ := url.Parse(base)
	var cookie string
	for _, c := range jar.Cookies(u) {
		cookie += c.Name + "=" + c.Value + "; "
	}

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)

	// The streams: raw connections, each reader noting when it first saw each count.
	type reader struct {
		seen atomic.Int64 // the highest booked count shown
		at   atomic.Int64 // when it was first shown (UnixNano)
	}
	readers := make([]*reader, streams)
	var wg sync.WaitGroup
	for i := range readers {
		r := &reader{}
		r.seen.Store(-1)
		readers[i] = r
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close() })
		fmt.Fprintf(conn, "GET /admin/live/dashboard HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nCookie: %s\r\n\r\n", host, cookie)
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := bufio.NewReaderSize(conn, 4096)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != 200 {
				return
			}
			body := bufio.NewReaderSize(resp.Body, 4096)
			for {
				line, err := body.ReadSlice('\n')
				if err != nil && err != bufio.ErrBufferFull {
					return
				}
				if m := bookedRE.FindSubmatch(line); m != nil { // the first day's total comes first
					n, _ := strconv.ParseInt(string(m[1]), 10, 64)
					if n > r.seen.Load() {
						r.at.Store(time.Now().UnixNano())
						r.seen.Store(n)
					}
					for err == bufio.ErrBufferFull { // the rest of a long line
						_, err = body.ReadSlice('\n')
					}
				}
			}
		}()
	}
	waitAll := func(n int64, deadline time.Duration) time.Time {
		limit := time.Now().Add(deadline)
		for {
			done, last := true, int64(0)
			for _, r := range readers {
				if r.seen.Load() < n {
					done = false
					break
				}
				last = max(last, r.at.Load())
			}
			if done {
				return time.Unix(0, last)
			}
			if time.Now().After(limit) {
				b.Fatalf("not every stream shows %d bookings after %v", n, deadline)
			}
			time.Sleep(200 * time.Microsecond)
		}
	}
	waitAll(0, 30*time.Second)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if hub.Streams() != streams {
		b.Fatalf("%d streams open, want %d", hub.Streams(), streams)
	}

	cards := make([]uuid.UUID, b.N)
	for i := range cards {
		cards[i] = bookingtest.MustCard(b, svc, city, "0101").ID
	}
	queries.n.Store(0)
	rendersBefore := metricSum(b, reg, "madoguchi_live_renders_total")
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	var total, worst time.Duration
	actor := tenant.Actor{Channel: tenant.ChannelStaff, Login: "bench"}
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if _, err := svc.Reserve(ctx, city, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{cards[i]}, Actor: actor}); err != nil {
			b.Fatal(err)
		}
		last := waitAll(int64(i+1), 30*time.Second)
		took := last.Sub(start)
		total += took
		worst = max(worst, took)
	}
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()) + time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano())
	n := float64(b.N)
	b.ReportMetric(float64(total.Microseconds())/n/1000, "ms-to-last-stream")
	b.ReportMetric(float64(worst.Microseconds())/1000, "ms-worst")
	b.ReportMetric(float64(queries.n.Load())/n, "queries/booking")
	b.ReportMetric((metricSum(b, reg, "madoguchi_live_renders_total")-rendersBefore)/n, "renders/booking")
	b.ReportMetric(float64(cpu.Microseconds())/n/1000, "cpu-ms/booking")
	b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/(1<<20), "heap-MB-streams")
	b.ReportMetric(float64(int64(after.Sys)-int64(before.Sys))/(1<<20), "sys-MB-streams")
}

// metricSum sums every series of the named counter or gauge.
func metricSum(tb testing.TB, reg *prometheus.Registry, name string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
