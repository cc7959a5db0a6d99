package tenant

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Directory is the process's one cache of the global tenants table and its custom domains. Web
// requests resolve their host through it (Resolver) and the worker's relay and periodic jobs walk
// it every second, so the tables are read at most once per TTL. A lookup that misses (a city
// created a moment ago, or a hostile Host header) reads them again, but not more than once per
// second, so unknown hosts cannot turn into one query each.
type Directory struct {
	svc *Service
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	at   time.Time
	snap *snapshot
}

// snapshot is one read of the tables; it is never modified after load, so callers share it.
type snapshot struct {
	list     []Tenant
	byID     map[uuid.UUID]*Tenant
	bySlug   map[string]*Tenant
	byDomain map[string]*Tenant
}

// maxMissRefresh bounds how often lookups that miss read the tables again.
const maxMissRefresh = time.Second

// NewDirectory returns a Directory over svc whose snapshot lives for ttl; ttl <= 0 reads the
// tables on every call (tests).
func NewDirectory(svc *Service, ttl time.Duration) *Directory {
	return &Directory{svc: svc, ttl: ttl, now: time.Now}
}

// All returns every tenant, active or not, ordered by slug. The slice is shared: do not modify it.
func (d *Directory) All(ctx context.Context) ([]Tenant, error) {
	s, err := d.load(ctx, false)
	if err != nil {
		return nil, err
	}
	return s.list, nil
}

// Active returns the active tenants ordered by slug.
func (d *Directory) Active(ctx context.Context) ([]Tenant, error) {
	all, err := d.All(ctx)
	var out []Tenant
	for _, t := range all {
		if t.Status == Active {
			out = append(out, t)
		}
	}
	return out, err
}

// Get returns a copy of the tenant with id, active or not, or not_found.
func (d *Directory) Get(ctx context.Context, id uuid.UUID) (*Tenant, error) {
	t, err := d.find(ctx, func(s *snapshot) *Tenant { return s.byID[id] })
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, &Error{Code: NotFound, Key: "error.not_found", Err: fmt.Errorf("tenant %s does not exist", id)}
	}
	return t, nil
}

// BySlug returns a copy of the tenant with slug, active or not, or not_found (the call-center
// console's city pages, which name the city in their address).
func (d *Directory) BySlug(ctx context.Context, slug string) (*Tenant, error) {
	t, err := d.bySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, &Error{Code: NotFound, Key: "error.not_found", Err: fmt.Errorf("no tenant %q", slug)}
	}
	return t, nil
}

// bySlug and byDomain return a copy of the tenant with that slug or custom domain, or nil.
func (d *Directory) bySlug(ctx context.Context, slug string) (*Tenant, error) {
	return d.find(ctx, func(s *snapshot) *Tenant { return s.bySlug[slug] })
}

func (d *Directory) byDomain(ctx context.Context, domain string) (*Tenant, error) {
	return d.find(ctx, func(s *snapshot) *Tenant { return s.byDomain[domain] })
}

// find looks pick up in the snapshot, reading the tables again on a miss when the snapshot is
// older than maxMissRefresh.
func (d *Directory) find(ctx context.Context, pick func(*snapshot) *Tenant) (*Tenant, error) {
	for _, refresh := range []bool{false, true} {
		s, err := d.load(ctx, refresh)
		if err != nil {
			return nil, err
		}
		if t := pick(s); t != nil {
			c := *t
			return &c, nil
		}
	}
	return nil, nil
}

// load returns the snapshot, reading the tables when it is older than the TTL or, for a miss
// (refresh), older than maxMissRefresh.
func (d *Directory) load(ctx context.Context, refresh bool) (*snapshot, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	maxAge := d.ttl
	if refresh {
		maxAge = min(d.ttl, maxMissRefresh)
	}
	if d.snap != nil && d.now().Sub(d.at) < maxAge {
		return d.snap, nil
	}
	s, err := d.read(ctx)
	if err != nil {
		return nil, fmt.Errorf("read tenant directory: %w", err)
	}
	d.snap, d.at = s, d.now()
	return s, nil
}

func (d *Directory) read(ctx context.Context) (*snapshot, error) {
	list, err := d.svc.List(ctx)
	if err != nil {
		return nil, err
	}
	var domains []struct {
		Domain string    `bun:"domain"`
		Tenant uuid.UUID `bun:"tenant"`
	}
	if err := d.svc.db.NewSelect().Table("tenant_domains").Column("domain", "tenant").Scan(ctx, &domains); err != nil {
		return nil, DBError(err)
	}
	s := &snapshot{list: list, byID: make(map[uuid.UUID]*Tenant, len(list)), bySlug: make(map[string]*Tenant, len(list)),
		byDomain: make(map[string]*Tenant, len(domains))}
	for i := range list {
		s.byID[list[i].ID], s.bySlug[list[i].Slug] = &list[i], &list[i]
	}
	for _, dm := range domains {
		if t := s.byID[dm.Tenant]; t != nil {
			s.byDomain[dm.Domain] = t
		}
	}
	return s, nil
}
