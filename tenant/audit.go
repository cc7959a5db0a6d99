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
	before, after, err := auditJSON(e)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (tenant_id, actor, action, target, before, after, ip)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, tenantID, e.Actor, e.Action, e.Target, before, after, e.IP)
	return err
}

// auditJSON returns e's Before and After as JSON text, nil where absent.
func auditJSON(e AuditEntry) (before, after *string, err error) {
	for _, x := range []struct {
		m   map[string]any
		out **string
	}{{e.Before, &before}, {e.After, &after}} {
		if x.m != nil {
			b, err := json.Marshal(x.m)
			if err != nil {
				return nil, nil, err
			}
			s := string(b)
			*x.out = &s
		}
	}
	return before, after, nil
}

// opsAudit writes e to the vendor's own log (ops_audit_log) in the caller's transaction;
// tenantID names the city it concerns, uuid.Nil for none.
func opsAudit(ctx context.Context, tx bun.IDB, tenantID uuid.UUID, e AuditEntry) error {
	before, after, err := auditJSON(e)
	if err != nil {
		return err
	}
	var city *uuid.UUID
	if tenantID != uuid.Nil {
		city = &tenantID
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO ops_audit_log (actor, action, tenant, target, before, after, ip)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.Actor, e.Action, city, e.Target, before, after, e.IP)
	return err
}

// auditVendor writes a vendor action on a city both to the city's own audit log (its admins see
// it in their audit viewer, actor "vendor:<login>") and to the vendor's log, in tx.
func auditVendor(ctx context.Context, tx bun.IDB, tenantID uuid.UUID, by Actor, action, target string, before, after map[string]any) error {
	e := AuditEntry{Actor: by.Name(), Action: action, Target: target, Before: before, After: after, IP: by.IP}
	if err := Audit(ctx, tx, tenantID, e); err != nil {
		return err
	}
	return opsAudit(ctx, tx, tenantID, e)
}
