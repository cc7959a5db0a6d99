package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/jobs/jobstest"
	"github.com/madoguchi/madoguchi/jobs/mailsink"
	"github.com/madoguchi/madoguchi/jobs/paging"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// fakePhone stands in for a Twilio-compatible phone API: it records the numbers called.
type fakePhone struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []string
}

func newFakePhone(t *testing.T, account, token string) *fakePhone {
	p := &fakePhone{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, pw, ok := r.BasicAuth(); !ok || u != account || pw != token || !strings.HasSuffix(r.URL.Path, "/Accounts/"+account+"/Calls.json") {
			w.WriteHeader(401)
			return
		}
		_ = r.ParseForm()
		p.mu.Lock()
		p.calls = append(p.calls, r.PostForm.Get("To"))
		p.mu.Unlock()
		w.WriteHeader(201)
		_, _ = w.Write([]byte(`{"sid":"CA1"}`))
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakePhone) Calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.calls...)
}

// forRE matches every rule's `for:`; the test shortens them to 0s.
var forRE = regexp.MustCompile(`(?m)^(\s+)for: \S+$`)

// TestRealChain is the alerting pipeline end to end with Debian's Prometheus and Alertmanager
// (installed by .ci/prometheus), on loopback ports: Prometheus scrapes the internal listeners of
// a `madoguchi serve` and a `madoguchi worker` and evaluates the chart's rules (promtool check
// rules passes on them; the test only shortens their `for:`), Alertmanager routes
// MadoguchiRedisUnreachable and the Watchdog to madoguchi's receiver. Redis (a throwaway
// server) stops: the rule fires for real, the first mail reaches the SMTP server and the call
// the phone provider. Redis back: the alert resolves and the all-clear goes out.
func TestRealChain(t *testing.T) {
	for _, bin := range []string{"prometheus", "promtool", "prometheus-alertmanager"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not installed: run .ci/prometheus (make test does)", bin)
		}
	}
	start := time.Now()
	dir := t.TempDir()
	rules, err := os.ReadFile("../../charts/madoguchi/files/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	promtool := func(file string) {
		t.Helper()
		if out, err := exec.Command("promtool", "check", "rules", file).CombinedOutput(); err != nil {
			t.Fatalf("promtool check rules %s: %v\n%s", file, err, out)
		}
	}
	promtool("../../charts/madoguchi/files/alerts.yaml")
	short := filepath.Join(dir, "alerts.yaml")
	if err := os.WriteFile(short, forRE.ReplaceAll(rules, []byte("${1}for: 0s")), 0o644); err != nil {
		t.Fatal(err)
	}
	promtool(short)

	d := tenanttest.NewDB(t)
	rd := jobstest.StartRedis(t)
	sink, err := mailsink.Start("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	phone := newFakePhone(t, "AC1", "provider-token")
	ctx := context.Background()
	svc := paging.New(d.App, paging.Config{})
	a, err := svc.AddContact(ctx, paging.Contact{Name: "当番A", Email: "a@example.jp", Phone: "+819011110001"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SavePolicy(ctx, paging.Policy{Name: "default", Steps: []paging.Step{{ContactIDs: []uuid.UUID{a.ID},
		Channels: []string{paging.ChannelMail, paging.ChannelPhone}, NotifyEvery: paging.Duration(5 * time.Minute), EscalateAfter: paging.Duration(time.Hour)}}}, "test"); err != nil {
		t.Fatal(err)
	}

	old := pagingTick
	pagingTick = 200 * time.Millisecond
	defer func() { pagingTick = old }()
	webInternal, workerInternal := freePort(t), freePort(t)
	const amToken = "alertmanager-token-0123456789"
	env := map[string]string{
		"MADOGUCHI_DATABASE_URL":          d.AppDSN,
		"MADOGUCHI_REDIS_URL":             "redis://" + rd.Addr() + "/0",
		"MADOGUCHI_SECRET_KEY":            strings.Repeat("1f", 32),
		"MADOGUCHI_LISTEN":                freePort(t),
		"MADOGUCHI_SMTP_URL":              "smtp://" + sink.Addr(),
		"MADOGUCHI_SHUTDOWN_TIMEOUT":      "2s",
		"MADOGUCHI_SHUTDOWN_DRAIN":        "0",
		"MADOGUCHI_ALERTMANAGER_TOKEN":    amToken,
		"MADOGUCHI_PAGING_DEGRADED_AFTER": "1h", // the engine's own Redis watch stays out of this test
		"MADOGUCHI_PHONE_API_URL":         phone.srv.URL,
		"MADOGUCHI_PHONE_ACCOUNT":         "AC1",
		"MADOGUCHI_PHONE_TOKEN":           "provider-token",
		"MADOGUCHI_PHONE_FROM":            "+81300000000",
	}
	runCmd := func(cmd, internal string) {
		e := map[string]string{"MADOGUCHI_INTERNAL_ADDR": internal}
		for k, v := range env {
			e[k] = v
		}
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- run(cctx, []string{cmd}, func(k string) string { return e[k] }, io.Discard, io.Discard)
		}()
		t.Cleanup(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				t.Errorf("%s did not stop", cmd)
			}
		})
	}
	runCmd("serve", webInternal)
	runCmd("worker", workerInternal)

	amAddr, promAddr := freePort(t), freePort(t)
	amConf := fmt.Sprintf(`route:
  receiver: "null"
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['alertname=~"MadoguchiRedisUnreachable|Watchdog"']
      receiver: madoguchi
receivers:
  - name: "null"
  - name: madoguchi
    webhook_configs:
      - url: http://%s/api/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: %s
`, workerInternal, amToken)
	promConf := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%q]
scrape_configs:
  - job_name: madoguchi
    static_configs:
      - targets: [%q, %q]
`, short, amAddr, webInternal, workerInternal)
	for name, body := range map[string]string{"am.yml": amConf, "prom.yml": promConf} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	startBin := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		logf, err := os.Create(filepath.Join(dir, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			logf.Close()
			if t.Failed() {
				b, _ := os.ReadFile(logf.Name())
				t.Logf("%s log:\n%s", name, lastLines(string(b), 30))
			}
		})
	}
	startBin("prometheus-alertmanager", "--config.file="+filepath.Join(dir, "am.yml"), "--storage.path="+filepath.Join(dir, "am"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")
	startBin("prometheus", "--config.file="+filepath.Join(dir, "prom.yml"), "--storage.tsdb.path="+filepath.Join(dir, "prom"),
		"--web.listen-address="+promAddr,
		// Alerts fired before the Alertmanager is discovered are dropped; resend them soon.
		"--rules.alert.resend-delay=1s")

	waitFor := func(what string, limit time.Duration, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s", what, limit)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// Both targets scraped and the Watchdog through: the pipeline works.
	waitFor("both targets up in Prometheus", 20*time.Second, func() bool {
		b := httpGet("http://" + promAddr + "/api/v1/query?query=sum(up{job=%22madoguchi%22})")
		return strings.Contains(b, `"2"]`)
	})
	waitFor("the Watchdog heartbeat at the receiver", 20*time.Second, func() bool {
		m := regexp.MustCompile(`(?m)^madoguchi_watchdog_last_seen_timestamp_seconds (\S+)`).FindStringSubmatch(httpGet("http://" + workerInternal + "/metrics"))
		return m != nil && m[1] != "0"
	})
	if sink.Count() != 0 || len(phone.Calls()) != 0 {
		t.Fatalf("paged before anything failed: %d mails, %d calls", sink.Count(), len(phone.Calls()))
	}

	rd.Stop()
	fired := time.Now()
	waitFor("the first mail and call after Redis stopped", 30*time.Second, func() bool { return sink.Count() >= 1 && len(phone.Calls()) >= 1 })
	t.Logf("Redis stopped → first mail and call in %s", time.Since(fired).Round(100*time.Millisecond))
	if calls := phone.Calls(); calls[0] != "+819011110001" {
		t.Errorf("called %v", calls)
	}
	ps, err := svc.Pages(ctx, 10)
	if err != nil || len(ps) != 1 || !strings.HasPrefix(ps[0].Title, "MadoguchiRedisUnreachable") || ps[0].State != paging.Triggered {
		t.Fatalf("pages = %+v, %v", ps, err)
	}

	rd.Start()
	back := time.Now()
	waitFor("the page resolved and the all-clear sent", 30*time.Second, func() bool {
		p, err := svc.Get(ctx, ps[0].ID)
		return err == nil && p.State == paging.Resolved && sink.Count() >= 2
	})
	t.Logf("Redis back → resolved and all-clear in %s; whole test %s", time.Since(back).Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond))
	if p, _ := svc.Get(ctx, ps[0].ID); p.ResolvedBy != "alertmanager" {
		t.Errorf("resolved by %q, want alertmanager", p.ResolvedBy)
	}
	last := sink.Messages()[sink.Count()-1]
	if last.To[0] != "a@example.jp" {
		t.Errorf("all-clear to %v", last.To)
	}
}

func httpGet(u string) string {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
