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
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// TestWorkerCommand runs `madoguchi worker` as configured from the environment: a booking's
// confirmation reaches the SMTP server named by MADOGUCHI_SMTP_URL, with a link that carries
// the demo port for BASE_DOMAIN=localhost; SIGTERM stops the worker cleanly.
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
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"worker"}, getenv, io.Discard, io.Discard) }()

	tn := tenanttest.MustCreateTenant(t, d.App)
	svc := bookingtest.Service(d.App, nil)
	loc := bookingtest.MustLocation(t, svc, tn, "本庁", 3)
	card := bookingtest.MustCard(t, svc, tn, "0101")
	slot := bookingtest.FirstSlot(t, svc, tn, loc, time.Now())
	if _, err := svc.Reserve(context.Background(), tn, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{card.ID},
		Email: "taro@example.jp", Actor: booking.Actor{Channel: booking.ChannelWeb}}); err != nil {
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
