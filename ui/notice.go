package ui

import (
	"context"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// Maintenance notices on the cities' sites: from its announcement to its end, a planned
// maintenance that concerns a city shows as a banner on that city's citizen and staff pages,
// with its times in JST, saying that booking, changing and cancelling online stop while visits
// at the counter stand; the citizens' confirmation page warns when the chosen time falls inside
// one. The notices are read once per noticeTTL per process (for every city at once), so a rush
// on the citizens' pages adds no query per request. A change made in this process's ops console
// drops the cache at once; other processes see it within noticeTTL.

// noticeTTL is how long a process keeps the notices it read.
const noticeTTL = 30 * time.Second

// Notice is one maintenance as a city page shows it.
type Notice struct {
	StartsAt, EndsAt time.Time
	Title            string
	Now              bool // in progress
}

type noticeCache struct {
	sp   *tenant.StatusPage
	ttl  time.Duration
	mu   sync.Mutex
	at   time.Time // wall clock of the last read (the TTL is a duration, like the sessions')
	list []tenant.Maintenance
}

func newNoticeCache(sp *tenant.StatusPage, ttl time.Duration) *noticeCache {
	return &noticeCache{sp: sp, ttl: ttl}
}

func (n *noticeCache) reset() {
	n.mu.Lock()
	n.at = time.Time{}
	n.mu.Unlock()
}

// all returns every city's notices, read at most once per TTL; when PostgreSQL does not answer,
// the last list (and tries again after the TTL).
func (n *noticeCache) all(ctx context.Context) []tenant.Maintenance {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.at.IsZero() && time.Since(n.at) < n.ttl {
		return n.list
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if list, err := n.sp.Notices(ctx); err == nil {
		n.list = list
	}
	n.at = time.Now()
	return n.list
}

// forCity returns the notices of city at now: announced, not ended, not cancelled.
func (n *noticeCache) forCity(ctx context.Context, city uuid.UUID, now time.Time, lang string) []Notice {
	var out []Notice
	for _, m := range n.all(ctx) {
		if !m.Concerns(city) {
			continue
		}
		switch m.Phase(now) {
		case tenant.PhaseAnnounced, tenant.PhaseInProgress:
			title := m.TitleJA
			if lang == "en" {
				title = m.TitleEN
			}
			out = append(out, Notice{StartsAt: m.StartsAt, EndsAt: m.EndsAt, Title: title, Now: m.Phase(now) == tenant.PhaseInProgress})
		}
	}
	return out
}

// noticesOf returns the request's city's notices (none without a city or a status page).
func (u *UI) noticesOf(c *fiber.Ctx) []Notice {
	t := web.TenantOf(c)
	if u.notices == nil || t == nil {
		return nil
	}
	return u.notices.forCity(c.UserContext(), t.ID, u.now(), web.LangOf(c))
}

// maintenanceAt returns the notice whose window holds t, if any.
func maintenanceAt(ns []Notice, t time.Time) *Notice {
	for i := range ns {
		if !t.Before(ns[i].StartsAt) && t.Before(ns[i].EndsAt) {
			return &ns[i]
		}
	}
	return nil
}
