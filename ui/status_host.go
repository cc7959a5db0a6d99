package ui

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/status"
)

// newStatus builds the status console (ui/status) for status.{BASE_DOMAIN} and the cities'
// maintenance notices, and starts keeping the page's snapshot fresh until the app shuts down.
func (u *UI) newStatus(app *fiber.App) error {
	d := u.deps
	if d.Status == nil {
		return nil
	}
	st, k, err := status.New(u.core, app, status.Deps{Status: d.Status, Redis: d.Redis, Logger: d.Logger, BaseDomain: d.BaseDomain,
		SnapshotDir: d.StatusSnapshotDir, Process: d.StatusProcess, Now: d.Now})
	if err != nil {
		return err
	}
	u.status, u.consoles[tenant.HostStatus] = st, k
	u.notices = newNoticeCache(d.Status, noticeTTL)
	st.First(context.Background(), 3*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); st.Run(ctx) }()
	app.Hooks().OnShutdown(func() error { cancel(); <-done; return nil })
	return nil
}

// statusChanged renders the status page at once after a change made in the ops console, and
// drops this process's cached notices.
func (u *UI) statusChanged(ctx context.Context) {
	if u.status != nil {
		u.status.Changed(ctx)
	}
	if u.notices != nil {
		u.notices.reset()
	}
}
