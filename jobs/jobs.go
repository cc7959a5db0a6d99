// Package jobs runs background work on asynq: the outbox relay and mail, reminders, J-LIS imports,
// slot generation and escalation. Task payloads carry ids only (never an address or a name),
// handlers re-read everything inside the tenant scope, and every handler is idempotent.
package jobs

import (
	"context"
	"log/slog"
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

// Handlers holds the dependencies of every task handler; cmd/madoguchi builds it.
type Handlers struct {
	Log *slog.Logger
}

// NewServeMux registers every task handler on one mux, with logging middleware.
func NewServeMux(h *Handlers) *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.Use(h.logMiddleware)
	return mux
}

func (h *Handlers) logMiddleware(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		start := time.Now()
		err := next.ProcessTask(ctx, t)
		id, _ := asynq.GetTaskID(ctx)
		if err != nil {
			h.Log.Warn("task failed", "type", t.Type(), "task_id", id, "elapsed", time.Since(start), "err", err)
		} else {
			h.Log.Info("task done", "type", t.Type(), "task_id", id, "elapsed", time.Since(start))
		}
		return err
	})
}

// NewServer returns the asynq server for `madoguchi worker`, sharing the go-redis client.
// shutdown bounds how long in-flight tasks may run after SIGTERM.
func NewServer(rdb redis.UniversalClient, log *slog.Logger, concurrency int, shutdown time.Duration) *asynq.Server {
	return asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:     concurrency,
		Queues:          map[string]int{QueueMail: 6, QueueDefault: 3, QueueImport: 1},
		ShutdownTimeout: shutdown,
		Logger:          asynqLogger{log},
		LogLevel:        asynq.WarnLevel,
	})
}

type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug("asynq", "msg", args) }
func (a asynqLogger) Info(args ...any)  { a.l.Info("asynq", "msg", args) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn("asynq", "msg", args) }
func (a asynqLogger) Error(args ...any) { a.l.Error("asynq", "msg", args) }
func (a asynqLogger) Fatal(args ...any) { a.l.Error("asynq fatal", "msg", args) }
