package jobs_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// TestQueueAndFleetMetrics: the queue collector reports each asynq queue's size and latency from
// Redis, and the fleet collector each existing active city's figures under its slug — a disabled
// city and a city that does not exist get no series.
func TestQueueAndFleetMetrics(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rdb := e.redis.Client(t)
	client := asynq.NewClientFromRedisClient(rdb)
	task, err := jobs.NewMailSendTask(jobs.MailPayload{TenantID: e.ten.ID, OutboxID: uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Enqueue(task); err != nil {
		t.Fatal(err)
	}
	e.reserve(t, e.reminderSlot(t).ID, "taro@example.jp", "ja")
	if err := e.svc.UpdateFleetFigures(ctx, e.ten); err != nil {
		t.Fatal(err)
	}
	off := tenanttest.MustCreateTenant(t, e.d.App)
	if _, err := e.d.App.NewUpdate().Table("tenants").Set("status = ?", tenant.Disabled).Where("id = ?", off.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(jobs.QueueCollector(asynq.NewInspectorFromRedisClient(rdb)), jobs.FleetCollector(e.svc))
	body := scrape(t, reg)
	for _, want := range []string{
		`madoguchi_queue_inspect_up 1`,
		`madoguchi_queue_tasks{queue="` + jobs.QueueMail + `",state="pending"} 1`,
		`madoguchi_queue_tasks{queue="` + jobs.QueueDefault + `",state="pending"} 0`,
		`madoguchi_queue_latency_seconds{queue="` + jobs.QueueMail + `"}`,
		`madoguchi_fleet_figures_up 1`,
		`madoguchi_city_slot_fill_ratio{tenant="` + e.ten.Slug + `"}`,
		`madoguchi_city_mail_backlog{tenant="` + e.ten.Slug + `"} 1`,
		`madoguchi_city_imports_running{tenant="` + e.ten.Slug + `"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, off.Slug) {
		t.Errorf("a disabled city has series:\n%s", body)
	}
}
