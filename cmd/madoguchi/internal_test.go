package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/madoguchi/madoguchi/migrations"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
	"github.com/madoguchi/madoguchi/ui/probe"
)

// get fetches url and returns status and body (status 0 when nothing answers).
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitFor polls url until it answers.
func waitFor(t *testing.T, url string) (int, string) {
	t.Helper()
	for range 200 {
		if st, body := get(t, url); st != 0 {
			return st, body
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never answered", url)
	return 0, ""
}

// TestInternalListener runs serve and worker with Redis unreachable: each answers /healthz and
// /readyz (200: the process can serve; Redis "down" in the body) and /metrics on its internal
// address, and the web's public address has no /metrics on any host.
func TestInternalListener(t *testing.T) {
	d := tenanttest.NewDB(t)
	for _, cmd := range []string{"serve", "worker"} {
		t.Run(cmd, func(t *testing.T) {
			public, internal := freePort(t), freePort(t)
			base := testEnv(t, d, public)
			getenv := func(k string) string {
				switch k {
				case "MADOGUCHI_INTERNAL_ADDR":
					return internal
				case "MADOGUCHI_REDIS_URL":
					return "redis://" + freePort(t) + "/0" // nothing listens there
				}
				return base(k)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- run(ctx, []string{cmd}, getenv, io.Discard, io.Discard) }()

			if st, body := waitFor(t, "http://"+internal+"/healthz"); st != 200 || body != "ok" {
				t.Errorf("healthz = %d %q", st, body)
			}
			st, body := get(t, "http://"+internal+"/readyz")
			if st != 200 || !strings.Contains(body, `"postgres":"ok"`) || !strings.Contains(body, `"redis":"down"`) ||
				!strings.Contains(body, `"process":"`+cmd+`"`) {
				t.Errorf("readyz with Redis down = %d %s, want 200 naming redis down", st, body)
			}
			st, body = get(t, "http://"+internal+"/metrics")
			for _, want := range []string{`madoguchi_dependency_up{dependency="postgres"} 1`, `madoguchi_dependency_up{dependency="redis"} 0`,
				`go_sql_open_connections{db_name="madoguchi"}`, `madoguchi_redis_pool_connections{state="idle"}`} {
				if st != 200 || !strings.Contains(body, want) {
					t.Errorf("internal /metrics = %d, lacks %s", st, want)
				}
			}
			// The escalation chain's endpoints are mounted: the receiver refuses a post without
			// the token, and a bad ack link gets the friendly page.
			resp, err := http.Post("http://"+internal+"/api/alertmanager", "application/json", strings.NewReader("{}"))
			if err != nil || resp.StatusCode != 401 {
				t.Errorf("receiver without token = %v %v, want 401", resp, err)
			} else {
				resp.Body.Close()
			}
			if st, body := get(t, "http://"+internal+"/ack/not-a-token"); st != 404 || !strings.Contains(body, "このリンクは使えません") {
				t.Errorf("GET /ack/not-a-token = %d %.200s", st, body)
			}
			if cmd == "serve" {
				waitFor(t, "http://"+public+"/healthz")
				for _, host := range []string{"", "matsusaka.localhost", "ops.localhost"} {
					req, _ := http.NewRequest("GET", "http://"+public+"/metrics", nil)
					if host != "" {
						req.Host = host
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					// 404 on city hosts; the ops host refuses addresses off its allow-list first (403).
					if resp.StatusCode/100 != 4 || strings.Contains(string(b), "madoguchi_") {
						t.Errorf("public /metrics on host %q = %d, want a 4xx without metrics", host, resp.StatusCode)
					}
				}
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("%s returned %v after SIGTERM", cmd, err)
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("%s did not stop within 15s", cmd)
			}
			if st, _ := get(t, fmt.Sprintf("http://%s/healthz", internal)); st != 0 {
				t.Errorf("internal listener still answers after shutdown")
			}
		})
	}
}

// TestSchemaGate: /readyz stays 503 while the database's schema is older than the binary's
// newest migration, is 200 once it is there, and does not hold a pod back when the database does
// not say which schema it has.
func TestSchemaGate(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	if err := schemaGate(d.App, migrations.Latest())(ctx); err != nil {
		t.Fatalf("gate on the current schema: %v", err)
	}
	ahead := schemaGate(d.App, "9999")
	err := ahead(ctx)
	if err == nil || !strings.Contains(err.Error(), "needs 9999") {
		t.Fatalf("gate for a newer binary: %v", err)
	}
	p, perr := probe.New(probe.Config{Process: "serve", Gate: ahead})
	if perr != nil {
		t.Fatal(perr)
	}
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	if st, body := get(t, srv.URL+"/readyz"); st != 503 || !strings.Contains(body, `"status":"not_ready"`) || !strings.Contains(body, "needs 9999") {
		t.Errorf("readyz behind the schema = %d %s", st, body)
	}
	if _, err := d.Owner.ExecContext(ctx, "COMMENT ON TABLE schema_migrations IS NULL"); err != nil {
		t.Fatal(err)
	}
	if err := schemaGate(d.App, "9999")(ctx); err != nil {
		t.Errorf("gate when the database does not say: %v", err)
	}
}
