package web

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "madoguchi_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "madoguchi_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// AccessLog logs one line per request with request id and tenant slug, and records metrics by
// route pattern (never the raw path or host, so labels stay bounded).
func (w *Core) AccessLog(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	status := c.Response().StatusCode()
	route := c.Route().Path
	if r, ok := c.Locals(localRoute).(string); ok {
		route = r // a console's own app served it (Console)
	}
	if unmatched(err) {
		route = "unmatched" // no route matched: fold every stray path into one label
	}
	// A label value outlives the request: take it from a constant, never from c.Method(), whose
	// string points into a buffer Fiber reuses for the next request.
	method := "OTHER"
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		if c.Method() == m {
			method = m
		}
	}
	elapsed := time.Since(start)
	w.metrics.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	w.metrics.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
	if route == "/healthz" || route == "/readyz" || route == "/metrics" {
		return nil
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	w.Log.LogAttrs(c.UserContext(), level, "http",
		slog.String("request_id", RequestIDOf(c)),
		slog.String("tenant", TenantSlug(c)),
		slog.String("method", c.Method()),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Duration("elapsed", elapsed),
		slog.String("ip", c.IP()),
	)
	return nil
}

// unmatched reports whether err says that no route matched (or the host is nobody's).
func unmatched(err error) bool {
	var fe *fiber.Error
	return errors.Is(err, ErrUnknownHost) || (errors.As(err, &fe) && fe.Code == fiber.StatusNotFound && strings.HasPrefix(fe.Message, "Cannot "))
}

// LogPanic logs a recovered panic with the request id and tenant (recover.Config).
func (w *Core) LogPanic(c *fiber.Ctx, e any) {
	w.Log.Error("panic", "request_id", RequestIDOf(c), "tenant", TenantSlug(c), "panic", fmt.Sprint(e))
}
