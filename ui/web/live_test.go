package web_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/madoguchi/madoguchi/booking/slotfeed"
	"github.com/madoguchi/madoguchi/jobs/jobstest"
	"github.com/madoguchi/madoguchi/ui/web"
)

// hub is a Live with one feed "t" served at /s/:tenant/:key; render draws "<p>{key} #{n}</p>"
// with n counting that (city, key)'s renders, after waiting for gate when the test set one.
type hub struct {
	l       *web.Live
	reg     *prometheus.Registry
	f       *web.Feed
	url     string
	renders atomic.Int64
	mu      sync.Mutex
	n       map[string]int
	gate    chan struct{}
	big     int // bytes of padding per fragment
	valid   atomic.Bool
}

func newHub(t *testing.T, cfg web.LiveConfig) *hub {
	t.Helper()
	h := &hub{reg: prometheus.NewRegistry(), n: map[string]int{}}
	h.valid.Store(true)
	h.l = web.NewLive(nil, h.reg, web.WithLiveConfig(cfg))
	h.l.SetLive(true)
	h.f = h.l.Feed("t", func(ctx context.Context, tenantID uuid.UUID, key string) ([]byte, error) {
		h.mu.Lock()
		gate := h.gate
		h.mu.Unlock()
		if gate != nil {
			<-gate
		}
		h.renders.Add(1)
		h.mu.Lock()
		h.n[tenantID.String()+key]++
		n := h.n[tenantID.String()+key]
		h.mu.Unlock()
		return fmt.Appendf(nil, "<p>%s #%d</p>\n<p>%s</p>", key, n, strings.Repeat("x", h.big)), nil
	})
	app := fiber.New(fiber.Config{WriteTimeout: 30 * time.Second, DisableStartupMessage: true})
	app.Get("/s/:tenant/:key", func(c *fiber.Ctx) error {
		id, err := uuid.Parse(c.Params("tenant"))
		if err != nil {
			return fiber.ErrNotFound
		}
		return h.f.Stream(c, id, c.Params("key"))
	})
	app.Get("/w/:tenant/:key", func(c *fiber.Ctx) error {
		id, _ := uuid.Parse(c.Params("tenant"))
		return h.f.StreamWhile(c, id, c.Params("key"), func(context.Context) bool { return h.valid.Load() })
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() {
		h.l.Close()
		_ = app.ShutdownWithTimeout(5 * time.Second)
	})
	h.url = "http://" + ln.Addr().String()
	return h
}

func (h *hub) setGate(g chan struct{}) {
	h.mu.Lock()
	h.gate = g
	h.mu.Unlock()
}

// sse is one open stream read by the test.
type sse struct {
	resp   *http.Response
	events chan string // the data of each "update" event
	closed chan struct{}
}

func open(t *testing.T, url string) *sse {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") ||
		resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Accel-Buffering") != "no" {
		t.Errorf("headers %v", resp.Header)
	}
	s := &sse{resp: resp, events: make(chan string, 100), closed: make(chan struct{})}
	t.Cleanup(func() { resp.Body.Close() })
	go func() {
		defer close(s.closed)
		r := bufio.NewReader(resp.Body)
		var event string
		var data []string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if event == "update" {
					s.events <- strings.Join(data, "\n")
				}
				event, data = "", nil
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			}
		}
	}()
	return s
}

// next is the stream's next update; the deadline only stops a broken test.
func (s *sse) next(t *testing.T) string {
	t.Helper()
	select {
	case e := <-s.events:
		return e
	case <-s.closed:
		t.Fatal("stream closed")
	case <-time.After(10 * time.Second):
		t.Fatal("no update")
	}
	return ""
}

// quiet asserts that no update arrives for a while.
func (s *sse) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case e := <-s.events:
		t.Fatalf("unexpected update %q", e)
	case <-time.After(d):
	}
}

func (s *sse) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case <-s.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("stream not closed")
	}
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for range 500 {
		if ok() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("never: %s", what)
}

// TestLiveRendersOncePerGroup: a stream gets the current fragment at once (multi-line data
// intact); a change of its city reaches every stream of the same (city, key) from ONE render;
// another city's change renders nothing; a second key of the city is a group of its own.
func TestLiveRendersOncePerGroup(t *testing.T) {
	h := newHub(t, web.LiveConfig{})
	city, other := uuid.New(), uuid.New()
	a := open(t, h.url+"/s/"+city.String()+"/k1")
	if got := a.next(t); got != "<p>k1 #1</p>\n<p></p>" {
		t.Fatalf("first update %q", got)
	}
	b, c := open(t, h.url+"/s/"+city.String()+"/k1"), open(t, h.url+"/s/"+city.String()+"/k1")
	for _, s := range []*sse{b, c} {
		if got := s.next(t); !strings.HasPrefix(got, "<p>k1 #1</p>") {
			t.Fatalf("a joining stream got %q, want the group's last fragment", got)
		}
	}
	d := open(t, h.url+"/s/"+city.String()+"/k2")
	d.next(t)
	if n := h.renders.Load(); n != 2 {
		t.Fatalf("%d renders for 4 streams of 2 keys, want 2", n)
	}
	h.l.Apply(slotfeed.Change{Tenant: city})
	for _, s := range []*sse{a, b, c} {
		if got := s.next(t); !strings.HasPrefix(got, "<p>k1 #2</p>") {
			t.Errorf("after the change %q", got)
		}
	}
	if got := d.next(t); !strings.HasPrefix(got, "<p>k2 #2</p>") {
		t.Errorf("k2 after the change %q", got)
	}
	if n := h.renders.Load(); n != 4 {
		t.Errorf("%d renders after one change, want 4 (one per group)", n)
	}
	h.l.Apply(slotfeed.Change{Tenant: other})
	a.quiet(t, 200*time.Millisecond)
	if n := h.renders.Load(); n != 4 {
		t.Errorf("another city's change rendered: %d renders", n)
	}
	if got := metric(t, h.reg, "madoguchi_live_streams"); got != 4 {
		t.Errorf("madoguchi_live_streams = %v, want 4", got)
	}
}

// TestLiveCoalescesBursts: changes that arrive while a render runs cost one more render, not
// one each, and the streams end with the newest fragment.
func TestLiveCoalescesBursts(t *testing.T) {
	h := newHub(t, web.LiveConfig{})
	city := uuid.New()
	s := open(t, h.url+"/s/"+city.String()+"/k")
	s.next(t)
	gate := make(chan struct{})
	h.setGate(gate)
	h.l.Apply(slotfeed.Change{Tenant: city}) // render #2 starts and waits at the gate
	for range 50 {
		h.l.Apply(slotfeed.Change{Tenant: city})
	}
	h.setGate(nil)
	close(gate)
	if got := s.next(t); !strings.HasPrefix(got, "<p>k #2</p>") {
		t.Fatalf("got %q", got)
	}
	if got := s.next(t); !strings.HasPrefix(got, "<p>k #3</p>") {
		t.Fatalf("got %q", got)
	}
	s.quiet(t, 300*time.Millisecond)
	if n := h.renders.Load(); n != 3 {
		t.Errorf("%d renders for the first and 51 changes, want 3", n)
	}
}

// TestLiveDropsSlowStream: a client that stops reading is closed once its buffer is full (the
// other streams carry on), and its place is freed.
func TestLiveDropsSlowStream(t *testing.T) {
	h := newHub(t, web.LiveConfig{Buffer: 1, WriteTimeout: 3 * time.Second})
	h.big = 1 << 20 // 1 MB per fragment: the socket buffers fill after a few
	city := uuid.New()
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	fmt.Fprintf(conn, "GET /s/%s/k HTTP/1.1\r\nHost: x\r\n\r\n", city) // and never read
	fast := open(t, h.url+"/s/"+city.String()+"/k")
	fast.next(t)
	eventually(t, "two streams", func() bool { return h.l.Streams() == 2 })
	for i := 0; i < 40 && metric(t, h.reg, "madoguchi_live_drops_total") == 0; i++ {
		h.l.Apply(slotfeed.Change{Tenant: city})
		fast.next(t)
	}
	if got := metric(t, h.reg, "madoguchi_live_drops_total"); got != 1 {
		t.Fatalf("drops = %v, want 1 (the slow stream)", got)
	}
	eventually(t, "the slow stream's place freed", func() bool { return h.l.Streams() == 1 })
	h.l.Apply(slotfeed.Change{Tenant: city})
	fast.next(t)
}

// TestLiveStreamCap: above MaxStreams a stream is refused with 503 and Retry-After; once one
// closes, the next is let in.
func TestLiveStreamCap(t *testing.T) {
	h := newHub(t, web.LiveConfig{MaxStreams: 2, KeepAlive: 100 * time.Millisecond, RetryAfter: 7 * time.Second})
	city := uuid.New()
	a := open(t, h.url+"/s/"+city.String()+"/k")
	open(t, h.url+"/s/"+city.String()+"/k")
	resp, err := http.Get(h.url + "/s/" + city.String() + "/k")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("third stream: %d Retry-After %q, want 503 and 7", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	a.resp.Body.Close()
	eventually(t, "a place free", func() bool { return h.l.Streams() == 1 })
	open(t, h.url+"/s/"+city.String()+"/k").next(t)
}

// TestLiveRefreshesWhenFeedLostAndBack: losing the subscription (changes may be missed) and
// getting it back each refresh every stream; while it is down, every StaleRefresh too.
func TestLiveRefreshesWhenFeedLostAndBack(t *testing.T) {
	h := newHub(t, web.LiveConfig{StaleRefresh: 300 * time.Millisecond})
	a, b := open(t, h.url+"/s/"+uuid.NewString()+"/k"), open(t, h.url+"/s/"+uuid.NewString()+"/k")
	a.next(t)
	b.next(t)
	h.l.SetLive(false)
	for _, s := range []*sse{a, b} {
		if got := s.next(t); !strings.HasPrefix(got, "<p>k #2</p>") {
			t.Errorf("on loss %q", got)
		}
		if got := s.next(t); !strings.HasPrefix(got, "<p>k #3</p>") {
			t.Errorf("while down %q", got)
		}
	}
	h.l.SetLive(true)
	for _, s := range []*sse{a, b} { // a refresh (and perhaps a stale one still under way), then quiet
		s.next(t)
		for drained := false; !drained; {
			select {
			case <-s.events:
			case <-time.After(700 * time.Millisecond):
				drained = true
			}
		}
	}
	n := h.renders.Load()
	a.quiet(t, 700*time.Millisecond)
	if h.renders.Load() != n {
		t.Error("still refreshing after the feed came back")
	}
}

// TestLiveClientGoneRemovesStream: a client that disconnects is noticed (at the latest at the next
// keep-alive) and its stream and group are gone: a change renders nothing.
func TestLiveClientGoneRemovesStream(t *testing.T) {
	h := newHub(t, web.LiveConfig{KeepAlive: 100 * time.Millisecond})
	city := uuid.New()
	s := open(t, h.url+"/s/"+city.String()+"/k")
	s.next(t)
	s.resp.Body.Close()
	eventually(t, "stream removed", func() bool { return h.l.Streams() == 0 })
	if got := metric(t, h.reg, "madoguchi_live_streams"); got != 0 {
		t.Errorf("madoguchi_live_streams = %v", got)
	}
	n := h.renders.Load()
	h.l.Apply(slotfeed.Change{Tenant: city})
	time.Sleep(200 * time.Millisecond)
	if h.renders.Load() != n {
		t.Error("a change of a city without streams was rendered")
	}
}

// TestLiveStreamEndsWithSession: a stream behind a session ends at the keep-alive after the
// session ended.
func TestLiveStreamEndsWithSession(t *testing.T) {
	h := newHub(t, web.LiveConfig{KeepAlive: 100 * time.Millisecond})
	s := open(t, h.url+"/w/"+uuid.NewString()+"/k")
	s.next(t)
	h.valid.Store(false)
	s.waitClosed(t)
	eventually(t, "stream removed", func() bool { return h.l.Streams() == 0 })
}

// TestLiveClosedHubEndsStreams: Close (the server shutting down) ends every stream.
func TestLiveClosedHubEndsStreams(t *testing.T) {
	h := newHub(t, web.LiveConfig{})
	s := open(t, h.url+"/s/"+uuid.NewString()+"/k")
	s.next(t)
	h.l.Close()
	s.waitClosed(t)
	resp, err := http.Get(h.url + "/s/" + uuid.NewString() + "/k")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("after Close: %d, want 503", resp.StatusCode)
	}
}

// TestLiveFollowsRedisFeed: fed by a real subscription, a change published by another process
// reaches an open stream; Redis going down and coming back refreshes it.
func TestLiveFollowsRedisFeed(t *testing.T) {
	r := jobstest.StartRedis(t)
	rdb := r.Client(t)
	h := newHub(t, web.LiveConfig{StaleRefresh: time.Hour})
	h.l.SetLive(false)
	live := make(chan bool, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = slotfeed.NewSubscriber(slotfeed.SubscriberConfig{Redis: rdb, Interval: 200 * time.Millisecond, Retry: 50 * time.Millisecond,
			OnChange: h.l.Apply, OnLive: func(b bool) { h.l.SetLive(b); live <- b }}).Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	if !<-live {
		t.Fatal("not live")
	}
	city := uuid.New()
	s := open(t, h.url+"/s/"+city.String()+"/k")
	s.next(t)
	pub, err := slotfeed.NewPublisher(slotfeed.PublisherConfig{Redis: rdb, Origin: "other"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := pub.Publish(context.Background(), slotfeed.Change{Tenant: city}); err != nil {
		t.Fatal(err)
	}
	if got := s.next(t); !strings.HasPrefix(got, "<p>k #2</p>") {
		t.Errorf("after the published change %q", got)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("update took %v", d)
	}
	r.Stop()
	if <-live {
		t.Fatal("still live with Redis down")
	}
	if got := s.next(t); !strings.HasPrefix(got, "<p>k #3</p>") {
		t.Errorf("on loss %q", got)
	}
	r.Start()
	for !<-live {
	}
	if got := s.next(t); !strings.HasPrefix(got, "<p>k #4</p>") {
		t.Errorf("on the new subscription %q", got)
	}
}

// metric sums every series of the named metric.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return sum
}
