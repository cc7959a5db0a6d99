package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

func testEnv(t *testing.T, d *tenanttest.DB, listen string) func(string) string {
	env := map[string]string{
		"MADOGUCHI_DATABASE_URL":       d.AppDSN,
		"MADOGUCHI_OWNER_DATABASE_URL": d.OwnerDSN,
		"MADOGUCHI_SECRET_KEY":         strings.Repeat("1f", 32),
		"MADOGUCHI_LISTEN":             listen,
		"MADOGUCHI_LOG_FORMAT":         "json",
		"MADOGUCHI_SHUTDOWN_TIMEOUT":   "5s",
		"MADOGUCHI_INTERNAL_ADDR":      "127.0.0.1:0",
	}
	return func(k string) string { return env[k] }
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestCommands(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	getenv := testEnv(t, d, ":0")
	var out bytes.Buffer
	steps := []struct {
		args []string
		want string
		err  string
	}{
		{args: []string{"migrate"}, want: "up to date"},
		{args: []string{"migrate"}, want: "up to date"},
		{args: []string{"tenant", "create", "tsu", "津市", "--code", "242012", "--admin", "tsu.admin"}, want: "created tsu (津市, 242012): http://tsu.localhost/"},
		{args: []string{"tenant", "create", "tsu", "津市", "--code", "242012", "--admin", "tsu.admin"},
			err: "conflict:\n  slug: この識別名はすでに使われています。 [tenant.slug.taken]\n  code: この全国地方公共団体コードの自治体はすでに登録されています。 [tenant.code.taken]"},
		{args: []string{"tenant", "create", "tsu", "津市"}, err: "needs --code and --admin"},
		{args: []string{"tenant", "create", "ops", "運用", "--code", "242047", "--admin", "x.admin"}, err: "slug: この識別名は予約されているため使用できません。 [tenant.slug.reserved]"},
		{args: []string{"tenant", "create", "Bad Slug!", "x", "--code", "242047", "--admin", "x.admin"}, err: "tenant.slug.invalid"},
		{args: []string{"tenant", "create", "matsusaka", "松阪市", "--code", "242048", "--admin", "m.admin"}, err: "検査数字（6桁目）が合いません"},
		{args: []string{"tenant", "disable", "tsu"}, want: "tsu is now disabled"},
		{args: []string{"tenant", "list"}, want: "242012"},
		{args: []string{"tenant", "disable", "nosuch"}, err: "not_found: この識別名の自治体は登録されていません。 [tenant.not_found]"},
		{args: []string{"tenant", "clear-allow-list", "tsu"}, want: "tsu had no /admin allow-list; nothing changed"},
		{args: []string{"tenant", "clear-allow-list", "nosuch"}, err: "not_found"},
		{args: []string{"tenant", "frobnicate", "tsu"}, err: "usage: madoguchi tenant"},
		{args: []string{"ops", "account", "create", "ops.sato", "--name", "佐藤"}, want: "initial password: "},
		{args: []string{"ops", "account", "create", "ops.sato"}, err: "conflict:\n  login_id: このログインIDはすでに使われています。 [ops.login_id.taken]"},
		{args: []string{"ops", "account", "create", "cc.ito", "--role", "root"}, err: "role: "},
		{args: []string{"ops", "frobnicate"}, err: "usage: madoguchi ops"},
	}
	for _, s := range steps {
		out.Reset()
		err := run(ctx, s.args, getenv, &out, io.Discard)
		if s.err != "" {
			if err == nil || !strings.Contains(err.Error(), s.err) {
				t.Errorf("run(%v) err = %v, want %q", s.args, err, s.err)
			}
			continue
		}
		if err != nil || !strings.Contains(out.String(), s.want) {
			t.Errorf("run(%v) = %q, %v; want output containing %q", s.args, out.String(), err, s.want)
		}
	}
	if err := run(ctx, []string{"serve"}, func(string) string { return "" }, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "MADOGUCHI_DATABASE_URL") {
		t.Errorf("serve without configuration: err = %v, want one naming MADOGUCHI_DATABASE_URL", err)
	}
}

// TestServeGracefulShutdown starts the real server, checks it is ready, then cancels (SIGTERM) and
// expects a clean return.
func TestServeGracefulShutdown(t *testing.T) {
	d := tenanttest.NewDB(t)
	addr := freePort(t)
	getenv := testEnv(t, d, addr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, getenv, io.Discard, io.Discard) }()
	var status int
	for range 100 {
		resp, err := http.Get(fmt.Sprintf("http://%s/readyz", addr))
		if err == nil {
			status = resp.StatusCode
			resp.Body.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status != 200 {
		t.Fatalf("readyz = %d, want 200", status)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after SIGTERM", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop within 10s of SIGTERM")
	}
	if _, err := http.Get(fmt.Sprintf("http://%s/healthz", addr)); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}

// TestServeStartsWhileDatabasesDown: `madoguchi serve` starts while neither PostgreSQL nor Redis
// answers (the pool connects at its first query): it listens, /healthz answers, a city's host
// answers its 503 page and the status host its own page, and /readyz names both down in its
// body.
func TestServeStartsWhileDatabasesDown(t *testing.T) {
	addr := freePort(t)
	env := map[string]string{
		"MADOGUCHI_DATABASE_URL":        "postgres://app@" + freePort(t) + "/madoguchi?sslmode=disable&connect_timeout=2",
		"MADOGUCHI_REDIS_URL":           "redis://" + freePort(t) + "/0",
		"MADOGUCHI_SECRET_KEY":          strings.Repeat("1f", 32),
		"MADOGUCHI_LISTEN":              addr,
		"MADOGUCHI_SHUTDOWN_TIMEOUT":    "2s",
		"MADOGUCHI_STATUS_SNAPSHOT_DIR": t.TempDir(),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	get := func(host, path string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var status int
	for range 300 {
		select {
		case err := <-done:
			t.Fatalf("serve exited while the databases are down: %v", err)
		default:
		}
		if status, _ = get("localhost", "/healthz"); status == 200 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status != 200 {
		t.Fatalf("healthz = %d, want 200", status)
	}
	if s, body := get("tsu.localhost", "/"); s != 503 || !strings.Contains(body, "<html") {
		t.Errorf("a city's host = %d, want its 503 page", s)
	}
	if s, body := get("status.localhost", "/"); s != 503 || !strings.Contains(body, "稼働状況") {
		t.Errorf("status host without any snapshot = %d %q, want its own 503 page", s, body)
	}
	if _, body := get("localhost", "/readyz"); !strings.Contains(body, `"postgres":"down"`) || !strings.Contains(body, `"redis":"down"`) {
		t.Errorf("readyz body = %s", body)
	}
}
