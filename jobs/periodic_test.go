package jobs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/booking/jpholiday"
	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/tenant"
)

func TestTick(t *testing.T) {
	at := time.Date(2026, 6, 2, 23, 30, 15, 0, booking.JST)
	for _, c := range []struct {
		every time.Duration
		want  time.Time
	}{
		{time.Minute, time.Date(2026, 6, 2, 23, 30, 0, 0, booking.JST)},
		{10 * time.Minute, time.Date(2026, 6, 2, 23, 30, 0, 0, booking.JST)},
		{24 * time.Hour, time.Date(2026, 6, 2, 0, 0, 0, 0, booking.JST)}, // JST midnight, not UTC
	} {
		if got := jobs.Tick(at, c.every); !got.Equal(c.want) {
			t.Errorf("Tick(%v, %v) = %v, want %v", at, c.every, got, c.want)
		}
	}
}

// TestPeriodicJobs runs the default periodic jobs through a worker: slots are generated at
// start (over a horizon the city just lengthened) and expired holds are released.
func TestPeriodicJobs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	slot := bookingtest.FirstSlot(t, e.svc, e.ten, e.loc, e.clock.Now())
	if _, err := e.svc.HoldSlot(ctx, e.ten, slot.ID, 2, uuid.Nil, web); err != nil {
		t.Fatal(err)
	}
	must(t, tenant.NewService(e.d.App).UpdateSettings(ctx, e.ten.ID, tenant.Settings{HorizonDays: 120}))
	far := booking.DateOf(e.clock.Now()).AddDays(110) // an open day past the old horizon (90 days)
	for jpholiday.IsHoliday(far.StdTime()) || jpholiday.IsYearEndClosure(far.StdTime()) {
		far = far.AddDays(1)
	}
	e.clock.Set(e.clock.Now().Add(11 * time.Minute)) // past the hold's 10 minutes
	e.startWorker(t, "w1", withJobs(jobs.DefaultPeriodicJobs...))

	waitFor(t, 15*time.Second, "hold released", func() bool {
		s, err := e.svc.SlotByID(ctx, e.ten, slot.ID)
		return err == nil && s.Held == 0
	})
	waitFor(t, 15*time.Second, "slots over the new horizon", func() bool {
		slots, err := e.svc.SlotsOn(ctx, e.ten, e.loc.ID, far, bookingtest.Citizen)
		return err == nil && len(slots) > 0
	})
	var names []string
	waitFor(t, 5*time.Second, "every job claimed and enqueued", func() bool {
		names = nil
		must(t, e.d.App.NewRaw("SELECT name FROM periodic_runs WHERE enqueued_at IS NOT NULL ORDER BY name").Scan(ctx, &names))
		return len(names) == 8
	})
	// training-reset is claimed and enqueued too, with no task: the env has no training city.
	if want := "[fleet holds outbox-cleanup reminders retention slots slots.start training-reset]"; len(names) != 8 || fmt.Sprint(names) != want {
		t.Errorf("periodic_runs = %v, want %s", names, want)
	}
	waitFor(t, 15*time.Second, "the city's fleet figures", func() bool {
		list, err := e.svc.FleetOverview(ctx)
		return err == nil && len(list) == 1 && list[0].TenantID == e.ten.ID && !list[0].SnapshotAt.IsZero()
	})
}

// TestPeriodicClaimRetriedAfterRedisDown: a tick claimed while Redis is down is enqueued later by
// the sweep, so a daily job is not lost for the day.
func TestPeriodicClaimRetriedAfterRedisDown(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rdb := e.redis.Client(t)
	s := &jobs.Scheduler{DB: e.d.App, Tenants: tenant.NewDirectory(tenant.NewService(e.d.App), 0), Client: asynq.NewClientFromRedisClient(rdb),
		Log: e.log, Jobs: []jobs.PeriodicJob{{Name: "slots", Every: 24 * time.Hour, TaskType: jobs.TypeSlotsGenerate}},
		Now: e.clock.Now, RetryAfter: time.Second, Name: "s1"}
	e.redis.Stop()
	if err := s.Step(ctx); err == nil {
		t.Fatal("Step with Redis down succeeded")
	}
	var pending int
	must(t, e.d.App.NewRaw("SELECT count(*) FROM periodic_runs WHERE name = 'slots' AND enqueued_at IS NULL").Scan(ctx, &pending))
	if pending != 1 {
		t.Fatalf("claims waiting for Redis = %d, want 1", pending)
	}
	e.redis.Start()
	time.Sleep(1100 * time.Millisecond)
	if err := s.Step(ctx); err != nil {
		t.Fatalf("Step after Redis is back: %v", err)
	}
	must(t, e.d.App.NewRaw("SELECT count(*) FROM periodic_runs WHERE enqueued_at IS NULL").Scan(ctx, &pending))
	q, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(jobs.QueueDefault)
	if pending != 0 || err != nil || q.Pending != 1 {
		t.Errorf("after the sweep: %d claims not enqueued, queue %+v (%v); want the tenant's task queued", pending, q, err)
	}
}
