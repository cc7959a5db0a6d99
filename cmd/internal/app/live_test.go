package app

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/booking/slotfeed"
	"github.com/madoguchi/madoguchi/jobs/jobstest"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// TestLiveScreensWithoutCache: with the availability cache off (AvailabilityCacheTTL 0) the web
// process still follows the slot change feed, on a subscriber of its own, and a published change
// reaches the live screens' hub.
func TestLiveScreensWithoutCache(t *testing.T) {
	d := tenanttest.NewDB(t)
	r := jobstest.StartRedis(t)
	a, err := Open(context.Background(), Options{DatabaseURL: d.AppDSN, RedisURL: "redis://" + r.Addr() + "/0", DBMaxConns: 4,
		SecretKey: bookingtest.Key, Registry: prometheus.NewRegistry(), Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	if _, err := a.Web(WebOptions{Log: slog.New(slog.DiscardHandler), BaseDomain: "localhost"}); err != nil {
		t.Fatal(err)
	}
	if a.SlotCache != nil || a.Live == nil {
		t.Fatalf("SlotCache %v, Live %v: want no cache and a hub", a.SlotCache, a.Live)
	}
	var renders atomic.Int64
	feed := a.Live.Feed("test", func(context.Context, uuid.UUID, string) ([]byte, error) {
		return fmt.Appendf(nil, "render %d", renders.Add(1)), nil
	})
	city := uuid.New()
	srv := fiber.New(fiber.Config{DisableStartupMessage: true})
	srv.Get("/", func(c *fiber.Ctx) error { return feed.Stream(c, city, "k") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Listener(ln) }()
	t.Cleanup(func() { _ = srv.ShutdownWithTimeout(time.Second) })
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := make(chan string, 100)
	go func() {
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				close(got)
				return
			}
			if s, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
				got <- s
			}
		}
	}()
	if s := <-got; s != "render 1" {
		t.Fatalf("first update %q", s)
	}
	// A message published before the subscription is confirmed is lost: publish until one arrives.
	for i := 0; ; i++ {
		if err := a.SlotFeed.Publish(context.Background(), slotfeed.Change{Tenant: city}); err != nil {
			t.Fatal(err)
		}
		select {
		case s, ok := <-got:
			if !ok {
				t.Fatal("stream ended")
			}
			if !strings.HasPrefix(s, "render ") || s == "render 1" {
				t.Fatalf("update %q", s)
			}
			// That update came from a change or from the subscription's confirmation: either way
			// the subscription is live now, and the next change must arrive.
			for quiet := false; !quiet; {
				select {
				case <-got:
				case <-time.After(300 * time.Millisecond):
					quiet = true
				}
			}
			n := renders.Load()
			if err := a.SlotFeed.Publish(context.Background(), slotfeed.Change{Tenant: city}); err != nil {
				t.Fatal(err)
			}
			select {
			case s := <-got:
				if s != fmt.Sprintf("render %d", n+1) {
					t.Errorf("after the change %q, want render %d", s, n+1)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("a change on a live subscription did not reach the stream")
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		if i == 200 {
			t.Fatal("the feed never reached the hub")
		}
	}
}
