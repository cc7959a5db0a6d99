package main

import (
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

var update = flag.Bool("update", false, "rewrite charts/test/testdata/metrics.txt")

// inventoryFile lists every metric family a serve and a worker export (name and type), for the
// chart's test of the alert rules and dashboard (charts/test), which is its own module.
const inventoryFile = "../../charts/test/testdata/metrics.txt"

// TestMetricsInventory registers everything serve and worker register (as demo does, on one
// registry), with a city counted by the fleet job and one request served, and checks the list
// of metric families against charts/test/testdata/metrics.txt (-update rewrites it). A vector
// with no series yet does not show: a series an alert reads must be created up front.
func TestMetricsInventory(t *testing.T) {
	d := tenanttest.NewDB(t)
	clock := tenanttest.NewClock()
	a := openAppAt(t, testEnv(t, d, "127.0.0.1:0"), clock.Now)
	web, err := a.Web()
	if err != nil {
		t.Fatal(err)
	}
	_, closeMailer, err := newWorker(a)
	if err != nil {
		t.Fatal(err)
	}
	defer closeMailer()
	il, err := a.openInternal("demo", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	il.ln.Close()
	tn := tenanttest.MustCreateTenant(t, d.App)
	svc := bookingtest.Service(d.App, clock.Now)
	if err := svc.UpdateFleetFigures(context.Background(), tn); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Host = tn.Slug + ".localhost"
	if _, err := web.Test(req, -1); err != nil {
		t.Fatal(err)
	}
	fams, err := a.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range fams {
		lines = append(lines, fmt.Sprintf("%s %s", f.GetName(), f.GetType()))
	}
	sort.Strings(lines)
	got := strings.Join(lines, "\n") + "\n"
	for _, want := range []string{"madoguchi_city_slot_fill_ratio GAUGE", "madoguchi_queue_latency_seconds GAUGE",
		"madoguchi_dependency_up GAUGE", "go_sql_in_use_connections GAUGE", "madoguchi_redis_pool_timeouts_total COUNTER",
		"madoguchi_outbox_oldest_age_seconds GAUGE", "madoguchi_mail_total COUNTER", "madoguchi_http_requests_total COUNTER"} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("registry lacks %s", want)
		}
	}
	if *update {
		if err := os.WriteFile(inventoryFile, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(inventoryFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != got {
		t.Errorf("%s is out of date; run go test ./cmd/madoguchi -run TestMetricsInventory -update\nwant:\n%s", inventoryFile, got)
	}
}
