package paging

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// Requirement 1: POST /api/alertmanager with the bearer token accepts the exact v4 payload
// (unknown fields ignored); malformed JSON → 400 with a JSON error; a bad token → 401; the
// database unreachable → 503, so Alertmanager retries until the alert is stored.
func TestRequirement01ReceiverContract(t *testing.T) {
	w := newWorld(t, Config{})
	w.policy(t)
	for _, c := range []struct {
		name, tok, body string
		status          int
		contains        string
	}{
		{"no token", "", fixture("firing"), 401, `"error"`},
		{"wrong token", "nope", fixture("firing"), 401, `"error"`},
		{"malformed JSON", amToken, `{"version": "4", "alerts": [`, 400, `"error":"malformed JSON"`},
		{"not version 4", amToken, strings.Replace(fixture("firing"), `"version": "4"`, `"version": "3"`, 1), 400, `"error"`},
		{"the documented payload", amToken, fixture("firing"), 200, `"stored"`},
	} {
		st, body := w.post(t, c.tok, c.body)
		if st != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("%s: %d %s, want %d with %s", c.name, st, body, c.status, c.contains)
		}
	}
	p := w.onlyPage(t)
	if p.State != Triggered || p.Title != "ProbeFailure: 住民予約のページが応答しません" || p.Snapshot.Name != "default" {
		t.Errorf("page = %+v", p)
	}

	// PostgreSQL unreachable: nothing listens on port 1.
	cfg, err := pgx.ParseConfig("postgres://madoguchi@127.0.0.1:1/none?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	dead := bun.NewDB(stdlib.OpenDB(*cfg), pgdialect.New())
	defer dead.Close()
	srv := httptest.NewServer(New(dead, Config{Now: w.clock.Now}).Receiver(amToken))
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/api/alertmanager", strings.NewReader(fixture("firing")))
	req.Header.Set("Authorization", "Bearer "+amToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(b), `"error"`) {
		t.Errorf("receiver without PostgreSQL = %d %s, want 503", resp.StatusCode, b)
	}
}

// Requirement 2: the same payload posted twice (HA Alertmanagers) makes one page and one round
// of notifications: one mail and one call.
func TestRequirement02DuplicateDeliveryOnePage(t *testing.T) {
	w := newWorld(t, Config{})
	w.policy(t)
	w.fire(t)
	w.fire(t)
	w.tick(t)
	w.fire(t)
	w.tick(t)
	w.onlyPage(t)
	if n := w.sink.Count(); n != 1 {
		t.Errorf("%d mails, want 1", n)
	}
	if calls := w.phone.Calls(); len(calls) != 1 || calls[0].To != w.a.Phone {
		t.Errorf("calls = %+v, want one to A", calls)
	}
}

// Requirement 3: a resolved alert for the open fingerprint resolves the page, no notification
// follows, and everyone notified gets the all-clear.
func TestRequirement03ResolveStopsAndSendsAllClear(t *testing.T) {
	w := newWorld(t, Config{})
	w.policy(t)
	w.fire(t)
	w.tick(t)
	w.clock.Add(time.Second)
	if st, body := w.post(t, amToken, fixture("resolved")); st != 200 {
		t.Fatalf("resolved = %d %s", st, body)
	}
	if p := w.onlyPage(t); p.State != Resolved || p.ResolvedBy != "alertmanager" {
		t.Fatalf("page after resolve: %s by %q", p.State, p.ResolvedBy)
	}
	w.tick(t)
	for range 12 {
		w.clock.Add(time.Minute)
		w.tick(t)
	}
	want := []string{"当番A/mail/notify", "当番A/phone/notify", "当番A/mail/all_clear"}
	if got := w.sent(t); !reflect.DeepEqual(got, want) {
		t.Errorf("sent = %v, want %v", got, want)
	}
	if s := w.subjects(t, w.a.Email); len(s) != 2 || !strings.HasPrefix(s[1], "【復旧】") {
		t.Errorf("A's subjects = %q", s)
	}
	if len(w.subjects(t, w.b.Email)) != 0 {
		t.Error("B, never notified, got mail")
	}
}

// Requirement 4: policy [A every 2 min, escalate after 5; B likewise] without an ack: A at
// t=0, 2, 4; B at 5, 7, 9; then A again — loop after loop, no cap.
func TestRequirement04EscalationLoopsWithoutCap(t *testing.T) {
	w := newWorld(t, Config{})
	w.policy(t)
	w.fire(t)
	type hit struct {
		min  int
		name string
	}
	var got []hit
	seen := 0
	for m := 0; m <= 41; m++ {
		w.tick(t)
		calls := w.phone.Calls()
		for _, c := range calls[seen:] {
			name := map[string]string{w.a.Phone: "A", w.b.Phone: "B"}[c.To]
			got = append(got, hit{m, name})
		}
		seen = len(calls)
		w.clock.Add(time.Minute)
	}
	var want []hit
	for loop := 0; loop < 4; loop++ { // 4 loops in 41 minutes: no cap
		base := loop * 10
		for _, m := range []int{0, 2, 4} {
			want = append(want, hit{base + m, "A"})
		}
		for _, m := range []int{5, 7, 9} {
			want = append(want, hit{base + m, "B"})
		}
	}
	want = append(want, hit{40, "A"})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("calls (minute, contact) =\n%v\nwant\n%v", got, want)
	}
	if n := w.sink.Count(); n != len(want) {
		t.Errorf("%d mails, want %d (one per call)", n, len(want))
	}
	if p := w.onlyPage(t); p.Loop != 4 {
		t.Errorf("loop = %d, want 4", p.Loop)
	}
}

// Requirement 4 (rate limit): steps that share a person never call them more often than the
// per-contact limit.
func TestRequirement04PerContactRateLimit(t *testing.T) {
	w := newWorld(t, Config{ContactMinInterval: 5 * time.Minute})
	every := Duration(time.Minute)
	w.policy(t,
		Step{ContactIDs: []uuid.UUID{w.a.ID}, Channels: []string{ChannelPhone}, NotifyEvery: every, EscalateAfter: every},
		Step{ContactIDs: []uuid.UUID{w.a.ID}, Channels: []string{ChannelPhone}, NotifyEvery: every, EscalateAfter: every})
	w.fire(t)
	var minutes []int
	seen := 0
	for m := 0; m <= 10; m++ {
		w.tick(t)
		if n := len(w.phone.Calls()); n > seen {
			minutes = append(minutes, m)
			seen = n
		}
		w.clock.Add(time.Minute)
	}
	if !reflect.DeepEqual(minutes, []int{0, 5, 10}) {
		t.Errorf("A called at minutes %v, want [0 5 10] (one call per 5 minutes)", minutes)
	}
	var skipped int
	if err := w.db.App.NewRaw(`SELECT count(*) FROM notification_attempts WHERE status = 'skipped' AND error = 'rate limited'`).Scan(context.Background(), &skipped); err != nil {
		t.Fatal(err)
	}
	if skipped != 8 {
		t.Errorf("%d rate-limited rows, want 8", skipped)
	}
}

// Requirement 5a: a GET of the mail link only shows the confirmation page; the POST
// acknowledges, and nothing is sent after it.
func TestRequirement05AckByMailLinkPostOnly(t *testing.T) {
	w := newWorld(t, Config{})
	w.policy(t)
	w.fire(t)
	w.tick(t)
	link := w.ackLink(t, w.a.Email)
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `<form method="post">`) || !strings.Contains(string(b), "住民予約のページが応答しません") {
		t.Errorf("GET link = %d:\n%s", resp.StatusCode, b)
	}
	if p := w.onlyPage(t); p.State != Triggered {
		t.Fatalf("a GET acknowledged the page (%s)", p.State)
	}
	resp, err = http.PostForm(link, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "対応を受け付けました") {
		t.Errorf("POST link = %d:\n%s", resp.StatusCode, b)
	}
	p := w.onlyPage(t)
	if p.State != Acknowledged || p.AckedVia != ViaMail || p.AckedBy != "当番A" {
		t.Errorf("page = %s via %s by %s", p.State, p.AckedVia, p.AckedBy)
	}
	before := len(w.sent(t))
	for range 15 {
		w.clock.Add(time.Minute)
		w.tick(t)
	}
	if after := len(w.sent(t)); after != before {
		t.Errorf("%d notifications after the ack", after-before)
	}
}

// Requirement 5b: the ops console acknowledges (any generation).
func TestRequirement05AckFromConsole(t *testing.T) {
	w := newWorld(t, Config{})
	w.policy(t)
	w.fire(t)
	w.tick(t)
	p := w.onlyPage(t)
	ok, err := w.svc.Acknowledge(context.Background(), p.ID, 0, "ops.yamada", ViaConsole)
	if err != nil || !ok {
		t.Fatalf("Acknowledge = %v, %v", ok, err)
	}
	w.clock.Add(10 * time.Minute)
	w.tick(t)
	if n := len(w.phone.Calls()); n != 1 {
		t.Errorf("%d calls, want 1 (none after the ack)", n)
	}
}

// Requirement 5c: the key 1 on the call, confirmed by a correctly signed callback,
// acknowledges; a forged signature gets 403 and changes nothing; another key does not ack.
func TestRequirement05AckByKeyPress(t *testing.T) {
	w := newWorld(t, Config{})
	w.policy(t)
	w.fire(t)
	w.tick(t)
	c := w.phone.Calls()[0]
	if st := w.phone.press(t, c, "1", "not-the-provider-token"); st != 403 {
		t.Errorf("forged callback = %d, want 403", st)
	}
	if st := w.phone.press(t, call{To: c.To, Action: c.Action + "x"}, "1", phoneToken); st != 403 {
		t.Errorf("callback with a tampered token = %d, want 403", st)
	}
	if st := w.phone.press(t, c, "2", phoneToken); st != 200 {
		t.Errorf("key 2 = %d", st)
	}
	if p := w.onlyPage(t); p.State != Triggered {
		t.Fatalf("page %s after a forged callback or key 2", p.State)
	}
	if st := w.phone.press(t, c, "1", phoneToken); st != 200 {
		t.Errorf("key 1 = %d", st)
	}
	if p := w.onlyPage(t); p.State != Acknowledged || p.AckedVia != ViaPhone {
		t.Errorf("page = %s via %s, want acknowledged by phone", p.State, p.AckedVia)
	}
}

// Requirement 5d: an expired link shows a friendly page and does not acknowledge.
func TestRequirement05ExpiredTokenFriendlyPage(t *testing.T) {
	w := newWorld(t, Config{AckTTL: time.Hour})
	w.policy(t)
	w.fire(t)
	w.tick(t)
	link := w.ackLink(t, w.a.Email)
	w.clock.Add(2 * time.Hour)
	resp, err := http.PostForm(link, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 410 || !strings.Contains(string(b), "有効期限が切れています") {
		t.Errorf("expired POST = %d:\n%s", resp.StatusCode, b)
	}
	if p := w.onlyPage(t); p.State != Triggered {
		t.Errorf("expired token acknowledged (%s)", p.State)
	}
}

// Requirement 6: an ack for a resolved page does not reopen it.
func TestRequirement06AckAfterResolveDoesNotReopen(t *testing.T) {
	w := newWorld(t, Config{})
	w.policy(t)
	w.fire(t)
	w.tick(t)
	link := w.ackLink(t, w.a.Email)
	w.post(t, amToken, fixture("resolved"))
	resp, err := http.PostForm(link, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "すでに対応済みか解消済みです") {
		t.Errorf("ack of a resolved page:\n%s", b)
	}
	if p := w.onlyPage(t); p.State != Resolved || p.AckedAt != nil {
		t.Errorf("page = %s acked %v", p.State, p.AckedAt)
	}
	// The same alert firing again later is a new page.
	w.clock.Add(time.Minute)
	w.post(t, amToken, strings.ReplaceAll(fixture("firing"), "2023-02-06T13:08:45.828Z", "2023-02-06T14:00:00Z"))
	ps, _ := w.svc.Pages(context.Background(), 10)
	if len(ps) != 2 || ps[0].State != Triggered {
		t.Errorf("re-fire after resolve: %d pages, newest %s", len(ps), ps[0].State)
	}
}

// Requirement 8: editing the policy mid-escalation does not change the running page.
func TestRequirement08PolicyEditDoesNotChangeRunningPage(t *testing.T) {
	w := newWorld(t, Config{})
	w.policy(t)
	w.fire(t)
	w.tick(t)
	w.policy(t, Step{ContactIDs: []uuid.UUID{w.b.ID}, Channels: []string{ChannelMail}, NotifyEvery: Duration(time.Minute), EscalateAfter: Duration(time.Hour)})
	w.clock.Add(2 * time.Minute)
	w.tick(t)
	calls := w.phone.Calls()
	if len(calls) != 2 || calls[1].To != w.a.Phone {
		t.Errorf("calls after the edit = %+v, want A called again (the snapshot)", calls)
	}
	if p := w.onlyPage(t); p.Snapshot.Version != 1 {
		t.Errorf("snapshot version = %d, want 1", p.Snapshot.Version)
	}
}

// Requirement 9: work of an older generation is harmless: notifications written before an ack
// are not sent after it, and an old token's ack changes nothing.
func TestRequirement09StaleGenerationIgnored(t *testing.T) {
	w := newWorld(t, Config{})
	w.policy(t)
	w.fire(t)
	ctx := context.Background()
	if err := w.svc.advance(ctx); err != nil { // written, not yet sent
		t.Fatal(err)
	}
	p := w.onlyPage(t)
	if ok, err := w.svc.Acknowledge(ctx, p.ID, 0, "ops.yamada", ViaConsole); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := w.svc.sendPending(ctx); err != nil {
		t.Fatal(err)
	}
	if w.sink.Count() != 0 || len(w.phone.Calls()) != 0 {
		t.Errorf("stale notifications sent: %d mails, %d calls", w.sink.Count(), len(w.phone.Calls()))
	}
	var stale int
	if err := w.db.App.NewRaw(`SELECT count(*) FROM notification_attempts WHERE status = 'stale'`).Scan(ctx, &stale); err != nil {
		t.Fatal(err)
	}
	if stale != 2 {
		t.Errorf("%d stale rows, want 2", stale)
	}
	if ok, err := w.svc.Acknowledge(ctx, p.ID, p.Generation, "old token", ViaMail); err != nil || ok {
		t.Errorf("ack with the old generation = %v, %v; want ignored", ok, err)
	}
}

// Requirement 12: the chain's metrics; the Watchdog heartbeat is recorded and opens no page.
func TestRequirement12Metrics(t *testing.T) {
	w := newWorld(t, Config{})
	w.policy(t)
	reg := prometheus.NewRegistry()
	if err := w.svc.Register(reg); err != nil {
		t.Fatal(err)
	}
	watchdog := strings.NewReplacer("ProbeFailure", WatchdogAlert, "1a30ba71cca2921f", "00000000watchdog").Replace(fixture("firing"))
	if st, _ := w.post(t, amToken, watchdog); st != 200 {
		t.Fatalf("watchdog = %d", st)
	}
	if ps, _ := w.svc.Pages(context.Background(), 10); len(ps) != 0 {
		t.Fatalf("the Watchdog opened a page")
	}
	w.fire(t)
	w.tick(t)
	w.clock.Add(90 * time.Second)
	if _, err := w.svc.Acknowledge(context.Background(), w.onlyPage(t).ID, 0, "ops", ViaConsole); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`madoguchi_escalation_pages{state="acknowledged"} 1`,
		`madoguchi_escalation_pages{state="triggered"} 0`,
		`madoguchi_escalation_notifications_total{channel="mail",result="sent"} 1`,
		`madoguchi_escalation_notifications_total{channel="phone",result="sent"} 1`,
		`madoguchi_escalation_time_to_ack_seconds_count 1`,
		`madoguchi_escalation_time_to_ack_seconds_bucket{le="120"} 1`,
		fmt.Sprintf(`madoguchi_watchdog_last_seen_timestamp_seconds %g`, float64(w.clock.Now().Add(-90*time.Second).Unix())),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
}

// Requirement 7: with an ack timeout, a page acknowledged and still open after it is triggered
// again from the first step, in a new generation (the old mail link acknowledges nothing); a
// fresh acknowledgement stops it again.
func TestRequirement07AckTimeout(t *testing.T) {
	w := newWorld(t, Config{AckTimeout: 30 * time.Minute})
	w.policy(t)
	w.fire(t)
	w.tick(t)
	oldLink := w.ackLink(t, w.a.Email)
	ctx := context.Background()
	if ok, err := w.svc.Acknowledge(ctx, w.onlyPage(t).ID, 0, "ops.yamada", ViaConsole); err != nil || !ok {
		t.Fatal(ok, err)
	}
	for range 29 {
		w.clock.Add(time.Minute)
		w.tick(t)
	}
	if n := len(w.phone.Calls()); n != 1 {
		t.Fatalf("%d calls within the ack timeout, want 1", n)
	}
	w.clock.Add(time.Minute) // 30 minutes after the ack
	w.tick(t)
	p := w.onlyPage(t)
	if p.State != Triggered || p.Step != 0 || p.AckedAt != nil {
		t.Fatalf("after the ack timeout: %s step %d acked %v", p.State, p.Step, p.AckedAt)
	}
	calls := w.phone.Calls()
	if len(calls) != 2 || calls[1].To != w.a.Phone {
		t.Fatalf("calls = %+v, want A called again at the timeout", calls)
	}
	evs, err := w.svc.Timeline(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	if !strings.Contains(strings.Join(kinds, " "), "acknowledged ack_timeout notified") {
		t.Errorf("timeline = %v", kinds)
	}
	// The link of the first round is of an older generation: it acknowledges nothing.
	resp, err := http.PostForm(oldLink, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if p := w.onlyPage(t); p.State != Triggered {
		t.Fatalf("an old link acknowledged the re-triggered page")
	}
	// The new round's link does; and the escalation goes on as before the ack otherwise.
	resp, err = http.PostForm(w.ackLink(t, w.a.Email), url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if p := w.onlyPage(t); p.State != Acknowledged || p.AckedVia != ViaMail {
		t.Fatalf("new link: %s via %s", p.State, p.AckedVia)
	}
	w.clock.Add(10 * time.Minute)
	w.tick(t)
	if n := len(w.phone.Calls()); n != 2 {
		t.Errorf("%d calls after the second ack, want 2", n)
	}

	// Without an ack timeout (the default) an acknowledgement holds.
	w2 := newWorld(t, Config{})
	w2.policy(t)
	w2.fire(t)
	w2.tick(t)
	if ok, err := w2.svc.Acknowledge(ctx, w2.onlyPage(t).ID, 0, "ops", ViaConsole); err != nil || !ok {
		t.Fatal(ok, err)
	}
	w2.clock.Add(48 * time.Hour)
	w2.tick(t)
	if p := w2.onlyPage(t); p.State != Acknowledged || len(w2.phone.Calls()) != 1 {
		t.Errorf("without a timeout: %s, %d calls", p.State, len(w2.phone.Calls()))
	}
}

// Requirement 11: the Watchdog heartbeat missing for longer than the window opens a page (once,
// however many ticks and processes), which pages like any other; the heartbeat back resolves it
// with the all-clear. Before the first heartbeat nothing is paged.
func TestRequirement11WatchdogSilencePages(t *testing.T) {
	w := newWorld(t, Config{WatchdogWindow: 10 * time.Minute})
	w.policy(t)
	w.tick(t)
	w.clock.Add(time.Hour)
	w.tick(t)
	if ps, _ := w.svc.Pages(context.Background(), 10); len(ps) != 0 {
		t.Fatalf("%d pages before any heartbeat", len(ps))
	}
	heartbeat := func() {
		t.Helper()
		wd := strings.NewReplacer("ProbeFailure", WatchdogAlert, "1a30ba71cca2921f", "00000000watchdog").Replace(fixture("firing"))
		if st, body := w.post(t, amToken, wd); st != 200 {
			t.Fatalf("watchdog = %d %s", st, body)
		}
	}
	// Alertmanager repeats the Watchdog every few minutes: no page.
	for range 6 {
		heartbeat()
		w.clock.Add(5 * time.Minute)
		w.tick(t)
	}
	if ps, _ := w.svc.Pages(context.Background(), 10); len(ps) != 0 {
		t.Fatalf("%d pages while the heartbeat arrives", len(ps))
	}
	// Silence: 10 minutes is still inside the window; past it, a page, and A is called.
	w.clock.Add(5 * time.Minute)
	w.tick(t)
	if ps, _ := w.svc.Pages(context.Background(), 10); len(ps) != 0 {
		t.Fatalf("paged inside the window")
	}
	w.clock.Add(time.Minute)
	w.tick(t)
	other := New(w.db.App, w.svc.cfg) // a second worker ticking too
	if err := other.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := w.onlyPage(t)
	if p.Source != "watchdog" || p.State != Triggered || !strings.HasPrefix(p.Title, "Watchdog") {
		t.Fatalf("page = %s %s %q", p.Source, p.State, p.Title)
	}
	if calls := w.phone.Calls(); len(calls) != 1 || calls[0].To != w.a.Phone {
		t.Fatalf("calls = %+v, want A", calls)
	}
	if s := w.subjects(t, w.a.Email); len(s) != 1 || !strings.Contains(s[0], "Watchdog") {
		t.Errorf("A's mail: %q", s)
	}
	w.clock.Add(2 * time.Minute)
	w.tick(t)
	if n := len(w.phone.Calls()); n != 2 {
		t.Errorf("%d calls 2 minutes later, want 2 (it escalates like any page)", n)
	}
	// The heartbeat is back: resolved within one tick, all-clear to A.
	heartbeat()
	w.tick(t)
	if p := w.onlyPage(t); p.State != Resolved || p.ResolvedBy != "watchdog" {
		t.Fatalf("after the heartbeat: %s by %q", p.State, p.ResolvedBy)
	}
	if s := w.subjects(t, w.a.Email); len(s) != 3 || !strings.HasPrefix(s[2], "【復旧】") {
		t.Errorf("A's mail: %q", s)
	}
}
