package web

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
)

// limiterKeys bounds the addresses one flood limiter counts in a window.
const limiterKeys = 100_000

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

// FloodLimiter returns middleware allowing max requests a minute per client IP. Refusals go
// through the error handler (429: a Japanese page, or JSON code "throttled" on the API) with
// Retry-After.
func FloodLimiter(max int) fiber.Handler {
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
