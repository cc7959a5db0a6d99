package web

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestRoom(t *testing.T, limit int) (*WaitingRoom, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
	w, err := NewWaitingRoom(limit, []byte("0123456789abcdef0123456789abcdef"), clock.Now, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return w, clock
}

// admit asks w to let a browser of city in and asserts that it was.
func admit(t *testing.T, w *WaitingRoom, city, pass, ticket string) *Admitted {
	t.Helper()
	a, q := w.Enter(city, pass, ticket, true)
	if a == nil {
		t.Fatalf("queued at %+v, want let in", q)
	}
	return a
}

// queue asks w to let a browser of city in and asserts that it was queued, at position if > 0.
func queue(t *testing.T, w *WaitingRoom, city, pass, ticket string, position int) *Queued {
	t.Helper()
	a, q := w.Enter(city, pass, ticket, true)
	if a != nil || q == nil {
		a.Release()
		t.Fatal("let in, want queued")
	}
	if position > 0 && q.Position != position {
		t.Fatalf("position %d, want %d", q.Position, position)
	}
	return q
}

// TestWaitingRoomFIFO: tickets are let in in the order they were given, one per freed place,
// and a newcomer never overtakes the line.
func TestWaitingRoomFIFO(t *testing.T) {
	w, _ := newTestRoom(t, 1)
	a := admit(t, w, "kawasaki", "", "")
	t1 := queue(t, w, "kawasaki", "", "", 1).Ticket
	t2 := queue(t, w, "kawasaki", "", "", 2).Ticket
	// Another city is not held up by this one's line.
	admit(t, w, "ohsaki", "", "").Release()
	// The API is refused, not queued.
	if ar, qr := w.Enter("kawasaki", "", "", false); ar != nil || qr == nil || qr.Ticket != "" || qr.Wait <= 0 {
		t.Fatalf("API while full = %v %+v, want refused with a wait", ar, qr)
	}

	a.Release()
	// The place is kept for ticket 1: ticket 2 moves up but waits, and so does a newcomer.
	queue(t, w, "kawasaki", "", t2, 1)
	queue(t, w, "kawasaki", "", "", 2) // ticket 3
	first := admit(t, w, "kawasaki", "", t1)
	queue(t, w, "kawasaki", "", t2, 1)
	first.Release()
	admit(t, w, "kawasaki", "", t2).Release()

	// The pass a citizen got lets them in again without a ticket, ahead of the line.
	if first.Pass == "" {
		t.Fatal("no pass")
	}
	admit(t, w, "kawasaki", first.Pass, "").Release()
	// A ticket or pass of another city, or a forged one, counts for nothing: the newcomer takes
	// a new ticket at the back.
	full := admit(t, w, "ohsaki", "", "")
	defer full.Release()
	for _, c := range []struct{ name, pass, ticket string }{
		{"other city's ticket", "", t1},
		{"other city's pass", first.Pass, ""},
	} {
		if q := queue(t, w, "ohsaki", c.pass, c.ticket, 0); q.Ticket == c.ticket {
			t.Errorf("%s: honoured", c.name)
		}
	}
	if q := queue(t, w, "kawasaki", "", t1[:len(t1)-2]+"xx", 0); q.Ticket == t1 {
		t.Errorf("a forged ticket: %+v", q)
	}
}

// TestWaitingRoomAbandoned: a ticket let in whose holder does not come back stops holding its
// place after the refresh time it was given, and the line moves on; the holder, coming back
// later, still gets in (no time limit on the place in line).
func TestWaitingRoomAbandoned(t *testing.T) {
	w, clock := newTestRoom(t, 1)
	a := admit(t, w, "c", "", "")
	_, q1 := w.Enter("c", "", "", true)
	_, q2 := w.Enter("c", "", "", true)
	a.Release() // ticket 1's turn; its holder has gone
	queue(t, w, "c", "", q2.Ticket, 0)
	clock.Add(time.Duration(q1.Refresh)*time.Second + claimSlack + time.Second)
	b := admit(t, w, "c", "", q2.Ticket)
	b.Release()
	admit(t, w, "c", "", q1.Ticket).Release()
}

// TestWaitingRoomPassWaits: a pass holder's request waits in the process for a place rather
// than being sent to the back of the line.
func TestWaitingRoomPassWaits(t *testing.T) {
	w, _ := newTestRoom(t, 1)
	a := admit(t, w, "c", "", "")
	got := make(chan *Admitted)
	go func() {
		b, _ := w.Enter("c", a.Pass, "", true)
		got <- b
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		w.mu.Lock()
		n := w.cities["c"].held.Len()
		w.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the pass holder never waited")
		}
		time.Sleep(time.Millisecond)
	}
	// A newcomer does not take the place the pass holder waits for.
	queue(t, w, "c", "", "", 0)
	a.Release()
	b := <-got
	if b == nil {
		t.Fatal("the pass holder was not let in")
	}
	b.Release()
}

// TestWaitingRoomRefreshGrows: the further back, the longer the refresh interval.
func TestWaitingRoomRefreshGrows(t *testing.T) {
	w, _ := newTestRoom(t, 1)
	a := admit(t, w, "c", "", "")
	defer a.Release()
	var last *Queued
	for i := 0; i < 2000; i++ {
		_, last = w.Enter("c", "", "", true)
	}
	if last.Position != 2000 || last.Refresh < 30 || last.Refresh > refreshMax+refreshMax/4 {
		t.Errorf("ticket 2000: %+v, want a refresh of 30..%d s", last, refreshMax+refreshMax/4)
	}
	_, q := w.Enter("c", "", "", false)
	if q.Wait < 2000*defaultService {
		t.Errorf("expected wait at 2,001 = %s, want ≥ %s", q.Wait, 2000*defaultService)
	}
}

// TestWaitingRoomWaitFromRate: the expected wait comes from the rate the line has been moving.
func TestWaitingRoomWaitFromRate(t *testing.T) {
	w, clock := newTestRoom(t, 1)
	cur := admit(t, w, "c", "", "")
	var tickets []string
	for i := 0; i < 12; i++ {
		tickets = append(tickets, queue(t, w, "c", "", "", i+1).Ticket)
	}
	for i := 0; i < 10; i++ { // one ticket let in a second
		clock.Add(time.Second)
		cur.Release()
		cur = admit(t, w, "c", "", tickets[i])
	}
	defer cur.Release()
	q := queue(t, w, "c", "", tickets[11], 2)
	if q.Wait < 1500*time.Millisecond || q.Wait > 2500*time.Millisecond {
		t.Errorf("expected wait at position 2 after a ticket a second = %s, want about 2 s", q.Wait)
	}
}

// TestWaitingRoomHeldTimeout: a pass holder who waited HeldWait without a place is queued with
// a ticket (and their pass still lets them in once the room moves).
func TestWaitingRoomHeldTimeout(t *testing.T) {
	w, _ := newTestRoom(t, 1)
	w.held = 10 * time.Millisecond
	a := admit(t, w, "c", "", "")
	q := queue(t, w, "c", a.Pass, "", 1)
	if q.Ticket == "" {
		t.Fatal("no ticket after the wait")
	}
	a.Release()
	admit(t, w, "c", a.Pass, "").Release()
}

// TestWaitingRoomFairShare: a city rushing at the limit leaves another city a place at once;
// while both are busy neither holds more than its share (the limit split between them), the
// rushing city coming down to it as its own requests finish; after the quiet city's last request
// and busyLinger the rushing city has the whole limit again. Counts, not times.
func TestWaitingRoomFairShare(t *testing.T) {
	w, clock := newTestRoom(t, 4)
	w.held = 10 * time.Millisecond
	var noisy []*Admitted
	for range 4 { // alone, the city has the whole limit
		noisy = append(noisy, admit(t, w, "noisy", "", ""))
	}
	queue(t, w, "noisy", "", "", 1)
	// The quiet city gets a place at once although the rushing one holds the limit.
	q1 := admit(t, w, "quiet", "", "")
	if got := w.share(); got != 2 {
		t.Fatalf("share %d with two cities busy, want 2", got)
	}
	// The rushing city's pass holder does not take a place freed above its share of 2: it waits
	// (here for w.held), then is queued.
	noisy[0].Release()
	if a, q := w.Enter("noisy", noisy[0].Pass, "", true); a != nil || q == nil {
		a.Release()
		t.Fatal("the rushing city got a place over its share")
	}
	noisy[1].Release()
	noisy[2].Release() // now 1 in flight, under its share
	n2 := admit(t, w, "noisy", noisy[1].Pass, "")
	// The quiet city still has its second place at once, not a third.
	q2 := admit(t, w, "quiet", "", "")
	queue(t, w, "quiet", "", "", 1)
	if w.inFlight != 4 {
		t.Fatalf("%d in flight, want 4 (2 + 2)", w.inFlight)
	}
	// The quiet city's requests finish; while it may come back (busyLinger) its share stays;
	// after that the rushing city has the whole limit again.
	q1.Release()
	q2.Release()
	noisy[3].Release()
	n2.Release()
	clock.Add(2 * claimSlack)           // quiet's unclaimed ticket gives its place up
	clock.Add(busyLinger + time.Second) // and quiet is no longer busy
	var again []*Admitted
	for i := range 4 {
		a, q := w.Enter("noisy", noisy[i].Pass, "", true)
		if a == nil {
			t.Fatalf("pass holder %d queued at %+v after the quiet city left, want let in", i, q)
		}
		again = append(again, a)
	}
	for _, a := range again {
		a.Release()
	}
}
