package ui

import (
	"context"
	"encoding/json"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// endStaffSessions deletes every live staff session of one account (ASVS 7.4.2): called when an
// admin disables it, changes its role or resets its password.
//
// The session store (session.go) keeps no per-account index, so this SCANs the staff session
// keys ("mdg:sess:mdg_staff:*") and deletes those whose JSON names the account. A city has tens
// to hundreds of staff, and Redis holds only live sessions (idle TTL 60 min), so a scan is cheap
// at this scale; SCAN does not block Redis. On a Redis Cluster every master is scanned. If the
// store ever gains a per-account set of session ids, use it here instead.
//
// This is the eager half. The other half is requireStaff, which reloads the account on every
// request and destroys the session of a disabled account, so a session the scan misses (one
// written while it ran) still ends at its next request.
func (u *UI) endStaffSessions(ctx context.Context, tenantID, staffID uuid.UUID) (int, error) {
	pattern := u.staffSess.key("*")
	var ended atomic.Int64 // ForEachMaster scans the masters concurrently
	scan := func(ctx context.Context, rdb redis.Cmdable) error {
		iter := rdb.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			key := iter.Val()
			b, err := rdb.Get(ctx, key).Bytes()
			if err == redis.Nil {
				continue // expired meanwhile
			}
			if err != nil {
				return err
			}
			var s struct {
				TenantID uuid.UUID `json:"tenant_id"`
				StaffID  uuid.UUID `json:"staff_id"`
			}
			if json.Unmarshal(b, &s) != nil || s.StaffID != staffID || s.TenantID != tenantID {
				continue
			}
			if err := rdb.Del(ctx, key).Err(); err != nil {
				return err
			}
			ended.Add(1)
		}
		return iter.Err()
	}
	var err error
	if cc, ok := u.deps.Redis.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, u.deps.Redis)
	}
	return int(ended.Load()), err
}
