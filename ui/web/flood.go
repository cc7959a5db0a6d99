package web

import (
	"hash/maphash"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
)

// limiterKeys bounds the addresses one flood limiter counts exactly in a window. Past it, new
// addresses are still counted, in a fixed-size sketch (sketchRows × sketchWidth counters) that
// can only overestimate: memory stays bounded and a flood from more addresses than that is
// refused rather than let through uncounted.
const (
	limiterKeys = 100_000
	sketchRows  = 4
	sketchWidth = 1 << 16
)

// floodCounter counts requests per client address in fixed one-minute windows. (Fiber's limiter
// middleware would need another module; this is all it would do for us.)
type floodCounter struct {
	max    int
	mu     sync.Mutex
	start  time.Time
	hits   map[string]int
	sketch []uint32 // sketchRows × sketchWidth, allocated on the first overflow of a window
	seeds  [sketchRows]maphash.Seed
}

func newFloodCounter(max int) *floodCounter {
	l := &floodCounter{max: max}
	for i := range l.seeds {
		l.seeds[i] = maphash.MakeSeed()
	}
	return l
}

// allow counts one request of key and reports whether it is within the limit, and if not, how
// long until the window ends. The first limiterKeys distinct keys of a window are counted
// exactly; later ones in the sketch (a count-min sketch: the smallest of sketchRows counters).
func (l *floodCounter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= time.Minute || now.Before(l.start) {
		l.start, l.hits = now, map[string]int{}
		clear(l.sketch)
	}
	n, seen := l.hits[key]
	if seen || len(l.hits) < limiterKeys {
		n++
		l.hits[key] = n
	} else {
		if l.sketch == nil {
			l.sketch = make([]uint32, sketchRows*sketchWidth)
		}
		n = int(^uint32(0))
		for row, seed := range l.seeds {
			i := row*sketchWidth + int(maphash.String(seed, key)%sketchWidth)
			if l.sketch[i] < ^uint32(0) {
				l.sketch[i]++
			}
			n = min(n, int(l.sketch[i]))
		}
	}
	if n > l.max {
		return false, l.start.Add(time.Minute).Sub(now)
	}
	return true, 0
}

// floodKey is the address a request is counted under: an IPv4 address, or the /64 of an IPv6
// one (a subscriber usually holds a whole /64 and could rotate addresses inside it for free).
func floodKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return strings.Clone(ip)
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}

// Flood allows max requests a minute per client address (Allow); one Flood may guard several
// routes, which then share the count.
type Flood struct{ l *floodCounter }

// NewFlood returns a Flood allowing max requests a minute per client address; max <= 0 allows
// everything.
func NewFlood(max int) *Flood {
	if max <= 0 {
		return &Flood{}
	}
	return &Flood{l: newFloodCounter(max)}
}

// Allow counts the request and returns nil while the client is within the limit, or the 429
// error (a Japanese page, or JSON code "throttled" on the API) with Retry-After set.
func (f *Flood) Allow(c *fiber.Ctx) error {
	if f.l == nil {
		return nil
	}
	ok, wait := f.l.allow(floodKey(c.IP()), time.Now())
	if !ok {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(wait.Seconds())+1))
		return tenant.Errorf(tenant.Throttled, "error.throttled")
	}
	return nil
}

// Handler is middleware counting every request that reaches it (Allow).
func (f *Flood) Handler(c *fiber.Ctx) error {
	if err := f.Allow(c); err != nil {
		return err
	}
	return c.Next()
}

// FloodLimiter returns middleware allowing max requests a minute per client address (NewFlood).
func FloodLimiter(max int) fiber.Handler { return NewFlood(max).Handler }
