package tenant

import (
	"context"
	"strings"
	"sync"
	"time"
)

// HostKind says which audience a host serves.
type HostKind int

// Host kinds. City hosts carry a tenant; the shared consoles do not.
const (
	HostUnknown HostKind = iota
	HostCity
	HostCallCenter
	HostOps
	HostStatus
)

// Resolver maps a request's Host header to a tenant. It caches answers briefly so a rush does not
// hit the database on every request; a disabled tenant stops answering within the cache TTL.
type Resolver struct {
	svc        *Service
	baseDomain string
	ttl        time.Duration
	now        func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	t   *Tenant // nil: unknown or disabled
	exp time.Time
}

// NewResolver returns a Resolver for hosts under baseDomain (e.g. "localhost" or "example.lg.jp").
func NewResolver(svc *Service, baseDomain string, ttl time.Duration) *Resolver {
	return &Resolver{svc: svc, baseDomain: strings.ToLower(baseDomain), ttl: ttl, now: time.Now, cache: map[string]cached{}}
}

// Resolve returns the kind of host and, for a city host, its active tenant. An unknown or disabled
// city yields HostUnknown and a nil tenant. Database failures are returned as errors.
func (r *Resolver) Resolve(ctx context.Context, host string) (HostKind, *Tenant, error) {
	host = normalizeHost(host)
	sub, ok := strings.CutSuffix(host, "."+r.baseDomain)
	if ok && !strings.Contains(sub, ".") {
		switch sub {
		case "callcenter":
			return HostCallCenter, nil, nil
		case "ops":
			return HostOps, nil, nil
		case "status":
			return HostStatus, nil, nil
		}
	}
	r.mu.Lock()
	c, hit := r.cache[host]
	r.mu.Unlock()
	if hit && r.now().Before(c.exp) {
		if c.t == nil {
			return HostUnknown, nil, nil
		}
		return HostCity, c.t, nil
	}
	t, err := r.lookup(ctx, host, sub, ok && !strings.Contains(sub, "."))
	if err != nil {
		return HostUnknown, nil, err
	}
	if t != nil && t.Status != Active {
		t = nil
	}
	r.mu.Lock()
	if len(r.cache) > 10000 { // bounded: hostile Host headers cannot grow it without limit
		r.cache = map[string]cached{}
	}
	r.cache[host] = cached{t: t, exp: r.now().Add(r.ttl)}
	r.mu.Unlock()
	if t == nil {
		return HostUnknown, nil, nil
	}
	return HostCity, t, nil
}

func (r *Resolver) lookup(ctx context.Context, host, sub string, isSub bool) (*Tenant, error) {
	if isSub {
		t, err := r.svc.BySlug(ctx, sub)
		if ErrorCode(err) == NotFound {
			return nil, nil
		}
		return t, err
	}
	t := new(Tenant)
	err := r.svc.db.NewSelect().Model(t).
		Where("id = (SELECT tenant FROM tenant_domains WHERE domain = ?)", host).Scan(ctx)
	if ErrorCode(DBError(err)) == NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, DBError(err)
	}
	return t, nil
}

// normalizeHost lower-cases host and strips a port and a trailing dot.
func normalizeHost(host string) string {
	host = strings.ToLower(strings.TrimSpace(host))
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	return strings.TrimSuffix(host, ".")
}
