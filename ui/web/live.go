package web

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/madoguchi/madoguchi/booking/slotfeed"
)

// Live fans the slot change feed out to Server-Sent-Event streams.
//
// A screen that shows places (the staff dashboard, the bookings list, the call center's
// availability) registers a Feed with a render function. Every open stream belongs to one
// (city, key) group of its feed — the key is whatever the screen's fragment depends on besides
// the city, e.g. "2026-12-07|ja". When the feed announces a change of a city (Apply), each group
// of that city is rendered ONCE and the same bytes go to every stream of the group: the database
// work per change depends on how many different screens are open, not on how many browsers show
// them. A change arriving while its group renders marks the group for one more render after it
// (a burst of N changes costs at most two renders, not N).
//
// Each stream has a small buffer; a stream that falls that far behind (a stalled client) is
// closed, and the browser's EventSource reconnects and gets the current fragment at once. The
// process holds at most MaxStreams streams; above that a stream request is answered 503 with
// Retry-After.
//
// While the feed's subscription is down (SetLive(false)) changes may be missed, so every group
// is rendered when it goes down, when it comes back, and every StaleRefresh in between.
type Live struct {
	cfg  LiveConfig
	log  *slog.Logger
	open atomic.Int64

	ctx    context.Context // ends with Close: renders stop, streams end
	cancel context.CancelFunc

	mu      sync.Mutex
	feeds   map[string]*Feed
	live    bool
	stopPol chan struct{} // closes the stale-refresh loop; nil while live

	streams *prometheus.GaugeVec
	renders *prometheus.CounterVec
	drops   *prometheus.CounterVec
}

// LiveConfig are the hub's limits. The zero value of a field takes its default.
type LiveConfig struct {
	// MaxStreams is the number of streams this process keeps open at once (default 2,000).
	MaxStreams int
	// KeepAlive is how often an idle stream gets a comment line, which also notices a client
	// that went away (default 20 s; proxies commonly cut a response silent for 60 s).
	KeepAlive time.Duration
	// Buffer is how many updates a stream may have waiting before it counts as too slow and is
	// closed (default 4).
	Buffer int
	// RenderTimeout bounds one render (default 10 s).
	RenderTimeout time.Duration
	// WriteTimeout bounds one write to a client (default 30 s).
	WriteTimeout time.Duration
	// StaleRefresh is how often every open group is rendered while the feed is down (default
	// 10 s): screens stay roughly current with one query per group, not per browser.
	StaleRefresh time.Duration
	// SessionCheck is how long a stream behind a session (StreamWhile) trusts its last check
	// before sending an update (default 5 s); a keep-alive always checks.
	SessionCheck time.Duration
	// RetryAfter is the Retry-After of the 503 above MaxStreams, and the reconnection delay the
	// stream announces to EventSource (default 10 s).
	RetryAfter time.Duration
}

// DefaultMaxStreams is LiveConfig.MaxStreams's default.
const DefaultMaxStreams = 2000

func (c LiveConfig) withDefaults() LiveConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.MaxStreams <= 0 {
		c.MaxStreams = DefaultMaxStreams
	}
	if c.Buffer <= 0 {
		c.Buffer = 4
	}
	def(&c.KeepAlive, 20*time.Second)
	def(&c.RenderTimeout, 10*time.Second)
	def(&c.WriteTimeout, 30*time.Second)
	def(&c.StaleRefresh, 10*time.Second)
	def(&c.SessionCheck, 5*time.Second)
	def(&c.RetryAfter, 10*time.Second)
	return c
}

// LiveOption changes a Live's configuration.
type LiveOption func(*LiveConfig)

// WithLiveConfig sets the hub's limits (zero fields keep their defaults).
func WithLiveConfig(cfg LiveConfig) LiveOption { return func(c *LiveConfig) { *c = cfg } }

// Results and reasons of the hub's metrics.
const (
	liveRenderOK    = "ok"
	liveRenderError = "error"
	liveDropSlow    = "slow"    // the stream's buffer was full: closed, the browser reconnects
	liveDropFull    = "full"    // refused: MaxStreams reached (503)
	liveDropSession = "session" // the session behind the stream ended
)

// NewLive returns a hub that is not yet fed: register its Apply and SetLive with the process's
// one subscription to the slot change feed (booking.SlotCache.OnChange/OnLive, or a
// slotfeed.Subscriber). Until SetLive(true) it refreshes its groups every StaleRefresh. Metrics
// (madoguchi_live_streams{feed}, madoguchi_live_renders_total{feed,result},
// madoguchi_live_drops_total{reason}) are registered with reg when it is not nil; a metric that
// cannot be registered is logged and left unexported.
func NewLive(log *slog.Logger, reg prometheus.Registerer, opts ...LiveOption) *Live {
	var cfg LiveConfig
	for _, o := range opts {
		o(&cfg)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Live{cfg: cfg.withDefaults(), log: log, feeds: map[string]*Feed{},
		streams: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "madoguchi_live_streams",
			Help: "Server-Sent-Event streams of live screens open in this process, per feed."}, []string{"feed"}),
		renders: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "madoguchi_live_renders_total",
			Help: "Fragments rendered for live screens (one per change per city and screen key, shared by all its streams), per feed and result."},
			[]string{"feed", "result"}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "madoguchi_live_drops_total",
			Help: "Live streams closed or refused by the server: slow (could not keep up), full (stream limit reached, 503), session (its session ended)."},
			[]string{"reason"}),
	}
	for _, r := range []string{liveDropSlow, liveDropFull, liveDropSession} {
		l.drops.WithLabelValues(r)
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	if reg != nil {
		for _, m := range []prometheus.Collector{l.streams, l.renders, l.drops} {
			if err := reg.Register(m); err != nil {
				log.Error("live screen metrics not registered", "err", err)
			}
		}
	}
	l.mu.Lock()
	l.startStale()
	l.mu.Unlock()
	return l
}

// Close ends every stream and stops rendering; Stream answers 503 afterwards.
func (l *Live) Close() {
	l.cancel()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopStale()
}

// Streams is the number of streams open in this process.
func (l *Live) Streams() int { return int(l.open.Load()) }

// Apply renders every group of the change's city (any day: the screens are small and a change
// is rare compared with reads). It never blocks: the renders run on their own goroutines.
func (l *Live) Apply(ch slotfeed.Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.feeds {
		for _, g := range f.groups[ch.Tenant] {
			g.schedule()
		}
	}
}

// SetLive tells the hub that the feed's subscription is confirmed (true) or lost (false).
// Either way changes may have been missed, so every group is rendered again; while it is lost,
// every StaleRefresh too.
func (l *Live) SetLive(live bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.live = live
	if live {
		l.stopStale()
	} else {
		l.startStale()
	}
	l.refreshAll()
}

// refreshAll schedules every group. The caller holds mu.
func (l *Live) refreshAll() {
	for _, f := range l.feeds {
		for _, gs := range f.groups {
			for _, g := range gs {
				g.schedule()
			}
		}
	}
}

// startStale starts the refresh loop of a feed that is down. The caller holds mu.
func (l *Live) startStale() {
	if l.stopPol != nil || l.ctx.Err() != nil {
		return
	}
	stop := make(chan struct{})
	l.stopPol = stop
	go func() {
		t := time.NewTicker(l.cfg.StaleRefresh)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-l.ctx.Done():
				return
			case <-t.C:
				l.mu.Lock()
				l.refreshAll()
				l.mu.Unlock()
			}
		}
	}()
}

// stopStale stops the refresh loop. The caller holds mu.
func (l *Live) stopStale() {
	if l.stopPol != nil {
		close(l.stopPol)
		l.stopPol = nil
	}
}

// Feed is one kind of live screen (see Live.Feed).
type Feed struct {
	l      *Live
	name   string
	render func(ctx context.Context, tenantID uuid.UUID, key string) ([]byte, error)
	groups map[uuid.UUID]map[string]*group // under l.mu
	minGap time.Duration                   // under l.mu
}

// MinInterval makes the feed's renders of one (city, key) start at least d apart: changes in
// between are coalesced into one render at the end of the interval. For screens whose render is
// costly or audited (a list of bookings read as its clerk); 0 (the default) renders at once.
func (f *Feed) MinInterval(d time.Duration) *Feed {
	f.l.mu.Lock()
	defer f.l.mu.Unlock()
	f.minGap = d
	return f
}

// Feed registers a kind of live screen; render draws the event data for one city and one key
// (e.g. "2026-12-07|ja" – whatever the screen needs), called ONCE per change per (city,key) that
// has open streams, never once per stream; the result (an HTML fragment) goes to every stream of
// that (city,key). render runs without the request: it must not read a session, and it gets a
// context of its own (RenderTimeout). Registering a name twice returns the first Feed.
func (l *Live) Feed(name string, render func(ctx context.Context, tenantID uuid.UUID, key string) ([]byte, error)) *Feed {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := l.feeds[name]; f != nil {
		return f
	}
	f := &Feed{l: l, name: name, render: render, groups: map[uuid.UUID]map[string]*group{}}
	l.feeds[name] = f
	l.streams.WithLabelValues(name)
	l.renders.WithLabelValues(name, liveRenderOK)
	l.renders.WithLabelValues(name, liveRenderError)
	return f
}

// group is the streams of one (city, key) of a feed and its render state. Every field is under
// the hub's mu.
type group struct {
	f       *Feed
	tenant  uuid.UUID
	key     string
	streams map[*stream]struct{}
	running bool   // a render is under way
	pending bool   // a change came during it: render once more
	last    []byte // the last rendered event, framed; nil: none yet or the last render failed
}

// stream is one open SSE response.
type stream struct {
	ch   chan []byte   // framed events waiting to be written
	gone chan struct{} // closed when the hub drops the stream (too slow)
	drop sync.Once
}

func (s *stream) close() { s.drop.Do(func() { close(s.gone) }) }

// schedule renders the group now, or once more after the render under way. The caller holds mu.
func (g *group) schedule() {
	if g.running {
		g.pending = true
		return
	}
	g.running = true
	go g.run()
}

// run renders until no change is pending, sending each result to every stream of the group.
func (g *group) run() {
	l := g.f.l
	for {
		started := time.Now()
		ctx, cancel := context.WithTimeout(l.ctx, l.cfg.RenderTimeout)
		b, err := g.f.render(ctx, g.tenant, g.key)
		cancel()
		var ev []byte
		if err == nil {
			ev = frame("update", b)
			l.renders.WithLabelValues(g.f.name, liveRenderOK).Inc()
		} else {
			l.renders.WithLabelValues(g.f.name, liveRenderError).Inc()
			if l.ctx.Err() == nil {
				l.log.Warn("live screen not rendered", "feed", g.f.name, "tenant", g.tenant, "err", err)
			}
		}
		l.mu.Lock()
		g.last = ev
		if ev != nil {
			for s := range g.streams {
				select {
				case s.ch <- ev:
				default: // the client cannot keep up: close it; EventSource reconnects
					delete(g.streams, s)
					s.close()
					l.drops.WithLabelValues(liveDropSlow).Inc()
				}
			}
		}
		if g.pending && len(g.streams) > 0 && l.ctx.Err() == nil {
			g.pending = false
			gap := g.f.minGap - time.Since(started)
			l.mu.Unlock()
			if gap > 0 {
				select {
				case <-time.After(gap): // changes meanwhile set pending again: still one render
				case <-l.ctx.Done():
				}
			}
			continue
		}
		g.running, g.pending = false, false
		g.f.forgetIfEmpty(g)
		l.mu.Unlock()
		return
	}
}

// forgetIfEmpty removes a group without streams and without a render under way. The caller holds
// mu.
func (f *Feed) forgetIfEmpty(g *group) {
	if len(g.streams) > 0 || g.running {
		return
	}
	if gs := f.groups[g.tenant]; gs[g.key] == g {
		delete(gs, g.key)
		if len(gs) == 0 {
			delete(f.groups, g.tenant)
		}
	}
}

// join adds s to its group, handing it the group's last fragment at once or rendering one.
func (f *Feed) join(tenantID uuid.UUID, key string, s *stream) *group {
	f.l.mu.Lock()
	defer f.l.mu.Unlock()
	gs := f.groups[tenantID]
	if gs == nil {
		gs = map[string]*group{}
		f.groups[tenantID] = gs
	}
	g := gs[key]
	if g == nil {
		g = &group{f: f, tenant: tenantID, key: key, streams: map[*stream]struct{}{}}
		gs[key] = g
	}
	g.streams[s] = struct{}{}
	switch {
	case g.last != nil:
		s.ch <- g.last // a new stream's buffer is empty
	case !g.running:
		g.schedule()
	}
	return g
}

// leave removes s from its group.
func (f *Feed) leave(g *group, s *stream) {
	f.l.mu.Lock()
	defer f.l.mu.Unlock()
	delete(g.streams, s)
	f.forgetIfEmpty(g)
}

// frame is one SSE event: its name and the data, one "data:" field per line.
func frame(event string, data []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(data) + len(data)/40 + 32)
	b.WriteString("event: ")
	b.WriteString(event)
	b.WriteByte('\n')
	for _, line := range bytes.Split(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n")) {
		b.WriteString("data: ")
		b.Write(bytes.TrimSuffix(line, []byte("\r")))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// Stream answers an SSE request: text/event-stream, no-store, X-Accel-Buffering: no; sends the
// current render at once ("event: update", the fragment as data lines), then one per change of
// that city, a comment every KeepAlive; it ends when the client goes (noticed at the next write,
// at the latest at the next keep-alive), when the hub drops it as too slow, or when the server
// shuts down or the hub is closed. Above MaxStreams it answers 503 with Retry-After.
func (f *Feed) Stream(c *fiber.Ctx, tenantID uuid.UUID, key string) error {
	return f.StreamWhile(c, tenantID, key, nil)
}

// StreamWhile is Stream for a screen behind a session: valid reports whether the session still
// stands (e.g. its key still exists in Redis). It is asked at every keep-alive and before an
// update when the last answer is older than SessionCheck; once it says false the stream ends
// (and the browser's reconnection meets the route's guard). nil: always valid.
func (f *Feed) StreamWhile(c *fiber.Ctx, tenantID uuid.UUID, key string, valid func(context.Context) bool) error {
	l := f.l
	key = strings.Clone(key) // fiber's strings point into the request's buffers
	retry := strconv.Itoa(int(l.cfg.RetryAfter / time.Second))
	if l.ctx.Err() != nil {
		c.Set(fiber.HeaderRetryAfter, retry)
		return c.SendStatus(fiber.StatusServiceUnavailable)
	}
	if l.open.Add(1) > int64(l.cfg.MaxStreams) {
		l.open.Add(-1)
		l.drops.WithLabelValues(liveDropFull).Inc()
		c.Set(fiber.HeaderRetryAfter, retry)
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.SendStatus(fiber.StatusServiceUnavailable)
	}
	c.Set(fiber.HeaderContentType, "text/event-stream; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no")
	c.Status(fiber.StatusOK)

	rc := c.Context()
	shutdown := rc.Done() // closed when the server shuts down
	// The server's write timeout covers a whole response; a stream lives longer. Each write below
	// sets its own deadline instead, so a stalled client still frees the connection.
	_ = rc.SetWriteDeadline(time.Time{})
	// The writer below runs after this handler returns and must not touch rc (fasthttp reuses
	// it): it sets its deadlines on the connection itself, which stays this response's until the
	// writer ends.
	conn := rc.Conn()
	gauge := l.streams.WithLabelValues(f.name)
	gauge.Inc()
	s := &stream{ch: make(chan []byte, l.cfg.Buffer), gone: make(chan struct{})}
	g := f.join(tenantID, key, s)

	rc.SetBodyStreamWriter(func(w *bufio.Writer) {
		defer func() {
			f.leave(g, s)
			gauge.Dec()
			l.open.Add(-1)
		}()
		checked := time.Now()
		stillValid := func(force bool) bool {
			if valid == nil || (!force && time.Since(checked) < l.cfg.SessionCheck) {
				return true
			}
			ctx, cancel := context.WithTimeout(l.ctx, 2*time.Second)
			defer cancel()
			if !valid(ctx) {
				l.drops.WithLabelValues(liveDropSession).Inc()
				return false
			}
			checked = time.Now()
			return true
		}
		write := func(b []byte) bool {
			_ = conn.SetWriteDeadline(time.Now().Add(l.cfg.WriteTimeout))
			if _, err := w.Write(b); err != nil {
				return false
			}
			return w.Flush() == nil
		}
		// The reconnection delay, and a first line so proxies pass the headers on at once.
		if !write([]byte("retry: " + strconv.Itoa(int(l.cfg.RetryAfter/time.Millisecond)) + "\n: open\n\n")) {
			return
		}
		keep := time.NewTicker(l.cfg.KeepAlive)
		defer keep.Stop()
		for {
			select {
			case ev := <-s.ch:
				if !stillValid(false) || !write(ev) {
					return
				}
			case <-keep.C:
				if !stillValid(true) || !write([]byte(": keep-alive\n\n")) {
					return
				}
			case <-s.gone:
				return
			case <-shutdown:
				return
			case <-l.ctx.Done():
				return
			}
		}
	})
	return nil
}
