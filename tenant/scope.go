package tenant

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// InTx runs fn in a transaction that can see only tenantID's rows: row-level security policies
// compare every row's tenant_id with the transaction-local setting app.tenant_id. The setting is
// set with is_local=true, so a pooled connection never carries it into another request. All tenant
// data is read and written through this function; fn must not keep tx after it returns.
//
// Database errors are translated by DBError.
func InTx(ctx context.Context, db bun.IDB, tenantID uuid.UUID, fn func(ctx context.Context, tx bun.Tx) error) error {
	if tenantID == uuid.Nil {
		return Errorf(Internal, "error.internal").Wrap(fmt.Errorf("tenant scope without a tenant"))
	}
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SELECT set_config('app.tenant_id', ?, true)", tenantID.String()); err != nil {
			return fmt.Errorf("set tenant scope: %w", err)
		}
		return fn(ctx, tx)
	})
	return DBError(err)
}
