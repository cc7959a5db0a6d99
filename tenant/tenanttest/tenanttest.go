// Package tenanttest creates throwaway databases for tests: a fresh database with its own owner
// and runtime roles, migrated with the real migrations, dropped at the end. Tests connect as the
// runtime role, exactly as production does, so row-level security is what they exercise.
//
// MADOGUCHI_TEST_POSTGRES_URL names a superuser connection used only to create and drop the
// roles and the database (default postgres://postgres@127.0.0.1:5432/postgres).
package tenanttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/migrations"
	"github.com/madoguchi/madoguchi/tenant"
)

// DB is one throwaway database.
type DB struct {
	Name     string
	AppRole  string
	AppDSN   string  // runtime role: NOSUPERUSER NOBYPASSRLS, owns nothing
	OwnerDSN string  // owner role: owns the schema, runs migrations
	App      *bun.DB // pool as the runtime role
	Owner    *bun.DB // pool as the owner role
	admin    *pgx.Conn
}

// AdminURL returns the superuser URL tests use to create databases and roles.
func AdminURL() string {
	if u := os.Getenv("MADOGUCHI_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Create makes roles and a database named after prefix plus random suffix, and migrates it.
func Create(ctx context.Context, prefix string) (*DB, error) {
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return nil, fmt.Errorf("connect as the test superuser (%s): %w", redact(AdminURL()), err)
	}
	var b [5]byte
	rand.Read(b[:])
	name := fmt.Sprintf("mdgtest_%s_%s", prefix, hex.EncodeToString(b[:]))
	d := &DB{Name: name, AppRole: name + "_app", admin: admin}
	owner := name + "_owner"
	stmts := []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE", pgx.Identifier{owner}.Sanitize()),
		fmt.Sprintf("CREATE ROLE %s LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE", pgx.Identifier{d.AppRole}.Sanitize()),
		fmt.Sprintf("CREATE DATABASE %s OWNER %s", pgx.Identifier{name}.Sanitize(), pgx.Identifier{owner}.Sanitize()),
	}
	for _, s := range stmts {
		if _, err := admin.Exec(ctx, s); err != nil {
			d.Drop()
			return nil, fmt.Errorf("%s: %w", s, err)
		}
	}
	d.OwnerDSN = withUserDB(AdminURL(), owner, name)
	d.AppDSN = withUserDB(AdminURL(), d.AppRole, name)
	if d.Owner, err = tenant.OpenDB(ctx, d.OwnerDSN, 4); err != nil {
		d.Drop()
		return nil, err
	}
	if _, err := migrations.Up(ctx, d.Owner, d.AppRole); err != nil {
		d.Drop()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if d.App, err = tenant.OpenDB(ctx, d.AppDSN, 20); err != nil {
		d.Drop()
		return nil, err
	}
	return d, nil
}

// NewDB creates a migrated database for tb and drops it when tb ends. It fails tb (never skips)
// when PostgreSQL is unreachable.
func NewDB(tb testing.TB) *DB {
	tb.Helper()
	d, err := Create(context.Background(), "t")
	if err != nil {
		tb.Fatalf("tenanttest.NewDB: %v", err)
	}
	tb.Cleanup(d.Drop)
	return d
}

// Drop closes the pools and removes the database and its roles.
func (d *DB) Drop() {
	ctx := context.Background()
	if d.App != nil {
		d.App.Close()
	}
	if d.Owner != nil {
		d.Owner.Close()
	}
	if d.admin == nil {
		return
	}
	d.admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pgx.Identifier{d.Name}.Sanitize()))
	d.admin.Exec(ctx, fmt.Sprintf("DROP ROLE IF EXISTS %s", pgx.Identifier{d.AppRole}.Sanitize()))
	d.admin.Exec(ctx, fmt.Sprintf("DROP ROLE IF EXISTS %s", pgx.Identifier{d.Name + "_owner"}.Sanitize()))
	d.admin.Close(ctx)
	d.admin = nil
}

// MustCreateTenant creates an active tenant with a random slug.
func MustCreateTenant(tb testing.TB, db bun.IDB) *tenant.Tenant {
	tb.Helper()
	slug := "t" + uuid.NewString()[:8]
	t, err := tenant.NewService(db).Create(context.Background(), slug, "テスト市 "+slug)
	if err != nil {
		tb.Fatalf("MustCreateTenant: %v", err)
	}
	return t
}

func withUserDB(raw, user, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	u.User = url.User(user)
	u.Path = "/" + db
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}
