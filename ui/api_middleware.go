package ui

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
)

// Flood limits of the API per client IP and process (SECURITY.md §5.2 "Request flood"). They
// are coarse, like any per-process limiter behind several replicas; login guessing is stopped by
// the guard's counters in Redis, not by these.
const (
	apiLoginPerMinute = 30  // POST /api/v1/session, whatever the result
	apiReadPerMinute  = 300 // the public reads (locations, availability)
	apiLimiterKeys    = 100_000
)

// apiRateLimiter counts requests per client IP in fixed one-minute windows. (Fiber's limiter
// middleware would need another module; this is all it would do for us.)
type apiRateLimiter struct {
	max   int
	mu    sync.Mutex
	start time.Time
	hits  map[string]int
}

// allow counts one request of key and reports whether it is within the limit, and if not, how
// long until the window ends. Past apiLimiterKeys distinct keys in one window, new keys are let
// through uncounted rather than growing memory without bound.
func (l *apiRateLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= time.Minute || now.Before(l.start) {
		l.start, l.hits = now, map[string]int{}
	}
	n, seen := l.hits[key]
	if !seen && len(l.hits) >= apiLimiterKeys {
		return true, 0
	}
	l.hits[key] = n + 1
	if n+1 > l.max {
		return false, l.start.Add(time.Minute).Sub(now)
	}
	return true, 0
}

// apiLimiter returns middleware allowing max requests a minute per client IP. Refusals go
// through the error handler (JSON, code "throttled") with Retry-After.
func apiLimiter(max int) fiber.Handler {
	l := &apiRateLimiter{max: max}
	return func(c *fiber.Ctx) error {
		ok, wait := l.allow(strings.Clone(c.IP()), time.Now())
		if !ok {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(wait.Seconds())+1))
			return tenant.Errorf(tenant.Throttled, "error.throttled")
		}
		return c.Next()
	}
}

// apiEdge shapes the errors of API handlers for clients: a field-level validation error takes
// the code and message of its main field, a 401 names the Bearer scheme (RFC 6750), and a login
// lock carries the real wait in Retry-After.
func (u *UI) apiEdge(c *fiber.Ctx) error {
	err := c.Next()
	e := tenant.AsError(err)
	if e == nil {
		return err
	}
	switch e.Code {
	case tenant.Invalid:
		return apiPromoteField(e)
	case tenant.Unauthorized:
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="madoguchi"`)
	case tenant.Throttled:
		if m, ok := e.Args["minutes"].(int); ok && m > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(m*60))
		}
	}
	return err
}

// apiAuth lets through only a request whose Authorization: Bearer token is a logged-in session
// of this host's tenant. The session cookie is ignored on the API: a browser sends it on its own
// (an ambient credential), so honouring it would let another site ride it; a bearer token must
// be added by the client's code. Each authenticated request renews the session's idle timeout.
func (u *UI) apiAuth(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	if bearer(c) == "" {
		return tenant.Errorf(tenant.Unauthorized, "error.unauthorized")
	}
	c.Request().Header.DelCookie(u.sess.cookieName())
	sess, err := u.session(c)
	if err != nil {
		return err
	}
	if !sess.LoggedIn() {
		return tenant.Errorf(tenant.Unauthorized, "error.unauthorized")
	}
	if err := u.deps.Redis.Expire(c.UserContext(), u.sess.key(sess.ID), sessionIdle).Err(); err != nil {
		return tenant.Errorf(tenant.Unavailable, "error.unavailable").Wrap(err)
	}
	return c.Next()
}

// apiNoCookie removes a session cookie that the sessions store set on this response: API
// clients get their token in the body, never as a cookie.
func (u *UI) apiNoCookie(c *fiber.Ctx) {
	c.Response().Header.DelCookie(u.sess.cookieName())
}
