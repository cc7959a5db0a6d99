package ui

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
)

// Flood limits per client IP and process. They are coarse, like any per-process limiter behind
// several replicas; login guessing is stopped by the guard's counters in Redis, not by these. They
// are set high enough for a mobile carrier's shared address (CGNAT) in a rush, and are not applied
// to the staff login: a city's LGWAN egress is one address for every clerk. The citizen login's
// limit is configuration (MADOGUCHI_CITIZEN_LOGIN_PER_MINUTE, ui.Deps.LoginPerMinute).
const (
	apiLoginPerMinute = 30  // POST /api/v1/session, whatever the result
	apiReadPerMinute  = 300 // the public reads (locations, availability)
	limiterKeys       = 100_000
)

// floodCounter counts requests per client IP in fixed one-minute windows. (Fiber's limiter
// middleware would need another module; this is all it would do for us.)
type floodCounter struct {
	max   int
	mu    sync.Mutex
	start time.Time
	hits  map[string]int
}

// allow counts one request of key and reports whether it is within the limit, and if not, how
// long until the window ends. Past limiterKeys distinct keys in one window, new keys are let
// through uncounted rather than growing memory without bound.
func (l *floodCounter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= time.Minute || now.Before(l.start) {
		l.start, l.hits = now, map[string]int{}
	}
	n, seen := l.hits[key]
	if !seen && len(l.hits) >= limiterKeys {
		return true, 0
	}
	l.hits[key] = n + 1
	if n+1 > l.max {
		return false, l.start.Add(time.Minute).Sub(now)
	}
	return true, 0
}

// floodLimiter returns middleware allowing max requests a minute per client IP. Refusals go
// through the error handler (429: a Japanese page, or JSON code "throttled" on the API) with
// Retry-After.
func floodLimiter(max int) fiber.Handler {
	if max <= 0 {
		return func(c *fiber.Ctx) error { return c.Next() }
	}
	l := &floodCounter{max: max}
	return func(c *fiber.Ctx) error {
		ok, wait := l.allow(strings.Clone(c.IP()), time.Now())
		if !ok {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(wait.Seconds())+1))
			return tenant.Errorf(tenant.Throttled, "error.throttled")
		}
		return c.Next()
	}
}
