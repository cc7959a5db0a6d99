package tenant

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// The per-address slow-down of the staff login. A city's LGWAN egress is one address for every
// clerk, so an address is never refused: after slowAfter failed logins from it within
// slowWindow, each further login from it waits slowStep more (at most slowMax) before its
// password is checked, outside any transaction and before the password gate. A guesser pays
// seconds per guess; a clerk behind the same address who types the right password waits at most
// slowMax. The counts are per process (each replica slows down its own share) and bounded to
// slowKeys addresses in a window (IPv6 counted by its /64); past that new addresses are not
// slowed, and the per-account locks still bound what they can guess.
type slowDown struct {
	mu    sync.Mutex
	start time.Time
	fails map[string]int
	// step is slowStep; tests shorten it.
	step time.Duration
}

const (
	slowAfter  = 10
	slowWindow = 15 * time.Minute
	slowStep   = 500 * time.Millisecond
	slowMax    = 5 * time.Second
	slowKeys   = 50_000
)

func slowKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a = a.Unmap(); a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}

// delay returns how long a login from ip waits at now.
func (s *slowDown) delay(ip string, now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.start) >= slowWindow || now.Before(s.start) {
		s.start, s.fails = now, nil
	}
	n := s.fails[slowKey(ip)]
	if n < slowAfter {
		return 0
	}
	return min(time.Duration(n-slowAfter+1)*s.step, slowMax/slowStep*s.step)
}

// fail counts a failed login from ip at now.
func (s *slowDown) fail(ip string, now time.Time) {
	if ip == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fails == nil || now.Sub(s.start) >= slowWindow || now.Before(s.start) {
		s.start, s.fails = now, map[string]int{}
	}
	k := slowKey(ip)
	if _, seen := s.fails[k]; !seen && len(s.fails) >= slowKeys {
		return
	}
	s.fails[k]++
}

// wait sleeps the slow-down of ip, or returns unavailable when ctx ends first.
func (s *slowDown) wait(ctx context.Context, ip string, now time.Time) error {
	if ip == "" {
		return nil
	}
	d := s.delay(ip, now)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return Errorf(Unavailable, "error.unavailable").Wrap(ctx.Err())
	}
}
