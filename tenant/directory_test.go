package tenant_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// countReads counts the queries that read the tenants table.
type countReads struct{ n atomic.Int64 }

func (c *countReads) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if e.Operation() == "SELECT" && e.Model != nil {
		if _, ok := e.Model.Value().(*[]tenant.Tenant); ok {
			c.n.Add(1)
		}
	}
	return ctx
}
func (c *countReads) AfterQuery(context.Context, *bun.QueryEvent) {}

// TestDirectoryResolves checks the one tenant cache behind host resolution and the worker: a
// city's subdomain and custom domain resolve; a new city is seen on the first miss a second after
// the last read; misses (hostile Host headers) cost at most one read per second; a disabled city
// stops answering once the TTL is over; an unknown id is not_found.
func TestDirectoryResolves(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	reads := &countReads{}
	svc := tenant.NewService(d.App.WithQueryHook(reads))
	a := tenanttest.MustCreateTenant(t, d.App)

	now := tenanttest.NewClock()
	dir := tenant.NewDirectory(svc, 10*time.Second)
	tenant.SetDirectoryClock(dir, now.Now)
	r := tenant.NewResolver(dir, "example.lg.jp")
	resolve := func(host string) *tenant.Tenant {
		t.Helper()
		kind, tn, err := r.Resolve(ctx, host)
		if err != nil {
			t.Fatalf("Resolve(%q): %v", host, err)
		}
		if (kind == tenant.HostCity) != (tn != nil) {
			t.Fatalf("Resolve(%q) = %v, %v: kind and tenant disagree", host, kind, tn)
		}
		return tn
	}

	if got := resolve(a.Slug + ".example.lg.jp:443"); got == nil || got.ID != a.ID {
		t.Fatalf("city host resolved to %v, want %s", got, a.Slug)
	}
	if kind, _, _ := r.Resolve(ctx, "ops.example.lg.jp"); kind != tenant.HostOps {
		t.Errorf("ops host is %v, want HostOps", kind)
	}

	b := tenanttest.MustCreateTenant(t, d.App)
	if _, err := svc.AddDomain(ctx, b.Slug, "yoyaku.city.example.jp", tenant.VendorCLI()); err != nil {
		t.Fatal(err)
	}
	before := reads.n.Load()
	for i := range 200 {
		if got := resolve(uuid.NewString()[:8] + ".example.lg.jp"); got != nil {
			t.Fatalf("unknown host %d resolved to %s", i, got.Slug)
		}
	}
	if got := resolve(b.Slug + ".example.lg.jp"); got != nil {
		t.Fatalf("a city created within the second of the last read resolved (%s): misses must not read again", got.Slug)
	}
	if n := reads.n.Load() - before; n != 0 {
		t.Errorf("201 misses within a second read the tenants table %d times, want 0", n)
	}

	now.Add(time.Second)
	if got := resolve(b.Slug + ".example.lg.jp"); got == nil || got.ID != b.ID {
		t.Fatalf("new city after a second resolved to %v, want %s", got, b.Slug)
	}
	if got := resolve("YOYAKU.city.example.jp."); got == nil || got.ID != b.ID {
		t.Fatalf("custom domain resolved to %v, want %s", got, b.Slug)
	}
	before = reads.n.Load()
	for range 50 {
		resolve(uuid.NewString()[:8] + ".example.lg.jp")
		now.Add(100 * time.Millisecond)
	}
	if n := reads.n.Load() - before; n < 4 || n > 6 {
		t.Errorf("misses over 5 s read the tenants table %d times, want about one per second", n)
	}

	if err := svc.SetStatus(ctx, a.Slug, tenant.Disabled, tenant.VendorCLI()); err != nil {
		t.Fatal(err)
	}
	now.Add(10 * time.Second)
	if got := resolve(a.Slug + ".example.lg.jp"); got != nil {
		t.Errorf("disabled city still resolves after the TTL")
	}
	if got, err := dir.Get(ctx, a.ID); err != nil || got.Status != tenant.Disabled {
		t.Errorf("Get(disabled) = %v, %v; want the disabled tenant (jobs still see it)", got, err)
	}
	if _, err := dir.Get(ctx, uuid.New()); tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("Get(unknown) = %v, want not_found", err)
	}
	active, err := dir.Active(ctx)
	if err != nil || len(active) != 1 || active[0].ID != b.ID {
		t.Errorf("Active = %v, %v; want only %s", active, err, b.Slug)
	}
}
