// Package jobs runs background work on asynq: the outbox relay and mail, reminders, J-LIS imports,
// slot generation and escalation. Task payloads carry ids only (never an address or a name),
// handlers re-read everything inside the tenant scope, and every handler is idempotent.
//
// The pieces, all started by Worker (cmd/madoguchi worker):
//   - the asynq server with the handlers of mux.go, on the queues below;
//   - the outbox relay (relay.go), which hands mail rows from PostgreSQL to asynq;
//   - the periodic scheduler (periodic.go), which claims each tick of each periodic job in
//     PostgreSQL, so that any number of replicas enqueue it once.
package jobs

import (
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Queue names and their priorities: mail before slot generation before imports.
const (
	QueueMail    = "mail"
	QueueDefault = "default"
	QueueImport  = "import"
)

// ServerConfig tunes the asynq server.
type ServerConfig struct {
	Concurrency     int           // tasks run at once (default 10)
	ShutdownTimeout time.Duration // how long in-flight tasks may run after SIGTERM (default 8 s)
	// RetryBase and RetryMax shape the exponential backoff of failed tasks: base·2^n with ±20 %
	// jitter, capped at max (defaults 30 s and 1 h: a mail is retried for about a day).
	RetryBase, RetryMax time.Duration
	// PollInterval is how often idle workers look for new and retried tasks (default 1 s).
	PollInterval time.Duration
}

// NewServer returns the asynq server for `madoguchi worker`, sharing the go-redis client. Tasks
// that fail are retried with exponential backoff; after the last retry (or on asynq.SkipRetry)
// asynq archives them, where they stay for inspection.
func NewServer(rdb redis.UniversalClient, log *slog.Logger, cfg ServerConfig) *asynq.Server {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 10
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 30 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = time.Hour
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	return asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   map[string]int{QueueMail: 6, QueueDefault: 3, QueueImport: 1},
		ShutdownTimeout:          cfg.ShutdownTimeout,
		RetryDelayFunc:           backoff(cfg.RetryBase, cfg.RetryMax),
		IsFailure:                isFailure,
		TaskCheckInterval:        cfg.PollInterval,
		DelayedTaskCheckInterval: cfg.PollInterval,
		Logger:                   asynqLogger{log},
		LogLevel:                 asynq.WarnLevel,
		HealthCheckFunc: func(err error) {
			if err != nil {
				log.Warn("job queue unreachable", "err", err)
			}
		},
	})
}

// backoff returns base·2^n with ±20 % jitter, capped at max.
func backoff(base, max time.Duration) asynq.RetryDelayFunc {
	return func(n int, err error, _ *asynq.Task) time.Duration {
		if isBusy(err) {
			return base
		}
		d := max
		if n < 30 && base<<n > 0 && base<<n < max {
			d = base << n
		}
		return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	}
}

// isFailure: a mail that another worker is sending right now is not a failure; it is retried
// without using up a retry.
func isFailure(err error) bool { return err != nil && !isBusy(err) }

type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug("asynq", "msg", args) }
func (a asynqLogger) Info(args ...any)  { a.l.Info("asynq", "msg", args) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn("asynq", "msg", args) }
func (a asynqLogger) Error(args ...any) { a.l.Error("asynq", "msg", args) }
func (a asynqLogger) Fatal(args ...any) { a.l.Error("asynq fatal", "msg", args) }
