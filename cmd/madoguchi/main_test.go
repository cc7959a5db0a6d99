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
		"MADOGUCHI_SHUTDOWN_DRAIN":     "0",
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
		"MADOGUCHI_SHUTDOWN_DRAIN":      "0",
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

// TestServeDrain: after SIGTERM, serve keeps serving for MADOGUCHI_SHUTDOWN_DRAIN with /readyz
// answering 503 "draining" on the web port and the internal listener while an ordinary request
// still gets its answer, with Connection: close; then it stops.
func TestServeDrain(t *testing.T) {
	d := tenanttest.NewDB(t)
	addr, internal := freePort(t), freePort(t)
	base := testEnv(t, d, addr)
	getenv := func(k string) string {
		switch k {
		case "MADOGUCHI_SHUTDOWN_DRAIN":
			return "3s"
		case "MADOGUCHI_INTERNAL_ADDR":
			return internal
		}
		return base(k)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, getenv, io.Discard, io.Discard) }()
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(url string) (int, string, string) {
		resp, err := client.Get(url)
		if err != nil {
			return 0, err.Error(), ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		conn := resp.Header.Get("Connection")
		if resp.Close {
			conn = "close"
		}
		return resp.StatusCode, string(b), conn
	}
	for i := 0; ; i++ {
		st, _, _ := get("http://" + internal + "/readyz")
		if st == 200 {
			break
		}
		if i == 100 {
			t.Fatalf("internal readyz = %d, want 200", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st, body, conn := get("http://" + addr + "/healthz"); st != 200 || conn == "close" {
		t.Fatalf("healthz before SIGTERM = %d %q, Connection %q; want 200, kept alive", st, body, conn)
	}
	sent := time.Now()
	cancel()
	time.Sleep(200 * time.Millisecond)
	if st, body, _ := get("http://" + internal + "/readyz"); st != 503 || !strings.Contains(body, `"draining"`) {
		t.Errorf("internal readyz while draining = %d %s, want 503 draining", st, body)
	}
	if st, body, _ := get("http://" + addr + "/readyz"); st != 503 || !strings.Contains(body, `"draining"`) {
		t.Errorf("web readyz while draining = %d %s, want 503 draining", st, body)
	}
	if st, body, conn := get("http://" + addr + "/healthz"); st != 200 || conn != "close" {
		t.Errorf("healthz while draining = %d %q, Connection %q; want 200 and close", st, body, conn)
	}
	if time.Since(sent) > 2500*time.Millisecond {
		t.Fatalf("the checks took %v, too long to be sure they ran within the 3 s drain", time.Since(sent))
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after SIGTERM", err)
		}
		if took := time.Since(sent); took < 3*time.Second {
			t.Errorf("serve stopped %v after SIGTERM, before the 3 s drain was over", took)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop within 10 s of SIGTERM")
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}
