package paging

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the chain's series (registered by Register).
type metrics struct {
	notifications *prometheus.CounterVec
	timeToAck     prometheus.Histogram
}

func newMetrics() *metrics {
	m := &metrics{
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "madoguchi_escalation_notifications_total",
			Help: "Paging notifications sent by this process, by channel (mail, phone) and result (sent, failed, stale, skipped)."}, []string{"channel", "result"}),
		timeToAck: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "madoguchi_escalation_time_to_ack_seconds",
			Help: "Time from a page's opening to its acknowledgement.", Buckets: []float64{30, 60, 120, 300, 600, 1200, 1800, 3600, 7200}}),
	}
	for _, ch := range []string{ChannelMail, ChannelPhone} {
		for _, r := range []string{"sent", "failed", "stale", "skipped"} {
			m.notifications.WithLabelValues(ch, r)
		}
	}
	return m
}

var (
	pagesDesc = prometheus.NewDesc("madoguchi_escalation_pages",
		"Pages by state, read from PostgreSQL at the scrape (resolved: the last 24 hours).", []string{"state"}, nil)
	watchdogDesc = prometheus.NewDesc("madoguchi_watchdog_last_seen_timestamp_seconds",
		"When Alertmanager's Watchdog alert was last received (Unix seconds; 0: never).", nil, nil)
	pagingUp = prometheus.NewDesc("madoguchi_escalation_store_up",
		"1 when the paging tables could be read at the scrape, 0 otherwise.", nil, nil)
	degradedDesc = prometheus.NewDesc("madoguchi_escalation_degraded_pages",
		"Pages this process holds in memory because PostgreSQL did not answer (the degraded path); 0 in normal operation.", nil, nil)
)

// Register registers the chain's series on reg.
func (s *Service) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{s.metric.notifications, s.metric.timeToAck, (*collector)(s)} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

type collector Service

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pagesDesc
	ch <- watchdogDesc
	ch <- pagingUp
	ch <- degradedDesc
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := (*Service)(c)
	s.deg.mu.Lock()
	mem := len(s.deg.pages)
	s.deg.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(degradedDesc, prometheus.GaugeValue, float64(mem))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var rows []struct {
		State string `bun:"state"`
		N     int    `bun:"n"`
	}
	err := s.db.NewRaw(`SELECT state, count(*) AS n FROM pages WHERE state <> 'resolved' OR resolved_at > ? GROUP BY state`,
		s.now().Add(-24*time.Hour)).Scan(ctx, &rows)
	var last []time.Time
	if err == nil {
		err = s.db.NewRaw(`SELECT last_seen FROM paging_heartbeats WHERE source = 'watchdog'`).Scan(ctx, &last)
	}
	if err != nil {
		ch <- prometheus.MustNewConstMetric(pagingUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(pagingUp, prometheus.GaugeValue, 1)
	n := map[string]int{Triggered: 0, Acknowledged: 0, Resolved: 0}
	for _, r := range rows {
		n[r.State] = r.N
	}
	for st, v := range n {
		ch <- prometheus.MustNewConstMetric(pagesDesc, prometheus.GaugeValue, float64(v), st)
	}
	ts := 0.0
	if len(last) == 1 {
		ts = float64(last[0].Unix())
	}
	ch <- prometheus.MustNewConstMetric(watchdogDesc, prometheus.GaugeValue, ts)
}
