package tenant_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// TestOpenDBPreparesOnlyArguments: bun's queries (values in the text, no arguments) leave no
// prepared statement on the connection, while a statement with $n arguments is prepared once
// and reused for other values.
func TestOpenDBPreparesOnlyArguments(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	conn, err := d.App.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	prepared := func() int {
		t.Helper()
		var n int
		if err := conn.NewRaw("SELECT count(*) FROM pg_prepared_statements").Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := prepared()
	for i := range 5 {
		var got int
		if err := conn.NewRaw("SELECT ?::int + 1", i).Scan(ctx, &got); err != nil || got != i+1 {
			t.Fatalf("bun scan = %d, %v; want %d", got, err, i+1)
		}
	}
	if n := prepared(); n != before {
		t.Errorf("prepared statements after five bun queries = %d, want %d (none prepared)", n, before)
	}
	for i := range 5 {
		var got int
		if err := conn.Conn.QueryRowContext(ctx, "SELECT $1::int + 1", i).Scan(&got); err != nil || got != i+1 {
			t.Fatalf("query with an argument = %d, %v; want %d", got, err, i+1)
		}
	}
	if n := prepared(); n != before+1 {
		t.Errorf("prepared statements after one $1 query run five times = %d, want %d", n, before+1)
	}
}

// TestOpenDBScansAsPrepared: a row read through OpenDB's pool scans into the same Go values as
// through a plain pgx pool, whose queries are prepared (binary results).
func TestOpenDBScansAsPrepared(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(d.AppDSN)
	if err != nil {
		t.Fatal(err)
	}
	plain := bun.NewDB(stdlib.OpenDB(*cfg), pgdialect.New())
	defer plain.Close()
	type row struct {
		ID    string         `bun:"id"`
		At    time.Time      `bun:"at"`
		Day   time.Time      `bun:"day"`
		Doc   map[string]any `bun:"doc,type:jsonb"`
		Bytes []byte         `bun:"bytes"`
		Nums  []int64        `bun:"nums,array"`
		Texts []string       `bun:"texts,array"`
		Num   float64        `bun:"num"`
		Null  *string        `bun:"nul"`
		OK    bool           `bun:"ok"`
	}
	const q = `SELECT gen_random_uuid()::text AS id, '2026-12-01 09:00:00+09'::timestamptz AS at, '2026-12-01'::date AS day,
		'{"a": [1, "二"]}'::jsonb AS doc, '\x00ff'::bytea AS bytes, ARRAY[1, 2]::bigint[] AS nums,
		ARRAY['窓口', 'b']::text[] AS texts, 1.5::numeric AS num, NULL::text AS nul, true AS ok`
	var viaOpen, viaPlain row
	if err := d.App.NewRaw(q).Scan(ctx, &viaOpen); err != nil {
		t.Fatal(err)
	}
	if err := plain.NewRaw(q).Scan(ctx, &viaPlain); err != nil {
		t.Fatal(err)
	}
	viaOpen.ID, viaPlain.ID = "", ""
	if !reflect.DeepEqual(viaOpen, viaPlain) {
		t.Errorf("scanned through OpenDB = %#v\nthrough a plain pgx pool = %#v", viaOpen, viaPlain)
	}
	if err := tenant.InPgxTx(ctx, d.App, tenanttest.MustCreateTenant(t, d.App).ID, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT 1").Scan(new(int))
	}); err != nil {
		t.Errorf("InPgxTx on OpenDB's pool: %v", err)
	}
}

// TestReadOnlyServerSwitchover: a pooled connection whose server refuses writes as read-only
// (SQLSTATE 25006, what a demoted primary answers after a switchover) is dropped at once, and an
// InTx that hit it runs once more on a new connection and succeeds.
func TestReadOnlyServerSwitchover(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	db, err := tenant.OpenDB(ctx, d.AppDSN, 1) // one connection: the stale one, then its replacement
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tn := tenanttest.MustCreateTenant(t, d.App)
	stale := func() {
		t.Helper()
		// The session of the pool's only connection now behaves as a hot standby's does.
		if _, err := db.ExecContext(ctx, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"); err != nil {
			t.Fatal(err)
		}
	}
	stale()
	runs := 0
	err = tenant.InTx(ctx, db, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		runs++
		_, err := tx.ExecContext(ctx, "CREATE TEMP TABLE switchover_probe (i int) ON COMMIT DROP")
		return err
	})
	if err != nil || runs != 2 {
		t.Fatalf("InTx after a read-only refusal: %v after %d runs, want success on the second", err, runs)
	}
	// A refused write outside InTx is not retried, but the connection is gone all the same.
	stale()
	if _, err := db.ExecContext(ctx, "CREATE TEMP TABLE switchover_probe (i int)"); err == nil {
		t.Fatal("write on the read-only session succeeded")
	}
	var ro string
	if err := db.QueryRowContext(ctx, "SHOW transaction_read_only").Scan(&ro); err != nil || ro != "off" {
		t.Fatalf("next connection: transaction_read_only = %q, %v; want a new connection (off)", ro, err)
	}
}

// TestVendorTxSwitchover: the transactions above the cities (tenant.RunTx: the vendor's
// accounts and allow-lists, the status page, paging) are run once more after a read-only
// refusal too, like InTx; a RunTx inside another transaction is not (the caller's transaction
// is lost with it).
func TestVendorTxSwitchover(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	db, err := tenant.OpenDB(ctx, d.AppDSN, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stale := func() {
		t.Helper()
		if _, err := db.ExecContext(ctx, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"); err != nil {
			t.Fatal(err)
		}
	}
	stale()
	ops := tenant.NewOpsAccounts(db, time.Now)
	if _, err := ops.Allow(ctx, tenant.ConsoleOps, "192.0.2.0/24", "switchover", tenant.System("test")); err != nil {
		t.Fatalf("Allow after a read-only refusal: %v", err)
	}
	var n int
	if err := d.App.QueryRowContext(ctx, "SELECT count(*) FROM ops_ip_allow WHERE cidr = '192.0.2.0/24'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("allow-list rows = %d, %v; want the entry once", n, err)
	}
	stale()
	runs := 0
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return tenant.RunTx(ctx, tx, nil, func(ctx context.Context, tx bun.Tx) error {
			runs++
			_, err := tx.ExecContext(ctx, "CREATE TEMP TABLE switchover_probe (i int) ON COMMIT DROP")
			return err
		})
	})
	if err == nil || runs != 1 {
		t.Fatalf("nested RunTx after a read-only refusal: %v after %d runs, want the refusal after one", err, runs)
	}
}

// TestDBErrorConnectionCut: a connection cut off mid-query (what a killed or failed-over server
// leaves) is unavailable (503, "try again"), not an internal error.
func TestDBErrorConnectionCut(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("read: %w", io.ErrUnexpectedEOF),
		fmt.Errorf("query: %w", pgconn.ErrConnClosed),
		driver.ErrBadConn,
	} {
		if got := tenant.ErrorCode(tenant.DBError(err)); got != tenant.Unavailable {
			t.Errorf("DBError(%v) = %s, want unavailable", err, got)
		}
	}
	if got := tenant.ErrorCode(tenant.DBError(errors.New("something else"))); got == tenant.Unavailable {
		t.Errorf("DBError of an unknown error = %s", got)
	}
}

// TestDeadlockRetried: two transactions that lock the same two rows in opposite orders deadlock;
// PostgreSQL rolls one back (SQLSTATE 40P01) and InTx runs it again, so both succeed and both
// writes are there. A transaction inside another is not retried on its own.
func TestDeadlockRetried(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	tn := tenanttest.MustCreateTenant(t, d.App)
	if _, err := d.Owner.ExecContext(ctx, "CREATE TABLE deadlock_probe (id int PRIMARY KEY, n int NOT NULL); INSERT INTO deadlock_probe VALUES (1, 0), (2, 0); GRANT SELECT, UPDATE ON deadlock_probe TO "+d.AppRole); err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	holding := make(chan struct{}, 2)
	both := make(chan struct{})
	go func() { <-holding; <-holding; close(both) }()
	bump := func(first, second int) error {
		return tenant.InTx(ctx, d.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
			runs.Add(1)
			if _, err := tx.ExecContext(ctx, "UPDATE deadlock_probe SET n = n + 1 WHERE id = ?", first); err != nil {
				return err
			}
			select { // first runs only: wait until both hold their first row
			case holding <- struct{}{}:
				<-both
			default:
			}
			_, err := tx.ExecContext(ctx, "UPDATE deadlock_probe SET n = n + 1 WHERE id = ?", second)
			return err
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- bump(1, 2) }()
	go func() { errs <- bump(2, 1) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("a transaction of the deadlocked pair failed: %v", err)
		}
	}
	if r := runs.Load(); r != 3 {
		t.Errorf("%d runs, want 3 (the deadlock's victim once more)", r)
	}
	var sum int
	if err := d.Owner.QueryRowContext(ctx, "SELECT sum(n) FROM deadlock_probe").Scan(&sum); err != nil || sum != 4 {
		t.Fatalf("sum = %d, %v; want 4 (both transactions, each twice)", sum, err)
	}
}
