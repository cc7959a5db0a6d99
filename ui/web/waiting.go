package web

import (
	"container/list"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The waiting room: admission control per city and per process for the citizens' booking
// requests. Each city may have Limit requests in flight in this process; every web replica runs
// its own room, so a city's total is Limit × replicas (size Limit against the process's database
// pool).
//
// Who gets in:
//   - A citizen already let in holds a pass (a signed cookie, renewed on each request and valid
//     for PassIdle after the last one). A pass holder's request takes a free place, or waits in
//     this process, first come first served, until one is free (up to HeldWait): a citizen in
//     the middle of booking is never sent back to the queue while the room moves.
//   - A newcomer gets in at once only when a place is free and nobody is queued.
//   - Otherwise the newcomer gets a ticket: the next number of the city's line, signed, in a
//     cookie. Tickets are let in in number order: when a place is spare (no request holds it, no
//     pass holder waits for it, no ticket let in before has yet come to claim it) the window
//     moves on by one ticket. A ticket in the window gets in when its holder comes back (the
//     queue page refreshes itself) and becomes a pass. A ticket let in whose holder does not come
//     back within the refresh time the page gave it stops holding its place, so an abandoned
//     tab never blocks the line; its holder, coming back later, is still let in (the place in
//     line is kept without a time limit).
//
// Tickets are numbered per process: a ticket from another replica (or from before a restart)
// does not verify, and its holder queues again at the back of this process's line. Passes do
// verify on any replica that shares the key.
//
// Fair share between cities: all cities share the process's CPUs and database pool, so a city
// at its Limit would make every other city's requests queue behind its own (a rush in one city
// doubled a quiet city's p99). A city alone may have Limit requests in flight; while several
// cities are busy (requests in flight or waiting, places owed to tickets, or a request finished
// less than busyLinger ago) each may hold only its share: Limit divided among the busy cities,
// rounded up, at least 1. A city under its share is let in at once, whatever the others do; a
// city over it waits (its pass holders in the process, its newcomers in its line) until its own
// requests finish, so its requests in flight come down to its share without any being refused.
// The share is kept for a city between its requests (busyLinger) rather than lent to the
// others: lent, the rushing city would fill it at once and the quiet city's next request would
// again run beside Limit of the other's. So the process has about Limit requests in flight
// across cities (at most Limit plus one per busy city), which is what its database pool was
// sized for.
type WaitingRoom struct {
	limit   int
	key     []byte
	epoch   string // tells this process's tickets from another's
	now     func() time.Time
	metrics *waitingMetrics
	held    time.Duration // HeldWait; shorter in tests

	mu       sync.Mutex
	cities   map[string]*line
	inFlight int                // Σ active: admitted requests in flight, all cities (a metric)
	busy     map[*line]struct{} // cities that are busy (line.busyNow)
	settled  time.Time          // settle's last run
	waiting  map[*line]struct{} // cities with pass holders waiting or tickets not yet let in
}

// Waiting room timing.
const (
	// PassIdle is how long after a citizen's last request the pass lets them in without queueing
	// again; the citizen session's idle timeout.
	PassIdle = 30 * time.Minute
	// HeldWait bounds how long a pass holder's request waits in the process for a place.
	HeldWait = 10 * time.Second
	// refreshMin and refreshMax bound the queue page's refresh interval.
	refreshMin, refreshMax = 3, 60
	// claimSlack is added to the refresh interval before an unclaimed place is given on.
	claimSlack = 5 * time.Second
	// defaultService is the assumed time of one request until one has been measured.
	defaultService = 200 * time.Millisecond
	// maxPending bounds the tickets one city's line records (about 100 bytes each).
	maxPending = 200_000
	// rateSamples is how many of the line's latest moves measure its rate.
	rateSamples = 64
	// busyLinger is how long a city counts as busy after its last request finished (fair
	// share): longer than the pause between a citizen's requests as a browser makes them.
	busyLinger = 2 * time.Second
	// settleEvery is how often the room looks for cities no longer busy.
	settleEvery = 100 * time.Millisecond
)

// line is one city's state.
type line struct {
	slug    string
	active  int        // admitted requests in flight
	held    *list.List // of *heldWaiter: pass holders waiting for a place, first come first served
	last    uint64     // the last ticket issued
	serving uint64     // tickets ≤ serving are let in
	pending map[uint64]pendingTicket
	window  map[uint64]windowTicket // let in, not yet claimed
	service time.Duration           // moving average of a request's time in the room
	moved   []time.Time             // when the window moved on, oldest first (the latest rateSamples)
	idle    time.Time               // when its last request finished
}

type pendingTicket struct {
	issued time.Time
	due    time.Time // the holder's next refresh, as the queue page told it
}

type windowTicket struct {
	issued time.Time
	until  time.Time // the place is kept for it until then
}

type heldWaiter struct {
	ch      chan struct{}
	granted bool
}

type waitingMetrics struct {
	wait     prometheus.Histogram
	length   *prometheus.GaugeVec
	requests *prometheus.CounterVec
	inFlight prometheus.Gauge
	share    prometheus.Gauge
}

func newWaitingMetrics(reg prometheus.Registerer) (*waitingMetrics, error) {
	m := &waitingMetrics{
		wait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "madoguchi_waiting_room_wait_seconds",
			Help:    "Time from a waiting-room ticket's issue to its holder being let in.",
			Buckets: []float64{1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
		}),
		length: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "madoguchi_waiting_room_queue_length",
			Help: "Tickets waiting to be let in, per city (this process).",
		}, []string{"tenant"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "madoguchi_waiting_room_requests_total",
			Help: "Requests at the waiting room by outcome: admitted (a free place), pass (a citizen already let in), ticket (let in by ticket), queued (given or shown a ticket), refused (API 429), held_timeout (a pass holder who waited too long).",
		}, []string{"result"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "madoguchi_waiting_room_in_flight",
			Help: "Citizens' booking requests let in and in flight, all cities (this process).",
		}),
		share: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "madoguchi_waiting_room_fair_share",
			Help: "Places each busy city is sure of while several are busy: the per-city limit divided among the busy cities (this process).",
		}),
	}
	for _, c := range []prometheus.Collector{m.wait, m.length, m.requests, m.inFlight, m.share} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// NewWaitingRoom returns a room letting limit requests per city into the booking paths at once
// (limit 0: no room; Enter lets everyone in). key signs tickets and passes; nil draws a random
// key, which makes passes valid in this process only. now is the clock of the room's timing
// (time.Now when nil). Its metrics are registered on reg.
func NewWaitingRoom(limit int, key []byte, now func() time.Time, reg prometheus.Registerer) (*WaitingRoom, error) {
	if now == nil {
		now = time.Now
	}
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	m, err := newWaitingMetrics(reg)
	if err != nil {
		return nil, err
	}
	m.share.Set(float64(limit))
	return &WaitingRoom{limit: limit, key: key, epoch: RandomID(6), now: now, metrics: m, held: HeldWait,
		cities: map[string]*line{}, busy: map[*line]struct{}{}, waiting: map[*line]struct{}{}}, nil
}

// Limit is the number of requests per city the room lets in at once; 0: no room.
func (w *WaitingRoom) Limit() int { return w.limit }

// Queued says where a request that was not let in stands.
type Queued struct {
	Ticket   string        // the ticket cookie's value (new, or the one the request brought)
	Position int           // 1: next to be let in
	Wait     time.Duration // expected wait, from the measured service time
	Refresh  int           // seconds until the page should ask again (grows with Position, with jitter)
}

// Admitted is a request let in: Release must be called when it is done. Pass is the pass
// cookie's new value.
type Admitted struct {
	Pass    string
	release func()
}

// Release gives the request's place back (to a waiting pass holder, or to the line).
func (a *Admitted) Release() {
	if a != nil && a.release != nil {
		a.release()
		a.release = nil
	}
}

// Enter asks the room to let one request of city in. pass and ticket are the request's cookie
// values (either may be ""); queueable is false for callers who cannot hold a ticket (the API):
// they are refused instead of queued. It returns the admission, or where the request stands in
// line (queued; Ticket "" when it was refused).
func (w *WaitingRoom) Enter(city, pass, ticket string, queueable bool) (*Admitted, *Queued) {
	if w == nil || w.limit <= 0 {
		return &Admitted{}, nil
	}
	now := w.now()
	w.mu.Lock()
	l := w.line(city)
	w.settle(now)
	w.advance(l, now)
	if w.validPass(city, pass, now) {
		w.mu.Unlock()
		return w.hold(city, l, "pass")
	}
	if n, ok := w.ticketNumber(city, ticket); ok && n <= l.last {
		if n <= l.serving {
			if wt, ok := l.window[n]; ok {
				delete(l.window, n)
				w.metrics.wait.Observe(now.Sub(wt.issued).Seconds())
			}
			w.mu.Unlock()
			return w.hold(city, l, "ticket")
		}
		q := w.queued(l, n, now)
		q.Ticket = ticket
		w.mu.Unlock()
		w.metrics.requests.WithLabelValues("queued").Inc()
		return nil, q
	}
	if l.serving == l.last && w.spare(l) > 0 {
		w.take(l)
		w.mu.Unlock()
		w.metrics.requests.WithLabelValues("admitted").Inc()
		return w.admitted(city, l), nil
	}
	if !queueable {
		q := w.queued(l, l.last+1, now)
		w.mu.Unlock()
		w.metrics.requests.WithLabelValues("refused").Inc()
		return nil, q
	}
	l.last++
	n := l.last
	l.issue(n, now)
	w.touch(l)
	q := w.queued(l, n, now)
	q.Ticket = w.sign(city, "t", w.epoch+"."+strconv.FormatUint(n, 10))
	w.metrics.length.WithLabelValues(l.slug).Set(float64(l.last - l.serving))
	w.mu.Unlock()
	w.metrics.requests.WithLabelValues("queued").Inc()
	return nil, q
}

// hold admits a request that has been let in (a pass or a ticket in the window): it takes a free
// place, or waits for one up to HeldWait. After that it is queued anew.
func (w *WaitingRoom) hold(city string, l *line, result string) (*Admitted, *Queued) {
	w.mu.Lock()
	if l.held.Len() == 0 && l.active < w.share() {
		w.take(l)
		w.mu.Unlock()
		w.metrics.requests.WithLabelValues(result).Inc()
		return w.admitted(city, l), nil
	}
	hw := &heldWaiter{ch: make(chan struct{})}
	e := l.held.PushBack(hw)
	w.touch(l)
	w.mu.Unlock()
	timer := time.NewTimer(w.held)
	defer timer.Stop()
	select {
	case <-hw.ch:
		w.metrics.requests.WithLabelValues(result).Inc()
		return w.admitted(city, l), nil
	case <-timer.C:
	}
	w.mu.Lock()
	if hw.granted { // the place came as the timer fired
		w.mu.Unlock()
		w.metrics.requests.WithLabelValues(result).Inc()
		return w.admitted(city, l), nil
	}
	l.held.Remove(e)
	l.last++
	n := l.last
	now := w.now()
	l.issue(n, now)
	w.touch(l)
	q := w.queued(l, n, now)
	q.Ticket = w.sign(city, "t", w.epoch+"."+strconv.FormatUint(n, 10))
	w.metrics.length.WithLabelValues(l.slug).Set(float64(l.last - l.serving))
	w.mu.Unlock()
	w.metrics.requests.WithLabelValues("held_timeout").Inc()
	return nil, q
}

// admitted builds the admission of a request that holds one of l's places.
func (w *WaitingRoom) admitted(city string, l *line) *Admitted {
	start := w.now()
	pass := w.sign(city, "p", strconv.FormatInt(start.Add(PassIdle).Unix(), 10))
	return &Admitted{Pass: pass, release: func() { w.release(l, w.now().Sub(start)) }}
}

// release gives a place back: to the city's first waiting pass holder, else to its line, when
// the city may still take it (fair share), else to the other cities' waiting requests.
func (w *WaitingRoom) release(l *line, took time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if l.service == 0 {
		l.service = took
	} else {
		l.service += (took - l.service) / 8
	}
	l.active--
	w.inFlight--
	now := w.now()
	l.idle = now
	w.touch(l)
	w.settle(now)
	w.serve(l, now)
	for o := range w.waiting {
		if o != l {
			w.serve(o, now)
		}
	}
}

// serve gives l's free places to its waiting pass holders, first come first served, then to
// its line. w.mu is held.
func (w *WaitingRoom) serve(l *line, now time.Time) {
	for l.held.Len() > 0 && l.active < w.share() {
		hw := l.held.Remove(l.held.Front()).(*heldWaiter)
		w.take(l)
		hw.granted = true
		close(hw.ch)
	}
	w.advance(l, now)
}

// take counts a request of l let in. w.mu is held.
func (w *WaitingRoom) take(l *line) {
	l.active++
	w.inFlight++
	w.touch(l)
}

// busyNow is whether l counts among the busy cities at now (fair share).
func (l *line) busyNow(now time.Time) bool {
	return l.active > 0 || l.held.Len() > 0 || len(l.window) > 0 || l.serving < l.last ||
		now.Before(l.idle.Add(busyLinger))
}

// touch updates the room's sets after l changed (it can only have become busy, or stopped
// waiting: settle notices when it stops being busy). w.mu is held.
func (w *WaitingRoom) touch(l *line) {
	if l.active > 0 || l.held.Len() > 0 || len(l.window) > 0 || l.serving < l.last {
		if _, ok := w.busy[l]; !ok {
			w.busy[l] = struct{}{}
			w.metrics.share.Set(float64(w.share()))
		}
	}
	if l.held.Len() > 0 || l.serving < l.last {
		w.waiting[l] = struct{}{}
	} else {
		delete(w.waiting, l)
	}
	w.metrics.inFlight.Set(float64(w.inFlight))
}

// settle drops the cities that are no longer busy (their places owed to tickets whose holders
// did not come back are given up first); their shares go to the others, served at their next
// request or release. At most every settleEvery: it visits every busy city. w.mu is held.
func (w *WaitingRoom) settle(now time.Time) {
	if now.Sub(w.settled) < settleEvery && now.After(w.settled) {
		return
	}
	w.settled = now
	n := len(w.busy)
	for l := range w.busy {
		w.advance(l, now)
		if !l.busyNow(now) {
			delete(w.busy, l)
		}
	}
	if len(w.busy) != n {
		w.metrics.share.Set(float64(w.share()))
	}
}

// share is the places each busy city may hold: Limit divided among the busy cities, rounded
// up, at least 1. w.mu is held.
func (w *WaitingRoom) share() int {
	b := max(1, len(w.busy))
	return max(1, (w.limit+b-1)/b)
}

// spare is the number of places of l's share that nobody holds or is owed (a pass holder who
// came back takes a place whether or not tickets are owed one, as without fair share). w.mu is
// held.
func (w *WaitingRoom) spare(l *line) int {
	return w.share() - l.active - l.held.Len() - len(l.window)
}

// line returns city's line, creating it. w.mu is held.
func (w *WaitingRoom) line(city string) *line {
	l := w.cities[city]
	if l == nil {
		l = &line{slug: city, held: list.New(), pending: map[uint64]pendingTicket{}, window: map[uint64]windowTicket{}}
		w.cities[city] = l
	}
	return l
}

// issue records ticket n, given at now. Past maxPending tickets waiting in one city's line the
// ticket is not recorded, so that a flood of requests without cookies cannot grow memory without
// bound: it is still let in in its turn, but without a place kept for it or its wait measured.
func (l *line) issue(n uint64, now time.Time) {
	if len(l.pending) < maxPending {
		l.pending[n] = pendingTicket{issued: now}
	}
}

// advance drops the unclaimed places whose holders did not come back in time and moves the
// window on while places are spare. w.mu is held.
func (w *WaitingRoom) advance(l *line, now time.Time) {
	for n, wt := range l.window {
		if now.After(wt.until) {
			delete(l.window, n)
		}
	}
	defer w.touch(l)
	if l.serving == l.last {
		return
	}
	for l.serving < l.last && w.spare(l) > 0 {
		l.serving++
		p, ok := l.pending[l.serving]
		if !ok {
			continue
		}
		delete(l.pending, l.serving)
		if len(l.moved) == rateSamples {
			l.moved = append(l.moved[:0], l.moved[1:]...)
		}
		l.moved = append(l.moved, now)
		// The holder asks again at p.due at the latest (the refresh its page was given): keep
		// the place until a little after.
		until := p.due.Add(claimSlack)
		if soonest := now.Add(claimSlack); until.Before(soonest) {
			until = soonest
		}
		l.window[l.serving] = windowTicket{issued: p.issued, until: until}
	}
	w.metrics.length.WithLabelValues(l.slug).Set(float64(l.last - l.serving))
}

// queued says where ticket n stands, and records when its holder will ask again. w.mu is held.
func (w *WaitingRoom) queued(l *line, n uint64, now time.Time) *Queued {
	pos := int(n - l.serving)
	wait := l.expectedWait(pos, w.limit, now)
	refresh := refreshMin + int(wait.Seconds()/2)
	refresh = min(refresh, refreshMax)
	refresh += jitter(refresh / 4)
	if p, ok := l.pending[n]; ok {
		p.due = now.Add(time.Duration(refresh) * time.Second)
		l.pending[n] = p
	}
	return &Queued{Position: pos, Wait: wait, Refresh: refresh}
}

// expectedWait is how long the holder of position pos should expect to wait: from the rate at
// which the line has been moving (tickets let in per second, over its latest moves, counting the
// time since the last one), or, before it has moved often enough to tell, from the measured time
// of a request and the number of places.
func (l *line) expectedWait(pos, limit int, now time.Time) time.Duration {
	if k := len(l.moved); k >= 8 {
		span := now.Sub(l.moved[0])
		if span > 0 {
			return time.Duration(pos) * span / time.Duration(k)
		}
	}
	service := l.service
	if service <= 0 {
		service = defaultService
	}
	return time.Duration(pos) * service / time.Duration(limit)
}

// jitter returns a random whole number in [0, n].
func jitter(n int) int {
	if n <= 0 {
		return 0
	}
	var b [1]byte
	_, _ = rand.Read(b[:])
	return int(b[0]) % (n + 1)
}

// sign returns kind.payload.mac, the MAC binding it to city.
func (w *WaitingRoom) sign(city, kind, payload string) string {
	return kind + "." + payload + "." + w.mac(city, kind, payload)
}

func (w *WaitingRoom) mac(city, kind, payload string) string {
	h := hmac.New(sha256.New, w.key)
	h.Write([]byte("waiting-room\x00" + city + "\x00" + kind + "\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

// verify returns the payload of a value signed for city and kind.
func (w *WaitingRoom) verify(city, kind, v string) (string, bool) {
	rest, ok := strings.CutPrefix(v, kind+".")
	if !ok {
		return "", false
	}
	i := strings.LastIndexByte(rest, '.')
	if i < 0 {
		return "", false
	}
	payload, mac := rest[:i], rest[i+1:]
	if !hmac.Equal([]byte(mac), []byte(w.mac(city, kind, payload))) {
		return "", false
	}
	return payload, true
}

func (w *WaitingRoom) validPass(city, pass string, now time.Time) bool {
	p, ok := w.verify(city, "p", pass)
	if !ok {
		return false
	}
	exp, err := strconv.ParseInt(p, 10, 64)
	return err == nil && now.Unix() < exp
}

func (w *WaitingRoom) ticketNumber(city, ticket string) (uint64, bool) {
	p, ok := w.verify(city, "t", ticket)
	if !ok {
		return 0, false
	}
	epoch, num, ok := strings.Cut(p, ".")
	if !ok || epoch != w.epoch {
		return 0, false
	}
	n, err := strconv.ParseUint(num, 10, 64)
	return n, err == nil && n > 0
}
