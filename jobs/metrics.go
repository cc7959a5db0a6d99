package jobs

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/madoguchi/madoguchi/booking"
)

// Metrics are the worker's Prometheus series. A nil *Metrics records nothing.
type Metrics struct {
	tasks          *prometheus.CounterVec
	taskSeconds    *prometheus.HistogramVec
	mails          *prometheus.CounterVec
	relayed        prometheus.Counter
	relayErrors    prometheus.Counter
	backlog        prometheus.Gauge
	oldestAge      prometheus.Gauge
	periodicClaims *prometheus.CounterVec
	retentionRows  *prometheus.CounterVec
}

// NewMetrics creates the series and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		tasks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "madoguchi_jobs_tasks_total",
			Help: "Tasks processed, by type and result (ok, error, postponed)."}, []string{"type", "result"}),
		taskSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "madoguchi_jobs_task_duration_seconds",
			Help: "Task processing time.", Buckets: prometheus.ExponentialBuckets(0.005, 3, 9)}, []string{"type"}),
		mails: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "madoguchi_mail_total",
			Help: "Citizen mail by kind and outcome (sent, retry, failed, refused, skipped, duplicate)."}, []string{"kind", "outcome"}),
		relayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "madoguchi_outbox_relayed_total",
			Help: "Outbox rows handed to the job queue (including re-handed rows)."}),
		relayErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "madoguchi_outbox_relay_errors_total",
			Help: "Relay passes that stopped on an error (job queue or database unreachable)."}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{Name: "madoguchi_outbox_backlog",
			Help: "Outbox rows not yet sent, failed or skipped, over every tenant."}),
		oldestAge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "madoguchi_outbox_oldest_age_seconds",
			Help: "Age of the oldest outbox row not yet done (0 when none). Alert when above 300."}),
		periodicClaims: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "madoguchi_periodic_claims_total",
			Help: "Periodic job ticks claimed by this replica."}, []string{"job"}),
		retentionRows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "madoguchi_retention_rows_total",
			Help: "Rows changed by the nightly data hygiene, by category (no_show, no_show_cards, names, emails, mail_errors, cards)."}, []string{"category"}),
	}
	// The series alerts divide by exist from the start, so a rule sees zeros, not gaps.
	for _, k := range []booking.OutboxKind{booking.KindCreated, booking.KindChanged, booking.KindCancelled, booking.KindReminder} {
		for _, o := range []string{"sent", "retry", "failed", "refused"} {
			m.mails.WithLabelValues(string(k), o)
		}
	}
	if reg != nil {
		reg.MustRegister(m.tasks, m.taskSeconds, m.mails, m.relayed, m.relayErrors, m.backlog, m.oldestAge, m.periodicClaims, m.retentionRows)
	}
	return m
}

func (m *Metrics) task(typ string, err error, d time.Duration) {
	if m == nil {
		return
	}
	res := "ok"
	switch {
	case err != nil && isBusy(err):
		res = "postponed"
	case err != nil:
		res = "error"
	}
	m.tasks.WithLabelValues(typ, res).Inc()
	m.taskSeconds.WithLabelValues(typ).Observe(d.Seconds())
}

// mail counts one outcome; for a mail not sent, outcome is StartMail's note.
func (m *Metrics) mail(kind booking.OutboxKind, outcome string) {
	if m == nil {
		return
	}
	switch {
	case strings.HasPrefix(outcome, "skipped"):
		outcome = "skipped"
	case strings.HasPrefix(outcome, "refused"):
		outcome = "refused"
	case strings.HasPrefix(outcome, "already"), strings.HasPrefix(outcome, "no such"):
		outcome = "duplicate"
	}
	m.mails.WithLabelValues(string(kind), outcome).Inc()
}

func (m *Metrics) relay(n int, err error) {
	if m == nil {
		return
	}
	m.relayed.Add(float64(n))
	if err != nil {
		m.relayErrors.Inc()
	}
}

func (m *Metrics) outbox(backlog int, oldest time.Time) {
	if m == nil {
		return
	}
	m.backlog.Set(float64(backlog))
	if oldest.IsZero() {
		m.oldestAge.Set(0)
	} else {
		m.oldestAge.Set(time.Since(oldest).Seconds())
	}
}

func (m *Metrics) claimed(job string) {
	if m == nil {
		return
	}
	m.periodicClaims.WithLabelValues(job).Inc()
}

// retention counts the rows one run of the data hygiene changed, by category.
func (m *Metrics) retention(ns booking.NoShows, rc booking.RetentionCounts) {
	if m == nil {
		return
	}
	for cat, n := range map[string]int{"no_show": ns.Reservations, "no_show_cards": ns.Cards, "names": rc.Names,
		"emails": rc.Emails, "mail_errors": rc.MailErrors, "cards": rc.Pseudonyms, "imports": rc.Imports, "stuck_imports": rc.StuckImports} {
		m.retentionRows.WithLabelValues(cat).Add(float64(n))
	}
}
