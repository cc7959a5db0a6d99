package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

func retentionJob(t *testing.T) jobs.PeriodicJob {
	t.Helper()
	for _, j := range jobs.DefaultPeriodicJobs {
		if j.TaskType == jobs.TypeRetentionApply {
			return j
		}
	}
	t.Fatal("retention:apply is not a default periodic job")
	return jobs.PeriodicJob{}
}

// TestRetentionScheduledOncePerDay: the retention task is enqueued once per day and tenant, at
// 03:00 JST, however many replicas look at the clock.
func TestRetentionScheduledOncePerDay(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tenanttest.MustCreateTenant(t, e.d.App) // a second city
	rdb := e.redis.Client(t)
	day := booking.DateOf(e.clock.Now()).AddDays(1)
	e.clock.Set(day.Time(2, 0))
	replica := func(name string) *jobs.Scheduler {
		return &jobs.Scheduler{DB: e.d.App, Tenants: tenant.NewDirectory(tenant.NewService(e.d.App), 0), Client: asynq.NewClientFromRedisClient(rdb),
			Log: e.log, Jobs: []jobs.PeriodicJob{retentionJob(t)}, Now: e.clock.Now, Name: name}
	}
	s1, s2 := replica("s1"), replica("s2")
	inspector := asynq.NewInspectorFromRedisClient(rdb)
	pending := func() int {
		q, err := inspector.GetQueueInfo(jobs.QueueDefault)
		if err != nil {
			t.Fatal(err)
		}
		return q.Pending
	}
	for _, x := range []struct {
		at   time.Time
		want int // tasks queued so far: two cities per claimed day
	}{
		{day.Time(2, 0), 2},  // the first look runs the day before's 03:00 tick (not run yet)
		{day.Time(2, 59), 2}, // same tick
		{day.Time(3, 0), 4},  // today's run
		{day.Time(23, 0), 4}, // nothing more today
		{day.AddDays(1).Time(3, 0), 6},
	} {
		e.clock.Set(x.at)
		must(t, s1.Step(ctx))
		must(t, s2.Step(ctx))
		if got := pending(); got != x.want {
			t.Fatalf("at %s: %d retention tasks queued, want %d", x.at.Format(time.DateTime), got, x.want)
		}
	}
	var ticks []time.Time
	must(t, e.d.App.NewRaw("SELECT tick FROM periodic_runs WHERE name = 'retention' ORDER BY tick").Scan(ctx, &ticks))
	if len(ticks) != 3 {
		t.Fatalf("retention claims = %v, want 3", ticks)
	}
	for _, tk := range ticks {
		if got := tk.In(booking.JST).Format("15:04"); got != "03:00" {
			t.Errorf("claimed tick %s, want 03:00 JST", tk.In(booking.JST))
		}
	}
}

// TestRetentionTaskRuns: the worker's nightly run marks yesterday's booking nobody came to as a
// no-show (freeing the card) and counts it in the metrics.
func TestRetentionTaskRuns(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	slot := bookingtest.FirstSlot(t, e.svc, e.ten, e.loc, e.clock.Now())
	r := e.reserve(t, slot.ID, "", "ja")
	e.clock.Set(booking.DateOf(slot.StartsAt).AddDays(1).Time(4, 0))
	reg := prometheus.NewRegistry()
	e.startWorker(t, "w1", withJobs(retentionJob(t)), func(c *jobs.WorkerConfig) { c.Registry = reg })
	waitFor(t, 15*time.Second, "the booking marked no_show", func() bool {
		v, err := e.svc.ReservationByID(ctx, e.ten, r.ID)
		return err == nil && v.Status == booking.NoShow
	})
	v, err := e.svc.ReservationByID(ctx, e.ten, r.ID)
	must(t, err)
	if _, err := e.svc.CurrentReservation(ctx, e.ten, v.Cards[0].ID); tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("the card still has an active booking: %v", err)
	}
	if v.Cards[0].Status != booking.CardNoticeSent {
		t.Errorf("card status = %s, want notice_sent", v.Cards[0].Status)
	}
	waitFor(t, 5*time.Second, "the no-show counted", func() bool {
		mfs, err := reg.Gather()
		must(t, err)
		for _, mf := range mfs {
			if mf.GetName() != "madoguchi_retention_rows_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "category" && l.GetValue() == "no_show" && m.GetCounter().GetValue() == 1 {
						return true
					}
				}
			}
		}
		return false
	})
}
