package tenant

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// AuditEntry is one line of the append-only audit log: who did what to which record, with the
// state before and after. Never put a password, MMDD or full e-mail in it.
type AuditEntry struct {
	Actor  string
	Action string
	Target string
	Before map[string]any
	After  map[string]any
	IP     string
}

// Audit writes e in the caller's transaction, so the log and the change commit together.
func Audit(ctx context.Context, tx bun.IDB, tenantID uuid.UUID, e AuditEntry) error {
	var before, after *string
	for _, x := range []struct {
		m   map[string]any
		out **string
	}{{e.Before, &before}, {e.After, &after}} {
		if x.m != nil {
			b, err := json.Marshal(x.m)
			if err != nil {
				return err
			}
			s := string(b)
			*x.out = &s
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (tenant_id, actor, action, target, before, after, ip)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, tenantID, e.Actor, e.Action, e.Target, before, after, e.IP)
	return err
}
