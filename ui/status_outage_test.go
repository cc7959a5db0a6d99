package ui_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/madoguchi/madoguchi/jobs/jobstest"
	"github.com/madoguchi/madoguchi/ui"
)

// throwawayPostgres runs a PostgreSQL cluster of the test's own (jobstest.StartPostgres) and
// returns its superuser URL and a function that stops it at once.
func throwawayPostgres(t *testing.T) (string, func()) {
	t.Helper()
	pg := jobstest.StartPostgres(t)
	return pg.URL, pg.Stop
}

// TestStatusServesThroughOutage is OPS §2.2's independence and §2.3 requirement 2: after an
// incident update is posted, PostgreSQL and Redis (throwaway instances of the test's own) stop,
// and a web process started during the outage still answers status.{BASE} with 200 and that
// update (its snapshot from disk), with 「最終更新」 and the stale notice once it is old; the feed
// and the JSON answer too; a city's host answers its 503 page; /readyz stays 200 and names
// PostgreSQL and Redis down.
func TestStatusServesThroughOutage(t *testing.T) {
	pgURL, stopPG := throwawayPostgres(t)
	t.Setenv("MADOGUCHI_TEST_POSTGRES_URL", pgURL)
	rd := jobstest.StartRedis(t)
	dir := t.TempDir()
	var deps ui.Deps
	e := newEnv(t, rd.Client(t), func(d *ui.Deps) { d.StatusSnapshotDir = dir; deps = *d })
	addr := serve(t, e)
	b := opsStatusMember(t, e, addr)
	id := postIncident(t, b, "予約システムの障害", "調査しています。")
	b.get("/status/incidents/" + id)
	b.post("/status/incidents/"+id, url.Values{"status": {"identified"}, "body_ja": {"データベースの切替えを行っています。"}, "body_en": {"Failing over the database."}})
	b.want(200, "経過を掲載しました")
	if _, err := os.Stat(filepath.Join(dir, "status-snapshot.json")); err != nil {
		t.Fatalf("no snapshot on disk after the update: %v", err)
	}
	_ = e.app.Shutdown()

	stopPG()
	rd.Stop()
	e.clock.Add(10 * time.Minute)

	// A web process started during the outage: ui.New against the stopped servers.
	ctx := context.Background()
	if err := deps.DB.PingContext(ctx); err == nil {
		t.Fatal("PostgreSQL still answers")
	}
	reg := prometheus.NewRegistry() // a new process has its own metrics
	deps.Registry, deps.Gatherer = reg, reg
	start := time.Now()
	app, err := ui.New(deps)
	if err != nil {
		t.Fatalf("the web process does not start while PostgreSQL and Redis are down: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("starting took %s", d)
	}
	e2 := &env{app: app, clock: e.clock}
	addr2 := serve(t, e2)
	pub := newBrowser(t, addr2, statusHost)
	pub.get("/")
	pub.want(200, "予約システムの障害", "データベースの切替えを行っています。", "原因特定", "最終更新", "最新の情報を取得できていません")
	pub.get("/?lang=en")
	pub.want(200, "Failing over the database.", "Last updated", "The latest information could not be fetched")
	pub.get("/feed.atom")
	pub.want(200, "urn:uuid:"+id)
	pub.get("/api/v2/summary.json")
	pub.want(200, `"indicator":"major"`)

	city := newBrowser(t, addr2, e.city.Slug+".localhost")
	city.get("/")
	if city.status != 503 || !strings.Contains(city.last, "<html") {
		t.Errorf("a city's host during the outage = %d, want its 503 page", city.status)
	}
	pub.get("/readyz")
	pub.want(200, `"postgres":"down"`, `"redis":"down"`, `"status_snapshot":"ok"`)
}
