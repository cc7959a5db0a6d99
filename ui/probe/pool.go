package probe

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// RedisPool returns a collector of a go-redis client's connection pool, read at each scrape:
// madoguchi_redis_pool_{hits,misses,timeouts}_total and madoguchi_redis_pool_connections{state}.
// Register it once per process (serve and worker each own one client).
func RedisPool(c interface{ PoolStats() *redis.PoolStats }) prometheus.Collector {
	return &poolCollector{c: c}
}

var (
	poolHits     = prometheus.NewDesc("madoguchi_redis_pool_hits_total", "Times a free Redis connection was found in the pool.", nil, nil)
	poolMisses   = prometheus.NewDesc("madoguchi_redis_pool_misses_total", "Times no free Redis connection was in the pool (a new one was dialled).", nil, nil)
	poolTimeouts = prometheus.NewDesc("madoguchi_redis_pool_timeouts_total", "Times a wait for a Redis connection from the pool timed out.", nil, nil)
	poolConns    = prometheus.NewDesc("madoguchi_redis_pool_connections", "Redis connections in the pool, by state (total, idle, stale).", []string{"state"}, nil)
)

type poolCollector struct {
	c interface{ PoolStats() *redis.PoolStats }
}

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolHits
	ch <- poolMisses
	ch <- poolTimeouts
	ch <- poolConns
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.c.PoolStats()
	ch <- prometheus.MustNewConstMetric(poolHits, prometheus.CounterValue, float64(s.Hits))
	ch <- prometheus.MustNewConstMetric(poolMisses, prometheus.CounterValue, float64(s.Misses))
	ch <- prometheus.MustNewConstMetric(poolTimeouts, prometheus.CounterValue, float64(s.Timeouts))
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.TotalConns), "total")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.IdleConns), "idle")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.StaleConns), "stale")
}
