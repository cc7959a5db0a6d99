package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/madoguchi/madoguchi/cmd/internal/app"
)

// config is what the bench reads from the environment: the few MADOGUCHI_* variables of
// madoguchi's configuration it needs, under the same names and with the same defaults
// (cmd/madoguchi/config.go is the full table). Nothing else of madoguchi's configuration applies:
// the web app the bench starts listens on 127.0.0.1 only, for requests the bench itself makes.
type config struct {
	DatabaseURL string // MADOGUCHI_DATABASE_URL: the runtime role; pgbench and psql connect as it too
	RedisURL    string // MADOGUCHI_REDIS_URL: sessions and login counters of the in-process web app
	SecretKey   []byte // MADOGUCHI_SECRET_KEY: the HMAC key of birth dates and login counters
	DBMaxConns  int    // MADOGUCHI_DB_MAX_CONNS: the pool of the in-process app, as in production
}

// benchBaseDomain is the base domain of the in-process web app: the bench's citizens ask for
// http://{slug}.localhost/ on its loopback address, whatever domain the deployment serves.
const benchBaseDomain = "localhost"

// loadConfig reads the bench's variables through getenv and reports every missing or malformed
// one at once, by name, as madoguchi does.
func loadConfig(getenv func(string) string) (*config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := &config{DatabaseURL: get("MADOGUCHI_DATABASE_URL", ""), RedisURL: get("MADOGUCHI_REDIS_URL", "redis://127.0.0.1:6379/0")}
	var problems []string
	if c.DatabaseURL == "" {
		problems = append(problems, "MADOGUCHI_DATABASE_URL: required")
	}
	if _, _, err := app.ParseRedisURL(c.RedisURL); err != nil {
		problems = append(problems, "MADOGUCHI_REDIS_URL: "+err.Error())
	}
	switch key := get("MADOGUCHI_SECRET_KEY", ""); {
	case key == "":
		problems = append(problems, "MADOGUCHI_SECRET_KEY: required")
	default:
		if b, err := hex.DecodeString(key); err != nil || len(b) != 32 {
			problems = append(problems, "MADOGUCHI_SECRET_KEY: want 64 hex characters")
		} else {
			c.SecretKey = b
		}
	}
	n, err := strconv.Atoi(get("MADOGUCHI_DB_MAX_CONNS", "20"))
	if err != nil || n < 1 || n > 500 {
		problems = append(problems, "MADOGUCHI_DB_MAX_CONNS: want an integer 1–500")
	}
	c.DBMaxConns = n
	if len(problems) > 0 {
		return nil, fmt.Errorf("configuration:\n  %s", strings.Join(problems, "\n  "))
	}
	return c, nil
}

// services are the connections and domain services the bench drives, opened as madoguchi opens
// them (cmd/internal/app) on the wall clock, with the bench's configuration.
type services struct {
	*app.App
	cfg *config
}

// openServices connects to PostgreSQL (as the runtime role) and Redis and builds the services.
// The registry holds the guard's and the web app's metrics, gathered by nobody.
func openServices(ctx context.Context, cfg *config) (*services, error) {
	return openServicesCache(ctx, cfg, app.DefaultAvailabilityCacheTTL)
}

// openServicesCache is openServices with the availability cache's lifetime ttl (0: no cache,
// every calendar read goes to PostgreSQL).
func openServicesCache(ctx context.Context, cfg *config, ttl time.Duration) (*services, error) {
	a, err := app.Open(ctx, app.Options{DatabaseURL: cfg.DatabaseURL, RedisURL: cfg.RedisURL, DBMaxConns: cfg.DBMaxConns,
		SecretKey: cfg.SecretKey, Registry: prometheus.NewRegistry(), Now: time.Now, BaseDomain: benchBaseDomain,
		AvailabilityCacheTTL: ttl})
	if err != nil {
		return nil, err
	}
	return &services{App: a, cfg: cfg}, nil
}

// web builds the Fiber app as `madoguchi serve` does, logging to log, with no trusted proxies,
// plain-HTTP cookies and no per-IP login flood limit: every simulated citizen comes from
// 127.0.0.1, so the limit would measure itself (the login guard's lockouts stay).
func (s *services) web(log *slog.Logger) (*fiber.App, error) {
	return s.Web(app.WebOptions{Log: log, BaseDomain: benchBaseDomain})
}

// close releases the connections.
func (s *services) close() { s.Close() }
