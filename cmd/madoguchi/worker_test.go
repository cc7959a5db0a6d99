package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/jobs/jobstest"
	"github.com/madoguchi/madoguchi/jobs/mailsink"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// openAppAt opens the App from the environment as `madoguchi worker` does (LoadConfig, OpenApp),
// with its services on the clock now: the tests run at tenanttest.Now() (MADOGUCHI_TEST_NOW).
// The App is closed when the test ends.
func openAppAt(t *testing.T, getenv func(string) string, now func() time.Time) *App {
	t.Helper()
	cfg, err := LoadConfig(getenv)
	if err != nil {
		t.Fatal(err)
	}
	a, err := OpenApp(context.Background(), cfg, newLogger(cfg.LogFormat, io.Discard), now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// TestClockCanary: under MADOGUCHI_TEST_NOW the clock of these tests, the fixtures' booking
// service and the worker App's services stand at that moment.
func TestClockCanary(t *testing.T) {
	d := tenanttest.NewDB(t)
	clock := tenanttest.NewClock()
	tenanttest.CheckClock(t, "cmd test clock", clock.Now)
	tenanttest.CheckClock(t, "bookingtest service", bookingtest.Service(d.App, nil).Now)
	a := openAppAt(t, testEnv(t, d, ":0"), clock.Now)
	tenanttest.CheckClock(t, "worker app", a.Booking.Now)
	clock.Add(time.Hour)
	if got, want := a.Booking.Now(), clock.Now(); !got.Equal(want) {
		t.Errorf("the worker app's clock = %s, want the test clock's %s", got, want)
	}
}

// TestWorkerCommand runs the worker as `madoguchi worker` does, configured from the environment
// (openAppAt, runWorker) and on the test clock: a booking's confirmation reaches the SMTP server
// named by MADOGUCHI_SMTP_URL, with a link that carries the demo port for BASE_DOMAIN=localhost;
// SIGTERM stops the worker cleanly.
func TestWorkerCommand(t *testing.T) {
	d := tenanttest.NewDB(t)
	rdb := jobstest.StartRedis(t)
	sink, err := mailsink.Start("127.0.0.1:0", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	base := testEnv(t, d, "127.0.0.1:18080")
	getenv := func(k string) string {
		switch k {
		case "MADOGUCHI_REDIS_URL":
			return "redis://" + rdb.Addr() + "/0"
		case "MADOGUCHI_SMTP_URL":
			return "smtp://" + sink.Addr()
		}
		return base(k)
	}
	clock := tenanttest.NewClock()
	a := openAppAt(t, getenv, clock.Now)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runWorker(ctx, a) }()

	tn := tenanttest.MustCreateTenant(t, d.App)
	svc := bookingtest.Service(d.App, clock.Now)
	loc := bookingtest.MustLocation(t, svc, tn, "本庁", 3)
	card := bookingtest.MustCard(t, svc, tn, "0101")
	slot := bookingtest.FirstSlot(t, svc, tn, loc, clock.Now())
	if _, err := svc.Reserve(context.Background(), tn, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{card.ID},
		Email: "taro@example.jp", Actor: tenant.Citizen("")}); err != nil {
		t.Fatal(err)
	}
	if !sink.Wait(1, 20*time.Second) {
		t.Fatal("no confirmation mail from the worker")
	}
	msg := sink.Messages()[0]
	if len(msg.To) != 1 || msg.To[0] != "taro@example.jp" || !strings.Contains(string(msg.Data), "Message-ID: <") {
		t.Errorf("message to %v:\n%s", msg.To, msg.Data)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("worker returned %v after SIGTERM", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("worker did not stop within 15s of SIGTERM")
	}
}

func TestMailEnv(t *testing.T) {
	for _, c := range []struct {
		domain, listen, port string
	}{
		{"localhost", ":8080", "8080"},
		{"localhost", "127.0.0.1:0", ""},
		{"example.lg.jp", ":8080", ""},
	} {
		env := mailEnv(&Config{BaseDomain: c.domain, Listen: c.listen})
		if env.BaseDomain != c.domain || env.Port != c.port {
			t.Errorf("mailEnv(%s, %s) = %+v, want port %q", c.domain, c.listen, env, c.port)
		}
	}
}
