package tenant_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// TestInPgxTx checks that the pgx-level scope behaves like InTx: no tenant, nothing runs; inside
// the scope only the tenant's rows are visible and writable (WITH CHECK); COPY into a TEMP table
// works; the setting does not outlive the transaction on the pooled connection.
func TestInPgxTx(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	a := tenanttest.MustCreateTenant(t, d.App)
	b := tenanttest.MustCreateTenant(t, d.App)
	for _, tn := range []*tenant.Tenant{a, b} {
		if err := tenant.Audit(ctx, d.App, tn.ID, tenant.AuditEntry{Actor: "seed", Action: "test.seed"}); err == nil {
			t.Fatal("unscoped audit insert succeeded, want an RLS refusal")
		}
	}

	ran := false
	err := tenant.InPgxTx(ctx, d.App, uuid.Nil, func(ctx context.Context, tx pgx.Tx) error { ran = true; return nil })
	if tenant.ErrorCode(err) != tenant.Internal || ran {
		t.Fatalf("InPgxTx(nil tenant) = %v (ran %v), want internal and fn not run", err, ran)
	}

	err = tenant.InPgxTx(ctx, d.App, a.ID, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO audit_log (tenant_id, actor, action) VALUES ($1, 'x', 'test.own')", a.ID); err != nil {
			t.Errorf("insert own row: %v", err)
		}
		if _, err := tx.Exec(ctx, "CREATE TEMP TABLE stage (v text) ON COMMIT DROP"); err != nil {
			return err
		}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{"stage"}, []string{"v"}, pgx.CopyFromRows([][]any{{"1"}, {"2"}}))
		if err != nil || n != 2 {
			t.Errorf("CopyFrom into TEMP = %d, %v; want 2, nil", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = tenant.InPgxTx(ctx, d.App, a.ID, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO audit_log (tenant_id, actor, action) VALUES ($1, 'x', 'test.other')", b.ID)
		return err
	})
	if tenant.ErrorCode(err) != tenant.Forbidden {
		t.Fatalf("insert of B's row under A's scope = %v, want forbidden", err)
	}
	err = tenant.InPgxTx(ctx, d.App, a.ID, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_log"}, []string{"tenant_id", "actor", "action"}, pgx.CopyFromRows([][]any{{a.ID, "x", "y"}}))
		return err
	})
	if err == nil {
		t.Fatal("COPY into an RLS table succeeded; the staging design relies on it being refused")
	}
	var seenA, seenB int
	err = tenant.InPgxTx(ctx, d.App, b.ID, func(ctx context.Context, tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT count(*) FILTER (WHERE tenant_id = $1), count(*) FILTER (WHERE tenant_id = $2) FROM audit_log", a.ID, b.ID).Scan(&seenA, &seenB); err != nil {
			return err
		}
		return nil
	})
	if err != nil || seenA != 0 {
		t.Fatalf("B's scope saw %d of A's audit rows (err %v), want 0", seenA, err)
	}
	// The pool has few idle connections; every one must have lost the setting.
	for range 5 {
		var v string
		if err := d.App.QueryRowContext(ctx, "SELECT coalesce(current_setting('app.tenant_id', true), '')").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != "" {
			t.Fatalf("app.tenant_id = %q outside the transaction, want empty", v)
		}
	}
}

// TestInSnapshot: the snapshot scope sees only its tenant, one moment for all its queries (a row
// committed meanwhile stays invisible), and refuses writes.
func TestInSnapshot(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	a := tenanttest.MustCreateTenant(t, d.App)
	b := tenanttest.MustCreateTenant(t, d.App)
	audit := func(id uuid.UUID) {
		t.Helper()
		if err := tenant.InTx(ctx, d.App, id, func(ctx context.Context, tx bun.Tx) error {
			return tenant.Audit(ctx, tx, id, tenant.AuditEntry{Actor: "seed", Action: "test.seed"})
		}); err != nil {
			t.Fatal(err)
		}
	}
	audit(a.ID)
	audit(b.ID)
	count := func(ctx context.Context, tx bun.Tx) int {
		t.Helper()
		var n int
		if err := tx.NewRaw("SELECT count(*) FROM audit_log").Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	err := tenant.InSnapshot(ctx, d.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		if n := count(ctx, tx); n != 1 {
			t.Errorf("first read sees %d rows, want A's 1", n)
		}
		audit(a.ID) // committed by another transaction meanwhile
		if n := count(ctx, tx); n != 1 {
			t.Errorf("second read sees %d rows, want 1 (the snapshot)", n)
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO audit_log (tenant_id, actor, action) VALUES (?, 'x', 'test.write')", a.ID)
		if err == nil {
			t.Error("insert in the snapshot succeeded, want a read-only refusal")
		}
		return nil
	})
	if err == nil {
		t.Error("InSnapshot after a refused write = nil, want the aborted transaction's error")
	}
	if err := tenant.InSnapshot(ctx, d.App, uuid.Nil, func(context.Context, bun.Tx) error { return nil }); tenant.ErrorCode(err) != tenant.Internal {
		t.Errorf("InSnapshot(nil tenant) = %v, want internal", err)
	}
}
