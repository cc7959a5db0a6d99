package tenant

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
)

// InTx runs fn in a transaction that can see only tenantID's rows: row-level security policies
// compare every row's tenant_id with the transaction-local setting app.tenant_id. The setting is
// set with is_local=true, so a pooled connection never carries it into another request. All tenant
// data is read and written through this function; fn must not keep tx after it returns.
//
// Database errors are translated by DBError.
func InTx(ctx context.Context, db bun.IDB, tenantID uuid.UUID, fn func(ctx context.Context, tx bun.Tx) error) error {
	return inTx(ctx, db, tenantID, nil, fn)
}

// InSnapshot is InTx for long reads that must see one consistent moment, such as a city's
// handover export: a READ ONLY transaction at REPEATABLE READ, so every query in fn sees the
// data as of its first query and nothing can be written. Keep it for exports: a long snapshot
// holds back the clean-up of old row versions while it lasts.
func InSnapshot(ctx context.Context, db bun.IDB, tenantID uuid.UUID, fn func(ctx context.Context, tx bun.Tx) error) error {
	return inTx(ctx, db, tenantID, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}, fn)
}

func inTx(ctx context.Context, db bun.IDB, tenantID uuid.UUID, opts *sql.TxOptions, fn func(ctx context.Context, tx bun.Tx) error) error {
	if tenantID == uuid.Nil {
		return Errorf(Internal, "error.internal").Wrap(fmt.Errorf("tenant scope without a tenant"))
	}
	// The pool's connections set the scope with BEGIN (oneTripConn.BeginTx); inside another
	// transaction (a savepoint) or on another driver it takes a statement of its own. RunTx may
	// begin again (a switchover, a deadlock): each run starts with the scope not yet set.
	sc := &txScope{tenant: tenantID}
	return DBError(RunTx(context.WithValue(ctx, txScopeKey{}, sc), db, opts, func(ctx context.Context, tx bun.Tx) error {
		defer func() { sc.done = false }()
		if !sc.done {
			if _, err := tx.ExecContext(ctx, "SELECT set_config('app.tenant_id', ?, true)", tenantID.String()); err != nil {
				return fmt.Errorf("set tenant scope: %w", err)
			}
		}
		return fn(ctx, tx)
	}))
}

// RunTx runs fn in a transaction of db (opts nil: the defaults) and returns its error as it is;
// InTx uses it, and so does every transaction above the cities — the vendor's accounts and
// allow-lists, the status page, paging, the periodic runs — so a switchover costs none of them
// a request.
//
// A switchover: the connection reached the demoted primary, which refused the write (SQLSTATE
// 25006) and rolled the whole transaction back, and the pool has dropped that connection
// (OpenDB). RunTx then runs fn once more on a new connection, which the multi-host DSN takes to
// the new primary. Only an outermost transaction is retried (inside another one the caller's
// transaction is lost too), and only for this error, after which nothing can have been
// committed; fn must therefore leave nothing behind outside the transaction before it returns
// an error (set captured results afresh on each run).
//
// A deadlock or serialization failure (SQLSTATE 40P01, 40001) rolled the transaction back too:
// PostgreSQL chose it as the victim of two requests that locked the same rows in a different
// order, or it could not be serialised. It is run again, up to deadlockRetries more times after
// a short random pause, so two citizens booking at once both get an answer instead of a 500.
func RunTx(ctx context.Context, db bun.IDB, opts *sql.TxOptions, fn func(ctx context.Context, tx bun.Tx) error) error {
	err := db.RunInTx(ctx, opts, fn)
	if _, outer := db.(*bun.DB); !outer {
		return err
	}
	if isReadOnlyServer(err) {
		err = db.RunInTx(ctx, opts, fn)
	}
	for i := 1; i <= deadlockRetries && IsRetryable(err); i++ {
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(rand.Int64N(int64(10*i*int(time.Millisecond))) + 1)):
		}
		err = db.RunInTx(ctx, opts, fn)
	}
	return err
}

// deadlockRetries is how many times RunTx runs a transaction again after a deadlock or a
// serialization failure.
const deadlockRetries = 3

func isReadOnlyServer(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == ReadOnlyServer
}

// pgxScopeSQL sets the transaction-local tenant scope on a pgx connection ($1 the tenant id), as
// InTx does through bun.
const pgxScopeSQL = "SELECT set_config('app.tenant_id', $1, true)"

// InPgxTx is InTx for work that needs the pgx connection itself, above all CopyFrom: it takes a
// connection from db's pool, unwraps it to *pgx.Conn and runs fn in one transaction scoped to
// tenantID with the same transaction-local app.tenant_id as InTx. fn's error rolls the transaction
// back; fn must not keep tx after it returns. A nil tenant id fails closed (nothing runs).
//
// Database errors are translated by DBError.
func InPgxTx(ctx context.Context, db *bun.DB, tenantID uuid.UUID, fn func(ctx context.Context, tx pgx.Tx) error) error {
	return withPgxConn(ctx, db, tenantID, "InPgxTx", func(pc *pgx.Conn) error {
		return pgx.BeginFunc(ctx, pc, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, pgxScopeSQL, tenantID.String()); err != nil {
				return fmt.Errorf("set tenant scope: %w", err)
			}
			return fn(ctx, tx)
		})
	})
}

// withPgxConn runs fn on a connection of db's pool unwrapped to *pgx.Conn, for work scoped to
// tenantID (a nil tenant id fails closed: nothing runs). Its error goes through DBError.
func withPgxConn(ctx context.Context, db *bun.DB, tenantID uuid.UUID, name string, fn func(pc *pgx.Conn) error) error {
	if tenantID == uuid.Nil {
		return Errorf(Internal, "error.internal").Wrap(fmt.Errorf("tenant scope without a tenant"))
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return DBError(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		pc, err := PgxConn(dc)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return fn(pc)
	})
	return DBError(err)
}

// QueryRow runs one read of tenantID's rows (query with $n arguments, at most one row, passed to
// scan) in one round trip: the transaction-local tenant scope and the query go to the server as
// one pipelined batch with a single Sync, which PostgreSQL runs as one implicit transaction, so
// the scope holds for the query and ends with it (is_local=true: a pooled connection never carries
// it into another request), exactly as InTx's BEGIN, scope, query and COMMIT would — three round
// trips fewer. Row-level security applies as in InTx: nothing is filtered here. Both statements
// are prepared once per connection (their texts repeat). For the hot reads of one statement (the
// citizen login's card, a place); anything that writes or reads twice uses InTx.
//
// scan gets the query's row; pgx.ErrNoRows (no row) becomes not_found through DBError, like
// every other database error. A nil tenant id fails closed (nothing runs).
func QueryRow(ctx context.Context, db *bun.DB, tenantID uuid.UUID, scan func(pgx.Row) error, query string, args ...any) error {
	return scopedRead(ctx, db, tenantID, "QueryRow", query, args, func(br pgx.BatchResults) error {
		return scan(br.QueryRow())
	})
}

// Query is QueryRow for a read of many rows: scan gets the query's rows, reads them with Next and
// Scan, and returns its error; the rows are closed after it. One round trip, one implicit
// transaction (one snapshot), the same tenant scope and row-level security as InTx. For the hot
// reads of one statement (a place's open slots on a cache miss).
func Query(ctx context.Context, db *bun.DB, tenantID uuid.UUID, scan func(pgx.Rows) error, query string, args ...any) error {
	return scopedRead(ctx, db, tenantID, "Query", query, args, func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		serr := scan(rows)
		rows.Close()
		return errors.Join(serr, rows.Err())
	})
}

// scopedRead sends the transaction-local tenant scope and query as one pipelined batch and hands
// the batch's results, past the scope, to read.
func scopedRead(ctx context.Context, db *bun.DB, tenantID uuid.UUID, name, query string, args []any, read func(pgx.BatchResults) error) error {
	return withPgxConn(ctx, db, tenantID, name, func(pc *pgx.Conn) error {
		b := &pgx.Batch{}
		b.Queue(pgxScopeSQL, tenantID.String())
		b.Queue(query, args...)
		br := pc.SendBatch(ctx, b)
		if _, err := br.Exec(); err != nil {
			br.Close()
			return fmt.Errorf("set tenant scope: %w", err)
		}
		rerr := read(br)
		return errors.Join(rerr, br.Close())
	})
}
