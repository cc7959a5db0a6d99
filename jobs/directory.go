package jobs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/madoguchi/madoguchi/tenant"
)

// Directory is a short-lived cache of the global tenants table, which the relay and the
// periodic jobs walk every second: the list is read at most once per TTL (and again when an id
// is not in it, so a new city is seen at once).
type Directory struct {
	svc *tenant.Service
	ttl time.Duration

	mu   sync.Mutex
	at   time.Time
	list []tenant.Tenant
}

// NewDirectory returns a Directory over svc (ttl 0: 10 s).
func NewDirectory(svc *tenant.Service, ttl time.Duration) *Directory {
	if ttl <= 0 {
		ttl = 10 * time.Second
	}
	return &Directory{svc: svc, ttl: ttl}
}

// All returns every tenant, active or not.
func (d *Directory) All(ctx context.Context) ([]tenant.Tenant, error) {
	return d.load(ctx, false)
}

// Active returns the active tenants.
func (d *Directory) Active(ctx context.Context) ([]tenant.Tenant, error) {
	all, err := d.load(ctx, false)
	var out []tenant.Tenant
	for _, t := range all {
		if t.Status == tenant.Active {
			out = append(out, t)
		}
	}
	return out, err
}

// Get returns the tenant with id. An unknown id ends the task without retries.
func (d *Directory) Get(ctx context.Context, id uuid.UUID) (*tenant.Tenant, error) {
	for _, refresh := range []bool{false, true} {
		all, err := d.load(ctx, refresh)
		if err != nil {
			return nil, err
		}
		for i := range all {
			if all[i].ID == id {
				t := all[i]
				return &t, nil
			}
		}
	}
	return nil, fmt.Errorf("tenant %s does not exist: %w", id, asynq.SkipRetry)
}

func (d *Directory) load(ctx context.Context, refresh bool) ([]tenant.Tenant, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !refresh && d.list != nil && time.Since(d.at) < d.ttl {
		return d.list, nil
	}
	list, err := d.svc.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	d.list, d.at = list, time.Now()
	return list, nil
}
