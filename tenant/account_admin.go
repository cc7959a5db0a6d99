package tenant

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// This file is what a city's admin (市管理者) does to staff accounts, and the audit-log queries
// behind the audit screen. Every change is audit-logged in its own transaction; passwords,
// initial or not, are never written to the log.

// List returns the tenant's staff accounts ordered by login id.
func (a *Accounts) List(ctx context.Context, t *Tenant) (_ []Account, err error) {
	defer Wrap(&err, "tenant.Accounts.List(%s)", t.ID)
	var out []Account
	err = InTx(ctx, a.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&out).Order("login_id").Scan(ctx)
	})
	return out, err
}

// Locked reports whether acc may not log in now because of failed attempts: 15 minutes after
// every 10th failure, and from the 20th until an admin unlocks it.
func (a *Accounts) Locked(acc *Account) bool {
	return lockedAt(acc.FailedCount, acc.LockedUntil, a.now())
}

// InitialExpired reports whether acc still has its initial (or reset) password and that
// password's 72 hours are over, so it can no longer log in until an admin resets it again.
func (a *Accounts) InitialExpired(acc *Account) bool {
	return initialExpiredAt(acc.MustChange, acc.PasswordExpiresAt, a.now())
}

// update locks one account of the tenant, lets change modify it and returns the columns to write;
// it returns not_found for an unknown id (another city's account included).
func (a *Accounts) update(ctx context.Context, t *Tenant, id uuid.UUID, change func(ctx context.Context, tx bun.Tx, acc *Account) ([]string, error)) (*Account, error) {
	var acc Account
	err := InTx(ctx, a.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(&acc).Where("id = ?", id).For("UPDATE").Scan(ctx); err != nil {
			return DBError(err)
		}
		cols, err := change(ctx, tx, &acc)
		if err != nil || len(cols) == 0 {
			return err
		}
		acc.UpdatedAt = a.now()
		_, err = tx.NewUpdate().Model(&acc).Column(append(cols, "updated_at")...).WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &acc, nil
}

// ResetPassword gives the account a new initial password (initial is hashed, never logged): it
// must be changed at the next login and expires after 72 hours. The failure counter and any
// lock are cleared. It returns forbidden ("admin.accounts.self") when by targets their own
// account (they change their password with ChangePassword) and not_found for an unknown id.
func (a *Accounts) ResetPassword(ctx context.Context, t *Tenant, id uuid.UUID, initial string, by Actor) (_ *Account, err error) {
	defer Wrap(&err, "tenant.Accounts.ResetPassword(%s, %s)", t.ID, id)
	if id == by.AccountID {
		return nil, Errorf(Forbidden, "admin.accounts.self")
	}
	return a.update(ctx, t, id, func(ctx context.Context, tx bun.Tx, acc *Account) ([]string, error) {
		cols, after := resetPassword(acc, initial, a.now())
		return cols, Audit(ctx, tx, t.ID, AuditEntry{Actor: by.Login, Action: "account.reset_password", Target: acc.LoginID, IP: by.IP,
			After: after})
	})
}

// resetPassword gives acc an issued password (must be changed at the next login, expires after
// 72 hours) and clears its failures and lock. It returns the columns to write and the audit
// log's "after" (never the password).
func resetPassword(acc *Account, initial string, now time.Time) ([]string, map[string]any) {
	exp := now.Add(initialPwLife)
	acc.PasswordHash, acc.MustChange, acc.PasswordExpiresAt = hashPassword(initial), true, &exp
	acc.FailedCount, acc.LockedUntil = 0, nil
	return []string{"password_hash", "must_change", "password_expires_at", "failed_count", "locked_until"},
		map[string]any{"must_change": true, "expires_at": exp.UTC().Format(time.RFC3339)}
}

// Unlock clears the account's failure counter and lock. It returns not_found for an unknown id.
func (a *Accounts) Unlock(ctx context.Context, t *Tenant, id uuid.UUID, by Actor) (_ *Account, err error) {
	defer Wrap(&err, "tenant.Accounts.Unlock(%s, %s)", t.ID, id)
	return a.update(ctx, t, id, func(ctx context.Context, tx bun.Tx, acc *Account) ([]string, error) {
		before := map[string]any{"failed_count": acc.FailedCount, "locked": a.Locked(acc)}
		acc.FailedCount, acc.LockedUntil = 0, nil
		return []string{"failed_count", "locked_until"},
			Audit(ctx, tx, t.ID, AuditEntry{Actor: by.Login, Action: "account.unlock", Target: acc.LoginID, IP: by.IP,
				Before: before, After: map[string]any{"failed_count": 0, "locked": false}})
	})
}

// SetDisabled disables or re-enables an account. A disabled account cannot log in and its
// sessions end (the caller deletes them; requireStaff also refuses them at their next request).
// It returns forbidden ("admin.accounts.self") when by targets their own account, and not_found
// for an unknown id. Setting the current value changes nothing and logs nothing.
func (a *Accounts) SetDisabled(ctx context.Context, t *Tenant, id uuid.UUID, disabled bool, by Actor) (_ *Account, err error) {
	defer Wrap(&err, "tenant.Accounts.SetDisabled(%s, %s)", t.ID, id)
	if id == by.AccountID {
		return nil, Errorf(Forbidden, "admin.accounts.self")
	}
	return a.update(ctx, t, id, func(ctx context.Context, tx bun.Tx, acc *Account) ([]string, error) {
		if acc.Disabled == disabled {
			return nil, nil
		}
		action := "account.enable"
		if disabled {
			action = "account.disable"
		}
		before := map[string]any{"disabled": acc.Disabled}
		acc.Disabled = disabled
		return []string{"disabled"}, Audit(ctx, tx, t.ID, AuditEntry{Actor: by.Login, Action: action, Target: acc.LoginID, IP: by.IP,
			Before: before, After: map[string]any{"disabled": disabled}})
	})
}

// SetRole changes an account's role. It returns invalid (field "role") for an unknown role,
// forbidden ("admin.accounts.self") when by targets their own account (so a city always keeps
// the admin who is acting), and not_found for an unknown id.
func (a *Accounts) SetRole(ctx context.Context, t *Tenant, id uuid.UUID, role Role, by Actor) (_ *Account, err error) {
	defer Wrap(&err, "tenant.Accounts.SetRole(%s, %s)", t.ID, id)
	if role != RoleAdmin && role != RoleStaff {
		return nil, &Error{Code: Invalid, Key: "error.invalid", Fields: map[string]string{"role": "staff.role.invalid"}}
	}
	if id == by.AccountID {
		return nil, Errorf(Forbidden, "admin.accounts.self")
	}
	return a.update(ctx, t, id, func(ctx context.Context, tx bun.Tx, acc *Account) ([]string, error) {
		if acc.Role == role {
			return nil, nil
		}
		before := map[string]any{"role": acc.Role}
		acc.Role = role
		return []string{"role"}, Audit(ctx, tx, t.ID, AuditEntry{Actor: by.Login, Action: "account.role", Target: acc.LoginID, IP: by.IP,
			Before: before, After: map[string]any{"role": role}})
	})
}

// RecordAudit writes one audit entry in its own transaction, for actions that change nothing
// else (an export, for instance).
func (a *Accounts) RecordAudit(ctx context.Context, t *Tenant, e AuditEntry) (err error) {
	defer Wrap(&err, "tenant.Accounts.RecordAudit(%s)", t.ID)
	return InTx(ctx, a.db, t.ID, func(ctx context.Context, tx bun.Tx) error { return Audit(ctx, tx, t.ID, e) })
}

// AuditRecord is one stored audit-log entry; Before and After are JSON text ("" when absent).
type AuditRecord struct {
	ID     uuid.UUID `bun:"id"`
	At     time.Time `bun:"at"`
	Actor  string    `bun:"actor"`
	Action string    `bun:"action"`
	Target string    `bun:"target"`
	Before string    `bun:"before"`
	After  string    `bun:"after"`
	IP     string    `bun:"ip"`
}

// AuditQuery selects audit entries: From inclusive, To exclusive (zero: open), Actor and Action
// exact ("" for any).
type AuditQuery struct {
	From, To      time.Time
	Actor, Action string
	Page          int // 1-based; clamped to the last page
	PerPage       int // default 50, at most 500
}

// MaxAuditExport is the most entries one export holds.
const MaxAuditExport = 100_000

func (q AuditQuery) where(sq *bun.SelectQuery) *bun.SelectQuery {
	if !q.From.IsZero() {
		sq = sq.Where("at >= ?", q.From)
	}
	if !q.To.IsZero() {
		sq = sq.Where("at < ?", q.To)
	}
	if q.Actor != "" {
		sq = sq.Where("actor = ?", strings.TrimSpace(q.Actor))
	}
	if q.Action != "" {
		sq = sq.Where("action = ?", q.Action)
	}
	return sq
}

func auditSelect(tx bun.IDB) *bun.SelectQuery {
	return tx.NewSelect().Table("audit_log").
		ColumnExpr("id, at, actor, action, target, ip, coalesce(before::text, '') AS before, coalesce(after::text, '') AS after")
}

// AuditLog returns one page of the tenant's audit entries matching q, newest first, the number
// of matching entries and the page actually shown.
func (a *Accounts) AuditLog(ctx context.Context, t *Tenant, q AuditQuery) (recs []AuditRecord, total, page int, err error) {
	defer Wrap(&err, "tenant.Accounts.AuditLog(%s)", t.ID)
	if q.PerPage <= 0 {
		q.PerPage = 50
	}
	q.PerPage = min(q.PerPage, 500)
	err = InTx(ctx, a.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		n, err := q.where(tx.NewSelect().Table("audit_log")).Count(ctx)
		if err != nil {
			return err
		}
		total = int(n)
		pages := max((total+q.PerPage-1)/q.PerPage, 1)
		page = min(max(q.Page, 1), pages)
		return q.where(auditSelect(tx)).Order("at DESC", "id").Limit(int64(q.PerPage)).Offset(int64((page-1)*q.PerPage)).Scan(ctx, &recs)
	})
	return recs, total, page, err
}

// AuditExport returns every entry matching q (at most MaxAuditExport), oldest first. It returns
// invalid ("audit.export.too_many") when more match; the caller narrows the range.
func (a *Accounts) AuditExport(ctx context.Context, t *Tenant, q AuditQuery) (_ []AuditRecord, err error) {
	defer Wrap(&err, "tenant.Accounts.AuditExport(%s)", t.ID)
	var recs []AuditRecord
	err = InTx(ctx, a.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := q.where(auditSelect(tx)).Order("at", "id").Limit(MaxAuditExport+1).Scan(ctx, &recs); err != nil {
			return err
		}
		if len(recs) > MaxAuditExport {
			return Errorf(Invalid, "audit.export.too_many").WithArgs(map[string]any{"max": MaxAuditExport})
		}
		return nil
	})
	return recs, err
}

// AuditActions lists the distinct actions in the tenant's audit log, for the filter.
func (a *Accounts) AuditActions(ctx context.Context, t *Tenant) (_ []string, err error) {
	defer Wrap(&err, "tenant.Accounts.AuditActions(%s)", t.ID)
	var out []string
	err = InTx(ctx, a.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT DISTINCT action FROM audit_log ORDER BY action").Scan(ctx, &out)
	})
	return out, err
}
