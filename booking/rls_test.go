package booking_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// tenantTables lists, from the catalog, every table in public with a tenant_id column. New tables
// are covered by every test below without editing them.
func tenantTables(t *testing.T, db bun.IDB) []string {
	t.Helper()
	var names []string
	err := db.NewRaw(`SELECT c.relname FROM pg_class c
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
		ORDER BY 1`).Scan(context.Background(), &names)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no tenant tables found")
	}
	return names
}

// TestRowLevelSecurity proves, for every tenant table, that the runtime role scoped to tenant A
// can neither read, update, delete nor insert tenant B's rows, and sees nothing unscoped.
func TestRowLevelSecurity(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	a := tenanttest.MustCreateTenant(t, d.App)
	b := tenanttest.MustCreateTenant(t, d.App)
	bookingtest.SeedAll(t, d.App, a)
	bookingtest.SeedAll(t, d.App, b)

	for _, table := range tenantTables(t, d.App) {
		t.Run(table, func(t *testing.T) {
			ident := pgx.Identifier{table}.Sanitize()
			count := func(tx bun.IDB, where string, args ...any) int {
				t.Helper()
				var n int
				if err := tx.NewRaw("SELECT count(*) FROM "+ident+" WHERE "+where, args...).Scan(ctx, &n); err != nil {
					t.Fatalf("count %s: %v", table, err)
				}
				return n
			}
			// How many rows each tenant has, counted inside its own scope.
			var truthA, truthB int
			for _, x := range []struct {
				id  uuid.UUID
				out *int
			}{{a.ID, &truthA}, {b.ID, &truthB}} {
				if err := tenant.InTx(ctx, d.App, x.id, func(ctx context.Context, tx bun.Tx) error {
					*x.out = count(tx, "true")
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			if truthA == 0 || truthB == 0 {
				t.Fatalf("table %s has no fixture rows (A=%d, B=%d): extend bookingtest.SeedAll", table, truthA, truthB)
			}

			// Unscoped: nothing visible, nothing insertable.
			if n := count(d.App, "true"); n != 0 {
				t.Errorf("unscoped SELECT on %s saw %d rows, want 0", table, n)
			}

			var rowA string // one of A's rows as JSON, to attempt writes with
			err := tenant.InTx(ctx, d.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
				if n := count(tx, "tenant_id <> ?", a.ID); n != 0 {
					t.Errorf("scope A sees %d rows of other tenants in %s", n, table)
				}
				if n := count(tx, "true"); n != truthA {
					t.Errorf("scope A sees %d rows in %s, want %d", n, table, truthA)
				}
				if err := tx.NewRaw("SELECT row_to_json(x)::text FROM "+ident+" x LIMIT 1").Scan(ctx, &rowA); err != nil {
					return err
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// Updates and deletes aimed at B's rows touch nothing (or are not granted at all).
			for _, stmt := range []string{
				"UPDATE " + ident + " SET tenant_id = tenant_id WHERE tenant_id = ?",
				"DELETE FROM " + ident + " WHERE tenant_id = ?",
			} {
				err := tenant.InTx(ctx, d.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
					res, err := tx.ExecContext(ctx, stmt, b.ID)
					if err != nil {
						return err
					}
					if n, _ := res.RowsAffected(); n != 0 {
						t.Errorf("scope A: %q affected %d of B's rows", stmt, n)
					}
					return nil
				})
				var pe *pgconn.PgError
				if err != nil && !(errors.As(err, &pe) && pe.Code == "42501") {
					t.Errorf("scope A: %q: %v", stmt, err)
				}
			}

			// B's rows survived the attempts above.
			_ = tenant.InTx(ctx, d.App, b.ID, func(ctx context.Context, tx bun.Tx) error {
				if n := count(tx, "true"); n != truthB {
					t.Errorf("B has %d rows in %s after A's attempts, want %d", n, table, truthB)
				}
				return nil
			})

			// Writes that would put a row into B while scoped to A, or unscoped, are refused.
			insertAs := fmt.Sprintf(`INSERT INTO %s SELECT (json_populate_record(NULL::%s, jsonb_set(?::jsonb, '{tenant_id}', to_jsonb(?::text))::json)).*`, ident, ident)
			expectRLS := func(name string, err error) {
				t.Helper()
				var pe *pgconn.PgError
				if !errors.As(err, &pe) || pe.Code != "42501" {
					t.Errorf("%s on %s: err = %v, want a row-level security violation (42501)", name, table, err)
				}
			}
			expectRLS("insert B row under scope A", tenant.InTx(ctx, d.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
				_, err := tx.ExecContext(ctx, insertAs, rowA, b.ID.String())
				return err
			}))
			expectRLS("move A row to B under scope A", tenant.InTx(ctx, d.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
				_, err := tx.ExecContext(ctx, "UPDATE "+ident+" SET tenant_id = ? WHERE tenant_id = ?", b.ID, a.ID)
				return err
			}))
			_, err = d.App.ExecContext(ctx, insertAs, rowA, a.ID.String())
			expectRLS("unscoped insert", err)
		})
	}
}

// TestCatalog checks the row-level-security rules over the whole schema (see README, 'Database
// roles and tenancy'): the runtime role is neither superuser nor BYPASSRLS, owns no relation, has
// no TRUNCATE, REFERENCES or TRIGGER grant and cannot read schema_migrations; every tenant table
// has ENABLE + FORCE RLS and a policy with USING and WITH CHECK; unique indexes and foreign keys
// include tenant_id; views are security_invoker; there are no SECURITY DEFINER functions or
// materialized views.
func TestCatalog(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	checks := []struct {
		name string
		sql  string
	}{
		{"runtime role is superuser or bypasses RLS", `SELECT rolname FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolbypassrls)`},
		{"runtime role owns relations", `SELECT relname::text FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)`},
		{"tenant tables without ENABLE+FORCE RLS", `SELECT c.relname::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
			WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r','p') AND NOT (c.relrowsecurity AND c.relforcerowsecurity)`},
		{"tenant tables without a policy", `SELECT c.relname::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
			WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r','p')
			AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polcmd = '*' AND p.polqual IS NOT NULL AND p.polwithcheck IS NOT NULL)`},
		{"unique indexes on tenant tables without tenant_id", `SELECT i.indexrelid::regclass::text FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attname = 'tenant_id'
			WHERE i.indisunique AND NOT (a.attnum = ANY (i.indkey))`},
		{"foreign keys between tenant tables without tenant_id", `SELECT c.conname::text FROM pg_constraint c
			JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attname = 'tenant_id'
			JOIN pg_attribute f ON f.attrelid = c.confrelid AND f.attname = 'tenant_id'
			WHERE c.contype = 'f' AND NOT (a.attnum = ANY (c.conkey))`},
		{"views without security_invoker", `SELECT relname::text FROM pg_class WHERE relkind = 'v' AND relnamespace = 'public'::regnamespace
			AND NOT coalesce('security_invoker=true' = ANY (reloptions), false)`},
		{"dangerous grants to the runtime role", `SELECT table_name || ':' || privilege_type FROM information_schema.role_table_grants
			WHERE grantee = current_user AND privilege_type IN ('TRUNCATE', 'REFERENCES', 'TRIGGER')`},
		{"SECURITY DEFINER functions", `SELECT proname::text FROM pg_proc WHERE prosecdef AND pronamespace = 'public'::regnamespace`},
		{"materialized views", `SELECT relname::text FROM pg_class WHERE relkind = 'm' AND relnamespace = 'public'::regnamespace`},
		{"runtime role can read schema_migrations", `SELECT 'schema_migrations' WHERE has_table_privilege(current_user, 'schema_migrations', 'SELECT')`},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			var bad []string
			if err := d.App.NewRaw(c.sql).Scan(ctx, &bad); err != nil {
				t.Fatal(err)
			}
			if len(bad) > 0 {
				t.Errorf("%s: %v", c.name, bad)
			}
		})
	}
}

// TestPoolLeak proves the tenant setting never outlives its transaction on a pooled connection.
func TestPoolLeak(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	tenants := make([]uuid.UUID, 5)
	for i := range tenants {
		tn := tenanttest.MustCreateTenant(t, d.App)
		bookingtest.SeedAll(t, d.App, tn)
		tenants[i] = tn.ID
	}

	single, err := tenant.OpenDB(ctx, d.AppDSN, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer single.Close()
	if err := tenant.InTx(ctx, single, tenants[0], func(ctx context.Context, tx bun.Tx) error {
		var n int
		return tx.NewRaw("SELECT count(*) FROM locations").Scan(ctx, &n)
	}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := single.NewRaw("SELECT count(*) FROM locations").Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("after a scoped transaction the same connection sees %d rows unscoped, want 0", n)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := tenants[rand.IntN(len(tenants))]
			errs <- tenant.InTx(ctx, d.App, want, func(ctx context.Context, tx bun.Tx) error {
				var got []uuid.UUID
				if err := tx.NewRaw("SELECT tenant_id FROM locations").Scan(ctx, &got); err != nil {
					return err
				}
				if len(got) == 0 {
					return fmt.Errorf("tenant %s saw no rows", want)
				}
				for _, g := range got {
					if g != want {
						return fmt.Errorf("tenant %s saw a row of %s", want, g)
					}
				}
				return nil
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
