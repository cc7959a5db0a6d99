package tenant

import (
	"context"
	"strings"
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

// Resolver maps a request's Host header to a tenant through the Directory, so a rush does not hit
// the database on every request; a disabled tenant stops answering within the directory's TTL.
type Resolver struct {
	dir        *Directory
	baseDomain string
}

// NewResolver returns a Resolver for hosts under baseDomain (e.g. "localhost" or "example.lg.jp").
func NewResolver(dir *Directory, baseDomain string) *Resolver {
	return &Resolver{dir: dir, baseDomain: strings.ToLower(baseDomain)}
}

// Directory is the tenant cache the resolver reads.
func (r *Resolver) Directory() *Directory { return r.dir }

// Resolve returns the kind of host and, for a city host, its active tenant. An unknown or disabled
// city yields HostUnknown and a nil tenant. Database failures are returned as errors.
func (r *Resolver) Resolve(ctx context.Context, host string) (HostKind, *Tenant, error) {
	host = normalizeHost(host)
	sub, ok := strings.CutSuffix(host, "."+r.baseDomain)
	isSub := ok && !strings.Contains(sub, ".")
	if isSub {
		switch sub {
		case "callcenter":
			return HostCallCenter, nil, nil
		case "ops":
			return HostOps, nil, nil
		case "status":
			return HostStatus, nil, nil
		}
	}
	var t *Tenant
	var err error
	if isSub {
		t, err = r.dir.bySlug(ctx, sub)
	} else {
		t, err = r.dir.byDomain(ctx, host)
	}
	if err != nil {
		return HostUnknown, nil, err
	}
	if t == nil || t.Status != Active {
		return HostUnknown, nil, nil
	}
	return HostCity, t, nil
}

// normalizeHost lower-cases host and strips a port and a trailing dot.
func normalizeHost(host string) string {
	host = strings.ToLower(strings.TrimSpace(host))
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	return strings.TrimSuffix(host, ".")
}
