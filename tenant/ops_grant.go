package tenant

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// This file is the call center's grants: which cities each operator may serve. The call-center
// console checks a grant (CheckGrant) before it opens a city's scope for an operator. Granting
// and revoking are vendor actions on the city, written in the city's scope to its audit log (its
// admins see who may serve their citizens) and to the vendor's log.

// Grant is one city an operator may serve.
type Grant struct {
	TenantID  uuid.UUID `bun:"tenant_id"`
	Slug      string    `bun:"slug"`
	Name      string    `bun:"name"`
	NameKana  string    `bun:"name_kana"`
	Status    Status    `bun:"status"`
	GrantedBy string    `bun:"granted_by"`
	GrantedAt time.Time `bun:"granted_at"`
	// TrainingOf is set for a training city (研修用): a call center may be granted one to train its
	// operators, and both consoles mark it wherever it is shown.
	TrainingOf *uuid.UUID `bun:"training_of"`
}

// Training reports whether the granted city is a training city.
func (g *Grant) Training() bool { return g.TrainingOf != nil }

// grantScope finds the city with slug (not_found "tenant.not_found"), then runs fn in its scope
// with the operator's account locked (not_found "ops.account.not_found"; invalid
// "ops.grant.not_operator" for an account of the ops team), so a grant and a disable or another
// grant do not cross.
func (o *OpsAccounts) grantScope(ctx context.Context, operatorID uuid.UUID, slug string, by Actor, fn func(ctx context.Context, tx bun.Tx, op *OpsAccount, t *Tenant) error) error {
	if err := platformOnly(by); err != nil {
		return err
	}
	var t Tenant
	err := o.db.NewSelect().Model(&t).Where("slug = ?", strings.ToLower(strings.TrimSpace(slug))).Scan(ctx)
	if ErrorCode(DBError(err)) == NotFound {
		return &Error{Code: NotFound, Key: "tenant.not_found", Err: err}
	}
	if err != nil {
		return DBError(err)
	}
	return InTx(ctx, o.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var op OpsAccount
		err := tx.NewSelect().Model(&op).Where("id = ?", operatorID).For("UPDATE").Scan(ctx)
		if ErrorCode(DBError(err)) == NotFound {
			return &Error{Code: NotFound, Key: "ops.account.not_found", Err: err}
		}
		if err != nil {
			return err
		}
		if !op.Role.Serves() {
			return &Error{Code: Invalid, Key: "ops.grant.not_operator", Fields: map[string]string{"operator": "ops.grant.not_operator"}}
		}
		return fn(ctx, tx, &op, &t)
	})
}

// Grant lets operator serve the city with slug. Granting again changes nothing. A training city
// (研修用) may be granted: a call center trains its operators on it, with its practice cards, and
// no call there reaches a citizen. It returns not_found ("ops.account.not_found",
// "tenant.not_found"), invalid ("ops.grant.not_operator") for an account of the ops team, and
// forbidden for an actor who is not the vendor (or the system). Audit: "vendor.operator.grant"
// (target: the operator's login id).
func (o *OpsAccounts) Grant(ctx context.Context, operatorID uuid.UUID, slug string, by Actor) (err error) {
	defer Wrap(&err, "tenant.OpsAccounts.Grant(%s)", operatorID)
	return o.grantScope(ctx, operatorID, slug, by, func(ctx context.Context, tx bun.Tx, op *OpsAccount, t *Tenant) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO operator_grants (operator, tenant, granted_by, granted_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (operator, tenant) DO NOTHING`, op.ID, t.ID, clip(by.Name(), 100), o.now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return auditVendor(ctx, tx, t.ID, by, "vendor.operator.grant", op.LoginID, nil, map[string]any{"operator": op.LoginID, "name": op.DisplayName})
	})
}

// Revoke ends operator's grant of the city with slug; their next request for it is refused
// (CheckGrant). It returns not_found ("ops.grant.not_found") when there is no such grant, the
// not_found errors of Grant, and forbidden for an actor who is not the vendor (or the system).
// Audit: "vendor.operator.revoke".
func (o *OpsAccounts) Revoke(ctx context.Context, operatorID uuid.UUID, slug string, by Actor) (err error) {
	defer Wrap(&err, "tenant.OpsAccounts.Revoke(%s)", operatorID)
	err = o.grantScope(ctx, operatorID, slug, by, func(ctx context.Context, tx bun.Tx, op *OpsAccount, t *Tenant) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM operator_grants WHERE operator = ? AND tenant = ?", op.ID, t.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &Error{Code: NotFound, Key: "ops.grant.not_found"}
		}
		return auditVendor(ctx, tx, t.ID, by, "vendor.operator.revoke", op.LoginID, map[string]any{"operator": op.LoginID}, nil)
	})
	if e := AsError(err); e != nil && e.Key == "ops.grant.not_operator" {
		return &Error{Code: NotFound, Key: "ops.grant.not_found", Err: err}
	}
	return err
}

// Grants returns the cities operator may serve, ordered by slug (a disabled city included, with
// its status: the console leaves it out).
func (o *OpsAccounts) Grants(ctx context.Context, operatorID uuid.UUID) (_ []Grant, err error) {
	defer Wrap(&err, "tenant.OpsAccounts.Grants()")
	var out []Grant
	err = o.db.NewSelect().TableExpr("operator_grants AS g").Join("JOIN tenants AS t ON t.id = g.tenant").
		ColumnExpr("t.id AS tenant_id, t.slug, t.name, t.name_kana, t.status, t.training_of, g.granted_by, g.granted_at").
		Where("g.operator = ?", operatorID).OrderExpr("t.slug").Scan(ctx, &out)
	return out, DBError(err)
}

// CheckGrant is the call center's check before it opens a city's scope for an operator: nil when
// operatorID is an enabled operator granted tenantID, an active city. Otherwise it returns
// forbidden ("ops.grant.none") and records the refusal in the city's audit log and the vendor's
// ("vendor.operator.denied"), so a city sees who tried to reach its data.
func (o *OpsAccounts) CheckGrant(ctx context.Context, operatorID, tenantID uuid.UUID, ip string) (err error) {
	defer Wrap(&err, "tenant.OpsAccounts.CheckGrant(%s, %s)", operatorID, tenantID)
	var row struct {
		Login    string `bun:"login_id"`
		Granted  bool   `bun:"granted"`
		Eligible bool   `bun:"eligible"`
		Active   bool   `bun:"active"`
		Found    bool   `bun:"found"`
	}
	err = o.db.NewRaw(`SELECT coalesce(a.login_id, '') AS login_id,
			coalesce(a.role IN ('operator', 'supervisor') AND NOT a.disabled, false) AS eligible,
			EXISTS (SELECT 1 FROM operator_grants g WHERE g.operator = ? AND g.tenant = t.id) AS granted,
			t.status = 'active' AS active, true AS found
		FROM tenants t LEFT JOIN ops_accounts a ON a.id = ? WHERE t.id = ?`, operatorID, operatorID, tenantID).Scan(ctx, &row)
	if err := DBError(err); err != nil && ErrorCode(err) != NotFound {
		return err
	}
	if row.Granted && row.Eligible && row.Active {
		return nil
	}
	denied := Errorf(Forbidden, "ops.grant.none")
	if !row.Found {
		return denied // no such city to record it in
	}
	login := row.Login
	if login == "" {
		login = "unknown"
	}
	by := Operator(operatorID, login, ip)
	err = InTx(ctx, o.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		return auditVendor(ctx, tx, tenantID, by, "vendor.operator.denied", login, nil,
			map[string]any{"granted": row.Granted, "operator": row.Eligible, "city_active": row.Active})
	})
	if err != nil {
		return err
	}
	return denied
}
