package guard

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// The spike layers (a city, the whole platform) compare the failures of the current window
// with the scope's own history: every failure is also added to the count of its TenantWindow
// window, kept in one Redis hash per day (field: the window's number) for BaselineDays + 1
// days. The threshold in force is max(floor, SpikeFactor × p95 + 1), where the p95 is taken
// over the per-window counts of the last BaselineDays days (a window without failures counts
// 0). Each process recomputes it at most every BaselineRefresh per scope: one pipelined read
// of BaselineDays + 1 hashes, which hold only the windows that had failures. Failures while the
// scope is under attack are not added to its history, so a long attack cannot raise the
// threshold it is measured against.

// limits are the spike thresholds in force for one attempt, and the window it falls in.
type limits struct {
	city, platform int
	window         int64 // the attempt's window number (windowOf)
}

// baseline is a cached threshold of one scope.
type baseline struct {
	limit int
	at    time.Time
}

// baselines caches the thresholds of the scopes this process has seen (bounded by the number
// of cities, plus the platform).
type baselines struct {
	mu sync.Mutex
	m  map[string]baseline
}

// windowOf returns the number of the TenantWindow window t falls in (windows since the epoch).
func (g *Guard) windowOf(t time.Time) int64 {
	return t.UnixMilli() / g.cfg.TenantWindow.Milliseconds()
}

// dayOf returns the UTC day (days since the epoch) whose history hash holds window w.
func (g *Guard) dayOf(w int64) int64 {
	return w * g.cfg.TenantWindow.Milliseconds() / (24 * time.Hour).Milliseconds()
}

// limits returns the city's and the platform's thresholds in force in window w (now).
func (g *Guard) limits(ctx context.Context, tenantID string, w int64) (limits, error) {
	now := g.now()
	city, err := g.threshold(ctx, "t:"+tenantID, keyPrefix+"t:"+tenantID+":city:", g.cfg.TenantLimit, now, w)
	if err != nil {
		return limits{}, err
	}
	platform, err := g.threshold(ctx, "platform", g.platformPrefix, g.cfg.PlatformLimit, now, w)
	if err != nil {
		return limits{}, err
	}
	return limits{city: city, platform: platform, window: w}, nil
}

// Thresholds returns the number of failures within TenantWindow that puts the city, and the
// whole platform, under attack now (the floor, or SpikeFactor times the 14-day p95 plus one,
// whichever is higher), for the budget command and the tests. It returns an ErrUnavailable
// error when Redis fails and an ErrInvalidInput error for a bad tenant ID.
func (g *Guard) Thresholds(ctx context.Context, tenantID string) (city, platform int, err error) {
	if !validTenantID(tenantID) {
		return 0, 0, fmt.Errorf("%w: tenant id", ErrInvalidInput)
	}
	l, err := g.limits(ctx, tenantID, g.windowOf(g.now()))
	return l.city, l.platform, err
}

// threshold returns the scope's cached threshold, recomputing it from the history under
// prefix when it is older than BaselineRefresh (or the clock went back).
func (g *Guard) threshold(ctx context.Context, scope, prefix string, floor int, now time.Time, w int64) (int, error) {
	g.base.mu.Lock()
	b, ok := g.base.m[scope]
	g.base.mu.Unlock()
	if ok && !now.Before(b.at) && now.Sub(b.at) < g.cfg.BaselineRefresh {
		return b.limit, nil
	}
	p95, err := g.p95(ctx, prefix, w)
	if err != nil {
		return 0, err
	}
	limit := max(floor, g.cfg.SpikeFactor*p95+1)
	g.base.mu.Lock()
	g.base.m[scope] = baseline{limit: limit, at: now}
	g.base.mu.Unlock()
	return limit, nil
}

// p95 reads the per-window failure counts of the BaselineDays days before window w under
// prefix and returns their 95th percentile (nearest rank; windows without failures count 0).
func (g *Guard) p95(ctx context.Context, prefix string, w int64) (int, error) {
	n := int64(time.Duration(g.cfg.BaselineDays) * 24 * time.Hour / g.cfg.TenantWindow)
	first := w - n
	pipe := g.rdb.Pipeline()
	var cmds []*redis.MapStringStringCmd
	for d := g.dayOf(first); d <= g.dayOf(w-1); d++ {
		cmds = append(cmds, pipe.HGetAll(ctx, histKey(prefix, d)))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("read failure history: %w: %w", ErrUnavailable, err)
	}
	var counts []int
	for _, c := range cmds {
		for field, v := range c.Val() {
			win, err1 := strconv.ParseInt(field, 10, 64)
			cnt, err2 := strconv.Atoi(v)
			if err1 != nil || err2 != nil || win < first || win >= w || cnt <= 0 {
				continue
			}
			counts = append(counts, cnt)
		}
	}
	rank := int64(math.Ceil(0.95 * float64(n))) // 1-based, ascending
	zeros := n - int64(len(counts))
	if rank <= zeros {
		return 0, nil
	}
	slices.Sort(counts)
	return counts[rank-zeros-1], nil
}
