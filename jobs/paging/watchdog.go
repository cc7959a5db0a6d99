package paging

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// watchdogKey is the dedup key of the page the missing Watchdog heartbeat opens.
const watchdogKey = "watchdog:heartbeat"

// watchdog opens a page when Alertmanager's Watchdog heartbeat has been missing for longer than
// Config.WatchdogWindow, and resolves it once the heartbeat is back. Before the first heartbeat
// ever arrives nothing is paged (the pipeline is not wired yet).
func (s *Service) watchdog(ctx context.Context) error {
	if s.cfg.WatchdogWindow <= 0 {
		return nil
	}
	now := s.now()
	return tenant.RunTx(ctx, s.db, nil, func(ctx context.Context, tx bun.Tx) error {
		// One process at a time decides, so that two workers never both open the page.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('paging:watchdog'))"); err != nil {
			return err
		}
		var last time.Time
		err := tx.NewRaw(`SELECT last_seen FROM paging_heartbeats WHERE source = 'watchdog'`).Scan(ctx, &last)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		var open Page
		err = tx.NewSelect().Model(&open).Where("dedup_key = ? AND state <> 'resolved'", watchdogKey).For("UPDATE").Scan(ctx)
		hasOpen := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		missing := now.Sub(last) > s.cfg.WatchdogWindow
		switch {
		case missing && !hasOpen:
			_, err := s.insertPage(ctx, tx, watchdogKey, "Watchdog: Alertmanager からの定期信号が途絶えています（Prometheus か Alertmanager が止まっている可能性）",
				"watchdog", s.cfg.Policy, now, map[string]any{"last_seen": last.UTC().Format(time.RFC3339), "window_s": int64(s.cfg.WatchdogWindow / time.Second)})
			return err
		case !missing && hasOpen:
			return s.resolve(ctx, tx, &open, "watchdog", now)
		}
		return nil
	})
}
