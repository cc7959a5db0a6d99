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
	noScopeLeft(t, d.App)
}

// noScopeLeft fails the test when a connection of db's pool still carries a tenant scope: the pool
// has few idle connections, and every one must have lost the setting.
func noScopeLeft(t *testing.T, db *bun.DB) {
	t.Helper()
	for range 5 {
		var v string
		if err := db.QueryRowContext(context.Background(), "SELECT coalesce(current_setting('app.tenant_id', true), '')").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != "" {
			t.Fatalf("app.tenant_id = %q on a pooled connection, want empty", v)
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

// TestPipelinedReads: QueryRow and Query, the one-round-trip reads, run nothing without a tenant,
// see only their tenant's rows, turn no row into not_found and a bad statement into an error, and
// leave no scope on the pooled connections.
func TestPipelinedReads(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	a := tenanttest.MustCreateTenant(t, d.App)
	b := tenanttest.MustCreateTenant(t, d.App)
	for i, tn := range []*tenant.Tenant{a, a, b} {
		if err := tenant.InTx(ctx, d.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
			return tenant.Audit(ctx, tx, tn.ID, tenant.AuditEntry{Actor: "seed", Action: "test.seed", Target: string(rune('a' + i))})
		}); err != nil {
			t.Fatal(err)
		}
	}
	targets := func(id uuid.UUID, query string) ([]string, error) {
		var out []string
		err := tenant.Query(ctx, d.App, id, func(rows pgx.Rows) error {
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					return err
				}
				out = append(out, s)
			}
			return nil
		}, query)
		return out, err
	}

	scanned := false
	err := tenant.QueryRow(ctx, d.App, uuid.Nil, func(pgx.Row) error { scanned = true; return nil }, "SELECT 1")
	if tenant.ErrorCode(err) != tenant.Internal || scanned {
		t.Errorf("QueryRow(nil tenant) = %v (scanned %v), want internal and nothing run", err, scanned)
	}
	if _, err := targets(uuid.Nil, "SELECT target FROM audit_log"); tenant.ErrorCode(err) != tenant.Internal {
		t.Errorf("Query(nil tenant) = %v, want internal", err)
	}

	got, err := targets(a.ID, "SELECT target FROM audit_log ORDER BY target")
	if err != nil || len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("Query in A's scope = %v, %v; want [a b] (A's rows only)", got, err)
	}
	var n int
	if err := tenant.QueryRow(ctx, d.App, b.ID, func(r pgx.Row) error { return r.Scan(&n) }, "SELECT count(*) FROM audit_log"); err != nil || n != 1 {
		t.Errorf("QueryRow count in B's scope = %d, %v; want 1", n, err)
	}
	err = tenant.QueryRow(ctx, d.App, b.ID, func(r pgx.Row) error { return r.Scan(&n) }, "SELECT 1 FROM audit_log WHERE target = 'a'")
	if tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("QueryRow of A's row in B's scope = %v, want not_found", err)
	}
	if _, err := targets(a.ID, "SELECT no_such_column FROM audit_log"); err == nil {
		t.Error("Query of a bad statement succeeded")
	}

	noScopeLeft(t, d.App)
}
