package slotfeed_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking/slotfeed"
	"github.com/madoguchi/madoguchi/jobs/jobstest"
)

// feed runs a Subscriber and hands its callbacks to the test.
type feed struct {
	changes chan slotfeed.Change
	live    chan bool
}

func follow(t *testing.T, cfg slotfeed.SubscriberConfig) *feed {
	t.Helper()
	f := &feed{changes: make(chan slotfeed.Change, 16), live: make(chan bool, 16)}
	cfg.OnChange = func(c slotfeed.Change) { f.changes <- c }
	cfg.OnLive = func(l bool) { f.live <- l }
	if cfg.Interval == 0 {
		cfg.Interval = 200 * time.Millisecond
	}
	cfg.Retry = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { slotfeed.NewSubscriber(cfg).Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

// next returns the next value a channel yields; the deadline only stops a broken test.
func next[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s", what)
		panic("unreachable")
	}
}

// TestPublishAndSubscribe: a change published after the subscription is confirmed arrives as
// sent, with the publisher's origin, on the city's channel; a subscriber of one city does not get
// another's; the wire format is the documented JSON.
func TestPublishAndSubscribe(t *testing.T) {
	rdb := jobstest.StartRedis(t).Client(t)
	ctx := context.Background()
	cityA, cityB := uuid.New(), uuid.New()
	all := follow(t, slotfeed.SubscriberConfig{Redis: rdb})
	onlyB := follow(t, slotfeed.SubscriberConfig{Redis: rdb, Tenants: []uuid.UUID{cityB, cityB}})
	if !next(t, all.live, "live") || !next(t, onlyB.live, "live") {
		t.Fatal("first OnLive = false, want true")
	}
	raw := rdb.Subscribe(ctx, slotfeed.Channel(cityA))
	defer raw.Close()
	if _, err := raw.Receive(ctx); err != nil {
		t.Fatal(err)
	}

	pub, err := slotfeed.NewPublisher(slotfeed.PublisherConfig{Redis: rdb, Origin: "web-1"})
	if err != nil {
		t.Fatal(err)
	}
	loc := uuid.New()
	sent := slotfeed.Change{Tenant: cityA, Days: []slotfeed.Span{{Location: loc, From: "2026-12-01", To: "2026-12-03"}}}
	if err := pub.Publish(ctx, sent); err != nil {
		t.Fatal(err)
	}
	pub.Announce(ctx, slotfeed.Change{Tenant: cityB})

	got := next(t, all.changes, "change of city A")
	if got.Tenant != cityA || got.Origin != "web-1" || got.V != slotfeed.Version || len(got.Days) != 1 || got.Days[0] != sent.Days[0] || got.All() {
		t.Errorf("received %+v, want %+v from web-1", got, sent)
	}
	if got := next(t, all.changes, "change of city B"); got.Tenant != cityB || !got.All() {
		t.Errorf("received %+v, want all of city B", got)
	}
	if got := next(t, onlyB.changes, "change of city B"); got.Tenant != cityB {
		t.Errorf("subscriber of city B received %+v first", got)
	}

	msg, err := raw.ReceiveMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wire map[string]any
	if err := json.Unmarshal([]byte(msg.Payload), &wire); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"v": float64(1), "tenant": cityA.String(), "origin": "web-1",
		"days": []any{map[string]any{"location": loc.String(), "from": "2026-12-01", "to": "2026-12-03"}}}
	if b1, b2 := mustJSON(t, wire), mustJSON(t, want); b1 != b2 {
		t.Errorf("on the wire %s\nwant %s", b1, b2)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUnreadableMessageIsWholeCity: a message the subscriber cannot read (another version, bad
// JSON, bad days, another city's id) still names its city by the channel and counts as a change of
// every day there.
func TestUnreadableMessageIsWholeCity(t *testing.T) {
	rdb := jobstest.StartRedis(t).Client(t)
	ctx := context.Background()
	f := follow(t, slotfeed.SubscriberConfig{Redis: rdb})
	next(t, f.live, "live")
	city := uuid.New()
	for _, payload := range []string{
		`{"v":2,"tenant":"` + city.String() + `","days":[{"location":"` + uuid.NewString() + `","from":"2026-12-01","to":"2026-12-01"}]}`,
		`not json`,
		`{"v":1,"tenant":"` + city.String() + `","days":[{"location":"` + uuid.NewString() + `","from":"2026-12-02","to":"2026-12-01"}]}`,
		`{"v":1,"tenant":"` + uuid.NewString() + `","days":[{"location":"` + uuid.NewString() + `","from":"2026-12-01","to":"2026-12-01"}]}`,
	} {
		if err := rdb.Publish(ctx, slotfeed.Channel(city), payload).Err(); err != nil {
			t.Fatal(err)
		}
		if got := next(t, f.changes, "change"); got.Tenant != city || !got.All() {
			t.Errorf("%s → %+v, want every day of %s", payload, got, city)
		}
	}
	if err := rdb.Publish(ctx, slotfeed.ChannelPrefix+"not-a-city", "{}").Err(); err != nil {
		t.Fatal(err)
	}
	pub, _ := slotfeed.NewPublisher(slotfeed.PublisherConfig{Redis: rdb})
	pub.Announce(ctx, slotfeed.Change{Tenant: city})
	if got := next(t, f.changes, "change"); got.Tenant != city {
		t.Errorf("after a message on a channel naming no city, received %+v; want it skipped", got)
	}
}

// TestSubscriptionLostAndBack: when Redis goes away the subscriber reports it at once
// (OnLive(false)), and when Redis is back it subscribes again by itself and reports OnLive(true);
// changes published after that arrive.
func TestSubscriptionLostAndBack(t *testing.T) {
	srv := jobstest.StartRedis(t)
	rdb := srv.Client(t)
	f := follow(t, slotfeed.SubscriberConfig{Redis: rdb})
	if !next(t, f.live, "live") {
		t.Fatal("first OnLive = false")
	}
	srv.Stop()
	if next(t, f.live, "OnLive after Redis stopped") {
		t.Fatal("OnLive(true) after Redis stopped, want false")
	}
	pub, _ := slotfeed.NewPublisher(slotfeed.PublisherConfig{Redis: rdb, Timeout: 200 * time.Millisecond})
	if err := pub.Publish(context.Background(), slotfeed.Change{Tenant: uuid.New()}); err == nil {
		t.Error("Publish with Redis down = nil, want an error")
	}
	srv.Start()
	for !next(t, f.live, "OnLive after Redis came back") {
	} // failed attempts while it restarted report false again
	city := uuid.New()
	if err := pub.Publish(context.Background(), slotfeed.Change{Tenant: city}); err != nil {
		t.Fatal(err)
	}
	if got := next(t, f.changes, "change after the restart"); got.Tenant != city {
		t.Errorf("received %+v, want a change of %s", got, city)
	}
}

// TestSilentConnection: a subscription whose connection stops answering (the server paused, no
// error on the socket) is reported lost after the ping goes unanswered.
func TestSilentConnection(t *testing.T) {
	srv := jobstest.StartRedis(t)
	rdb := srv.Client(t)
	f := follow(t, slotfeed.SubscriberConfig{Redis: rdb, Interval: 100 * time.Millisecond})
	next(t, f.live, "live")
	ctl := srv.Client(t)
	// CLIENT PAUSE stops the server answering every client (this one too) for the given time.
	if err := ctl.Do(context.Background(), "CLIENT", "PAUSE", "3000", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if next(t, f.live, "OnLive while the server is paused") {
		t.Fatal("OnLive(true) while paused, want false")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a silent subscription was noticed after %v, want within a few pings", d)
	}
}
