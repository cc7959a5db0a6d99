package paging

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/madoguchi/madoguchi/jobs/jobstest"
	"github.com/madoguchi/madoguchi/tenant"
)

// kinds lists a page's timeline as its event kinds.
func kinds(t *testing.T, svc *Service, id uuid.UUID) []string {
	t.Helper()
	evs, err := svc.Timeline(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

func hasAll(got []string, want ...string) bool {
	seen := map[string]bool{}
	for _, g := range got {
		seen[g] = true
	}
	for _, w := range want {
		if !seen[w] {
			return false
		}
	}
	return true
}

func pageByKey(t *testing.T, svc *Service, key string) *Page {
	t.Helper()
	ps, err := svc.Pages(context.Background(), 50)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		if ps[i].DedupKey == key {
			return &ps[i]
		}
	}
	t.Fatalf("no page %s among %d", key, len(ps))
	return nil
}

// Requirement 10 (PostgreSQL): PostgreSQL (a throwaway cluster of the test's own) stops and the
// worker restarts during the outage, its pool opened without PostgreSQL. Within DegradedAfter
// plus one tick the contact from configuration gets a mail at the SMTP server and a call request
// at the provider; an alert Alertmanager delivers meanwhile is answered 503 and paged from
// memory too. The mail link (GET: a confirmation page, POST: the ack) and the key 1 acknowledge
// without the database; nothing more is sent. PostgreSQL back: the outage's page is in the
// table, resolved, its timeline holding the degraded events, and the all-clear goes out; the
// alert's page, stored by Alertmanager's next delivery, is acknowledged with its timeline.
func TestRequirement10PagesWhilePostgresIsDown(t *testing.T) {
	pg := jobstest.StartPostgres(t)
	t.Setenv("MADOGUCHI_TEST_POSTGRES_URL", pg.URL)
	rd := jobstest.StartRedis(t)
	fallback := []Contact{{Name: "当番A（設定）", Email: "a@example.jp", Phone: "+819011110001", Locale: "ja"}}
	w := newWorld(t, Config{Fallback: fallback, DegradedAfter: 30 * time.Second, FallbackEvery: 5 * time.Minute, Redis: rd.Client(t)})
	w.policy(t)
	ctx := context.Background()

	pg.Stop()
	// The worker restarts during the outage: a new process, its pool opened lazily.
	lazy, err := tenant.OpenDBLazy(w.db.AppDSN, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer lazy.Close()
	worker := New(lazy, w.cfg)
	w.use(worker)
	if err := worker.Tick(ctx); err != nil { // t=0: PostgreSQL fails, not yet paged
		t.Fatal(err)
	}
	if w.sink.Count() != 0 || len(w.phone.Calls()) != 0 {
		t.Fatal("paged before DegradedAfter")
	}
	w.clock.Add(30 * time.Second)
	if err := worker.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if !worker.Degraded() {
		t.Fatal("not degraded after 30 s without PostgreSQL")
	}
	reg := prometheus.NewRegistry()
	if err := worker.Register(reg); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if body := rec.Body.String(); !strings.Contains(body, "madoguchi_escalation_degraded_pages 1") || !strings.Contains(body, "madoguchi_escalation_store_up 0") {
		t.Errorf("metrics during the outage:\n%s", body)
	}
	if s := w.subjects(t, "a@example.jp"); len(s) != 1 || !strings.Contains(s[0], "PostgreSQL") {
		t.Fatalf("mail during the outage: %q", s)
	}
	if calls := w.phone.Calls(); len(calls) != 1 || calls[0].To != "+819011110001" {
		t.Fatalf("calls during the outage: %+v", calls)
	}
	dbLink := w.ackLink(t, "a@example.jp")

	// Alertmanager delivers an alert: 503 (not stored), paged from memory at once.
	if st, body := w.post(t, amToken, fixture("firing")); st != 503 {
		t.Fatalf("receiver without PostgreSQL = %d %s, want 503", st, body)
	}
	if s := w.subjects(t, "a@example.jp"); len(s) != 2 || !strings.Contains(s[1], "住民予約のページが応答しません") {
		t.Fatalf("alert mail during the outage: %q", s)
	}
	calls := w.phone.Calls()
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2", len(calls))
	}
	// A retry of the same delivery sends nothing new.
	w.post(t, amToken, fixture("firing"))
	if w.sink.Count() != 2 || len(w.phone.Calls()) != 2 {
		t.Fatalf("the retried delivery paged again: %d mails, %d calls", w.sink.Count(), len(w.phone.Calls()))
	}

	// The mail link: GET shows the confirmation only; POST acknowledges, without the database.
	resp, err := http.Get(dbLink)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `<form method="post">`) || !strings.Contains(string(b), "PostgreSQL") {
		t.Fatalf("GET link during the outage = %d\n%s", resp.StatusCode, b)
	}
	resp, err = http.PostForm(dbLink, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "対応を受け付けました") {
		t.Fatalf("POST link during the outage:\n%s", b)
	}
	// The key 1 on the alert's call (signed callback).
	if st := w.phone.press(t, calls[1], "1", phoneToken); st != 200 {
		t.Fatalf("key 1 during the outage = %d", st)
	}
	for range 3 {
		w.clock.Add(5 * time.Minute)
		if err := worker.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if w.sink.Count() != 2 || len(w.phone.Calls()) != 2 {
		t.Fatalf("paged after the acks: %d mails, %d calls", w.sink.Count(), len(w.phone.Calls()))
	}

	// PostgreSQL is back: the next tick writes the memory pages back.
	pg.Start()
	w.clock.Add(time.Minute)
	if err := worker.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if worker.Degraded() {
		t.Fatal("still degraded with PostgreSQL back")
	}
	p := pageByKey(t, worker, postgresKey)
	if p.State != Resolved || p.AckedBy != "当番A（設定）" || p.AckedVia != ViaMail {
		t.Errorf("outage page = %s acked by %q via %q", p.State, p.AckedBy, p.AckedVia)
	}
	if k := kinds(t, worker, p.ID); !hasAll(k, "triggered", "degraded_triggered", "degraded_notify_sent", "degraded_acknowledged", "degraded_reconciled", "resolved") {
		t.Errorf("outage page timeline = %v", k)
	}
	if s := w.subjects(t, "a@example.jp"); len(s) != 3 || !strings.HasPrefix(s[2], "【復旧】") {
		t.Errorf("after recovery A's mail: %q", s)
	}
	// Alertmanager's next delivery is stored; the page is the acknowledged one.
	if st, body := w.post(t, amToken, fixture("firing")); st != 200 {
		t.Fatalf("receiver after recovery = %d %s", st, body)
	}
	ap := pageByKey(t, worker, "alertmanager:"+`{}/{severity="critical"}:{alertname="ProbeFailure"}`)
	if ap.State != Acknowledged || ap.AckedVia != ViaPhone {
		t.Errorf("alert page = %s via %s, want acknowledged by phone", ap.State, ap.AckedVia)
	}
	if k := kinds(t, worker, ap.ID); !hasAll(k, "degraded_triggered", "degraded_notify_sent", "degraded_acknowledged", "degraded_reconciled") {
		t.Errorf("alert page timeline = %v", k)
	}
	w.clock.Add(10 * time.Minute)
	if err := worker.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(w.phone.Calls()); n != 2 {
		t.Errorf("%d calls after recovery, want 2 (both acknowledged)", n)
	}
}

// Requirement 10 (Redis): Redis (a throwaway server) stops and the worker restarts during the
// outage. The chain needs PostgreSQL only: after DegradedAfter plus one tick a page for Redis
// opens through the normal path and calls and mails the policy's first contact; an alert is
// stored (200) as usual; the mail link acknowledges; Redis back resolves the page with the
// all-clear, the timeline holding the outage.
func TestRequirement10PagesWhileRedisIsDown(t *testing.T) {
	rd := jobstest.StartRedis(t)
	w := newWorld(t, Config{DegradedAfter: 30 * time.Second, Redis: rd.Client(t)})
	w.policy(t)

	rd.Stop()
	worker := New(w.db.App, w.cfg) // restarted during the outage
	w.use(worker)
	w.tick(t)
	if w.sink.Count() != 0 {
		t.Fatal("paged before DegradedAfter")
	}
	w.clock.Add(30 * time.Second)
	w.tick(t)
	p := pageByKey(t, worker, redisKey)
	if p.State != Triggered || p.Source != "watchdog" {
		t.Fatalf("redis page = %s from %s", p.State, p.Source)
	}
	if s := w.subjects(t, w.a.Email); len(s) != 1 || !strings.Contains(s[0], "Redis") {
		t.Fatalf("mail: %q", s)
	}
	if calls := w.phone.Calls(); len(calls) != 1 || calls[0].To != w.a.Phone {
		t.Fatalf("calls: %+v", calls)
	}
	if st, body := w.post(t, amToken, fixture("firing")); st != 200 {
		t.Fatalf("an alert during the Redis outage = %d %s, want 200 (stored)", st, body)
	}
	resp, err := http.PostForm(w.ackLink(t, w.a.Email), url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if p := pageByKey(t, worker, redisKey); p.State != Acknowledged {
		t.Fatalf("redis page after the ack: %s", p.State)
	}
	rd.Start()
	w.clock.Add(time.Minute)
	w.tick(t)
	p = pageByKey(t, worker, redisKey)
	if p.State != Resolved {
		t.Fatalf("redis page with Redis back: %s", p.State)
	}
	if k := kinds(t, worker, p.ID); !hasAll(k, "triggered", "notified", "notify_sent", "acknowledged", "resolved") {
		t.Errorf("timeline = %v", k)
	}
	w.tick(t)
	var clear int
	for _, s := range w.subjects(t, w.a.Email) {
		if strings.HasPrefix(s, "【復旧】") && strings.Contains(s, "Redis") {
			clear++
		}
	}
	if clear != 1 {
		t.Errorf("%d all-clear mails for Redis, want 1", clear)
	}
}
