package jobs

import (
	"context"
	"sort"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// collectTimeout bounds the Redis and PostgreSQL reads one scrape makes.
const collectTimeout = 3 * time.Second

var (
	queueSize = prometheus.NewDesc("madoguchi_queue_tasks",
		"Tasks in each asynq queue by state (pending, active, scheduled, retry, archived), read from Redis at the scrape.",
		[]string{"queue", "state"}, nil)
	queueLatency = prometheus.NewDesc("madoguchi_queue_latency_seconds",
		"Age of the oldest pending task of each asynq queue (0 when none is pending).", []string{"queue"}, nil)
	queueUp = prometheus.NewDesc("madoguchi_queue_inspect_up",
		"1 when the asynq queues could be read from Redis at the scrape, 0 otherwise.", nil, nil)
)

// QueueCollector reads the size and latency of every asynq queue at each scrape (asynq's
// Inspector). Queue names come from the code (QueueMail, QueueDefault, …), so the label is
// bounded. Register it in one process per deployment kind (the worker).
func QueueCollector(in *asynq.Inspector) prometheus.Collector { return &queueCollector{in: in} }

type queueCollector struct{ in *asynq.Inspector }

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueSize
	ch <- queueLatency
	ch <- queueUp
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	up := 1.0
	defer func() { ch <- prometheus.MustNewConstMetric(queueUp, prometheus.GaugeValue, up) }()
	names, err := c.in.Queues()
	if err != nil {
		up = 0
		return
	}
	// Queues that exist in the code but hold nothing yet still get their zeros.
	for _, q := range []string{QueueMail, QueueDefault} {
		if !contains(names, q) {
			names = append(names, q)
		}
	}
	sort.Strings(names)
	for _, q := range names {
		info, err := c.in.GetQueueInfo(q)
		if err != nil {
			info = &asynq.QueueInfo{Queue: q} // a queue never used has no info yet
		}
		for state, n := range map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived} {
			ch <- prometheus.MustNewConstMetric(queueSize, prometheus.GaugeValue, float64(n), q, state)
		}
		ch <- prometheus.MustNewConstMetric(queueLatency, prometheus.GaugeValue, info.Latency.Seconds(), q)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

var (
	cityLabels   = []string{"tenant"}
	cityFill     = prometheus.NewDesc("madoguchi_city_slot_fill_ratio", "Places booked over places open from today over the next 14 days, per city (0 without capacity).", cityLabels, nil)
	cityErrors   = prometheus.NewDesc("madoguchi_city_booking_errors_total", "Refused holds, bookings, changes and cancellations of the JST day, per city and reason (a message key, or internal); resets at midnight JST, which rate() treats as a counter reset.", []string{"tenant", "reason"}, nil)
	cityLocks    = prometheus.NewDesc("madoguchi_city_login_locks_total", "Login locks (citizens and staff) of the JST day, per city; resets at midnight JST.", cityLabels, nil)
	cityMailFail = prometheus.NewDesc("madoguchi_city_mail_failed_total", "Mails that failed for good on the JST day, per city; resets at midnight JST.", cityLabels, nil)
	cityBacklog  = prometheus.NewDesc("madoguchi_city_mail_backlog", "Mails of the city not yet handed to the mail server.", cityLabels, nil)
	cityImports  = prometheus.NewDesc("madoguchi_city_imports_running", "Card imports of the city uploaded, validating or committing.", cityLabels, nil)
	cityAge      = prometheus.NewDesc("madoguchi_city_figures_age_seconds", "Seconds since the fleet job last counted the city (a stalled job shows here).", cityLabels, nil)
	fleetUp      = prometheus.NewDesc("madoguchi_fleet_figures_up", "1 when the fleet figures could be read from PostgreSQL at the scrape, 0 otherwise.", nil, nil)
)

// FleetCollector exports each active city's figures as the fleet job last counted them
// (booking.Service.FleetOverview: one query over the tenants and fleet_days tables). The tenant
// label is the city's slug, taken from the tenants table, so its values are bounded by the
// cities that exist; reasons are message keys (tenant.EventBookingError).
func FleetCollector(b *booking.Service) prometheus.Collector { return &fleetCollector{b: b} }

type fleetCollector struct{ b *booking.Service }

func (c *fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{cityFill, cityErrors, cityLocks, cityMailFail, cityBacklog, cityImports, cityAge, fleetUp} {
		ch <- d
	}
}

func (c *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), collectTimeout)
	defer cancel()
	cities, err := c.b.FleetOverview(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(fleetUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(fleetUp, prometheus.GaugeValue, 1)
	now := c.b.Now()
	for i := range cities {
		f := &cities[i]
		if f.Status != tenant.Active {
			continue
		}
		g := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, f.Slug)
		}
		g(cityFill, f.FillRate())
		ch <- prometheus.MustNewConstMetric(cityLocks, prometheus.CounterValue, float64(f.LoginLocks), f.Slug)
		ch <- prometheus.MustNewConstMetric(cityMailFail, prometheus.CounterValue, float64(f.MailFailed), f.Slug)
		// "internal" is always there (an alert reads it); the other reasons once they happened.
		if _, ok := f.ErrorReasons["internal"]; !ok {
			ch <- prometheus.MustNewConstMetric(cityErrors, prometheus.CounterValue, 0, f.Slug, "internal")
		}
		for reason, n := range f.ErrorReasons {
			ch <- prometheus.MustNewConstMetric(cityErrors, prometheus.CounterValue, float64(n), f.Slug, reason)
		}
		g(cityBacklog, float64(f.MailBacklog))
		g(cityImports, float64(f.ImportsRunning))
		if !f.SnapshotAt.IsZero() {
			g(cityAge, now.Sub(f.SnapshotAt).Seconds())
		}
	}
}
