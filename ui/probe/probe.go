// Package probe is the internal listener every madoguchi process (serve, worker, demo) runs
// beside its work: /metrics for Prometheus, /healthz and /readyz for Kubernetes, and whatever
// internal endpoints other packages mount on it (the Alertmanager receiver). It listens on its
// own address (MADOGUCHI_INTERNAL_ADDR), reached by the cluster network only, so no city host
// ever answers /metrics.
//
// /healthz answers 200 while the process runs. /readyz answers 200 while this process can serve
// and 503 once it drains (SIGTERM): it does NOT fail because PostgreSQL or Redis is down — every
// replica would leave the Service at once, and the pages that explain the outage, the paging and
// the metrics would go with them. The state of each dependency is in the body and in
// madoguchi_dependency_up.
package probe

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check reports whether a dependency answers; nil means up.
type Check func(ctx context.Context) error

// CheckTimeout bounds each dependency check of /readyz and of a scrape.
const CheckTimeout = 2 * time.Second

// Config is what New needs.
type Config struct {
	// Process names the process in /readyz's body (serve, worker, demo).
	Process string
	// Gatherer is what /metrics serves.
	Gatherer prometheus.Gatherer
	// Registerer receives madoguchi_dependency_up (nil: not registered).
	Registerer prometheus.Registerer
	// Checks are the dependencies by name (postgres, redis).
	Checks map[string]Check
	// Gate, when set, keeps /readyz at 503 (status "not_ready", its error as "reason") while it
	// returns an error: for what the process needs before it may serve at all, such as the schema
	// version its binary was built for. Unlike Checks it is not about a dependency being down.
	Gate Check
	Log  *slog.Logger
}

// Server is the internal listener. Mount more handlers with Handle before Serve.
type Server struct {
	cfg      Config
	mux      *http.ServeMux
	draining atomic.Bool
}

// New builds the listener's routes and registers the dependency gauge.
func New(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(&depCollector{s: s}); err != nil {
			return nil, err
		}
	}
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{ErrorLog: slogPrinter{cfg.Log}}))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte("ok"))
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	return s, nil
}

// Handle mounts h on pattern (http.ServeMux syntax, e.g. "POST /api/alertmanager").
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler is the listener's routes (tests serve it with httptest).
func (s *Server) Handler() http.Handler { return s.mux }

// Drain makes /readyz answer 503 from now on, so the Service stops sending traffic before the
// process stops.
func (s *Server) Drain() { s.draining.Store(true) }

// Readiness is /readyz's body.
type Readiness struct {
	Status  string            `json:"status"` // ok, draining or not_ready
	Reason  string            `json:"reason,omitempty"`
	Process string            `json:"process"`
	Deps    map[string]string `json:"dependencies"` // name → ok or down
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	res := Readiness{Status: "ok", Process: s.cfg.Process, Deps: map[string]string{}}
	for name, err := range s.check(r.Context()) {
		res.Deps[name] = "ok"
		if err != nil {
			res.Deps[name] = "down"
		}
	}
	status := http.StatusOK
	if s.draining.Load() {
		res.Status, status = "draining", http.StatusServiceUnavailable
	} else if s.cfg.Gate != nil {
		ctx, cancel := context.WithTimeout(r.Context(), CheckTimeout)
		err := s.cfg.Gate(ctx)
		cancel()
		if err != nil {
			res.Status, res.Reason, status = "not_ready", err.Error(), http.StatusServiceUnavailable
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(res)
}

// check runs every check in parallel, each within CheckTimeout.
func (s *Server) check(ctx context.Context) map[string]error {
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := make(map[string]error, len(s.cfg.Checks))
	for name, c := range s.cfg.Checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c(ctx)
			mu.Lock()
			out[name] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// Serve answers on ln until ctx is cancelled, then drains and stops within timeout. It returns
// nil after a clean stop.
func (s *Server) Serve(ctx context.Context, ln net.Listener, timeout time.Duration) error {
	hs := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

var depUp = prometheus.NewDesc("madoguchi_dependency_up",
	"1 when the dependency (postgres, redis) answered this process's check at the scrape, 0 otherwise.",
	[]string{"dependency"}, nil)

// depCollector checks the dependencies at each scrape.
type depCollector struct{ s *Server }

func (c *depCollector) Describe(ch chan<- *prometheus.Desc) { ch <- depUp }

func (c *depCollector) Collect(ch chan<- prometheus.Metric) {
	res := c.s.check(context.Background())
	names := make([]string, 0, len(res))
	for n := range res {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := 1.0
		if res[n] != nil {
			v = 0
		}
		ch <- prometheus.MustNewConstMetric(depUp, prometheus.GaugeValue, v, n)
	}
}

type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("metrics", "err", v) }
