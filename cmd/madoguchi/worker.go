package main

import (
	"context"
	"log/slog"

	"github.com/madoguchi/madoguchi/jobs"
)

func cmdWorker(ctx context.Context, cfg *Config, log *slog.Logger) error {
	a, err := OpenApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	return runWorker(ctx, a)
}

// runWorker runs the asynq server until ctx is cancelled, then lets in-flight tasks finish.
func runWorker(ctx context.Context, a *App) error {
	srv := jobs.NewServer(a.Redis, a.Log, 10, a.Config.ShutdownTimeout)
	mux := jobs.NewServeMux(&jobs.Handlers{Log: a.Log})
	if err := srv.Start(mux); err != nil {
		return err
	}
	a.Log.Info("worker started")
	<-ctx.Done()
	a.Log.Info("shutting down worker")
	srv.Shutdown()
	return nil
}
