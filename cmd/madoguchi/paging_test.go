package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/madoguchi/madoguchi/jobs/mailsink"
)

// TestWorkerPagesWhileDatabasesDown: `madoguchi worker` started while neither PostgreSQL nor
// Redis answers stays up and, once PostgreSQL has failed for MADOGUCHI_PAGING_DEGRADED_AFTER,
// mails the fallback contact (at the test SMTP server) and asks the phone provider (a local
// stand-in) to call them.
func TestWorkerPagesWhileDatabasesDown(t *testing.T) {
	old := pagingTick
	pagingTick = 200 * time.Millisecond
	defer func() { pagingTick = old }()
	sink, err := mailsink.Start("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	var mu sync.Mutex
	var calls []string
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "AC1" || p != "provider-token" || !strings.HasSuffix(r.URL.Path, "/Accounts/AC1/Calls.json") {
			w.WriteHeader(401)
			return
		}
		_ = r.ParseForm()
		mu.Lock()
		calls = append(calls, r.PostForm.Get("To"))
		mu.Unlock()
		w.WriteHeader(201)
		_, _ = w.Write([]byte(`{"sid":"CA1"}`))
	}))
	defer provider.Close()
	env := map[string]string{
		"MADOGUCHI_DATABASE_URL":             "postgres://app@" + freePort(t) + "/madoguchi?sslmode=disable&connect_timeout=2",
		"MADOGUCHI_REDIS_URL":                "redis://" + freePort(t) + "/0",
		"MADOGUCHI_SECRET_KEY":               strings.Repeat("1f", 32),
		"MADOGUCHI_SMTP_URL":                 "smtp://" + sink.Addr(),
		"MADOGUCHI_INTERNAL_ADDR":            "127.0.0.1:0",
		"MADOGUCHI_SHUTDOWN_TIMEOUT":         "2s",
		"MADOGUCHI_PAGING_FALLBACK_CONTACTS": "当番A <a@example.jp> +819011110001",
		"MADOGUCHI_PAGING_DEGRADED_AFTER":    "1s",
		"MADOGUCHI_PHONE_API_URL":            provider.URL,
		"MADOGUCHI_PHONE_ACCOUNT":            "AC1",
		"MADOGUCHI_PHONE_TOKEN":              "provider-token",
		"MADOGUCHI_PHONE_FROM":               "+81300000000",
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"worker"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("worker did not stop")
		}
	}()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("worker exited while the databases are down: %v", err)
		default:
		}
		mu.Lock()
		n := len(calls)
		mu.Unlock()
		if sink.Count() >= 1 && n >= 1 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "a@example.jp" || !strings.Contains(string(msgs[0].Data), "Auto-Submitted: auto-generated") {
		t.Fatalf("mails = %d", len(msgs))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 1 || calls[0] != "+819011110001" {
		t.Errorf("calls = %v, want one to the fallback contact", calls)
	}
}
