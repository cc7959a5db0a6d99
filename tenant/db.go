package tenant

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// OpenDB opens a bun pool on the pgx driver, so multi-host DSNs with
// target_session_attrs=primary follow a failover, and pings it. maxConns bounds the pool.
//
// bun writes the values into the SQL text and sends no arguments, so every query it reads rows
// from is a text seen once. pgx's default mode would prepare each such text as a named statement
// (one round trip), then execute it (a second) and keep it in a per-connection cache it can never
// hit again; the pool sends those in one round trip, unprepared, instead (see oneTripConn).
// Statements with $n arguments, whose text repeats, stay prepared once per connection and
// cached. A default_query_exec_mode in the DSN that does not prepare (exec, simple_protocol) is
// left alone.
func OpenDB(ctx context.Context, dsn string, maxConns int) (*bun.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	return OpenDBConfig(ctx, cfg, maxConns)
}

// OpenDBLazy is OpenDB without the ping: the pool connects at its first query, so a web process
// starts while PostgreSQL does not answer (its status page and error pages serve meanwhile).
func OpenDBLazy(dsn string, maxConns int) (*bun.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	return openDB(cfg, maxConns), nil
}

// OpenDBConfig is OpenDB for a parsed configuration (tests set a tracer on it).
func OpenDBConfig(ctx context.Context, cfg *pgx.ConnConfig, maxConns int) (*bun.DB, error) {
	db := openDB(cfg, maxConns)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database %s@%s: %w", cfg.User, cfg.Host, err)
	}
	return db, nil
}

func openDB(cfg *pgx.ConnConfig, maxConns int) *bun.DB {
	cfg = cfg.Copy()
	cfg.OnPgError = dropReadOnly(cfg.OnPgError)
	var connector driver.Connector = stdlib.GetConnector(*cfg)
	switch cfg.DefaultQueryExecMode {
	case pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheDescribe, pgx.QueryExecModeDescribeExec:
		connector = oneTripConnector{connector}
	}
	sqldb := sql.OpenDB(connector)
	sqldb.SetMaxOpenConns(maxConns)
	sqldb.SetMaxIdleConns(maxConns)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	sqldb.SetConnMaxLifetime(time.Hour)
	return bun.NewDB(sqldb, pgdialect.New())
}

// ReadOnlyServer is the SQLSTATE of a write refused because the transaction is read-only: after
// a switchover, what a pooled connection to the demoted primary (now a hot standby, still
// answering pings) gets for every write.
const ReadOnlyServer = "25006"

// dropReadOnly closes a connection as soon as the server refuses a write as read-only, so the
// pool never hands it out again (database/sql discards closed connections) and the next
// connection goes through the multi-host DSN to the current primary; prev (pgx's default closes
// on FATAL) still decides every other error.
func dropReadOnly(prev pgconn.PgErrorHandler) pgconn.PgErrorHandler {
	return func(c *pgconn.PgConn, e *pgconn.PgError) bool {
		if e.Code == ReadOnlyServer {
			return false
		}
		if prev != nil {
			return prev(c, e)
		}
		return !strings.EqualFold(e.Severity, "FATAL")
	}
}

// oneTripConnector hands out oneTripConns.
type oneTripConnector struct{ driver.Connector }

func (c oneTripConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(*stdlib.Conn)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("pgx connector returned %T", dc)
	}
	return &oneTripConn{sc}, nil
}

// oneTripConn is a pgx connection whose queries without arguments (bun's, values already in the
// text) run in pgx's exec mode: parse, bind and execute in one round trip, nothing kept on the
// server. pgx already runs Exec without arguments that way; database/sql's Query is the case it
// does not cover. Everything else is the pgx connection's own.
type oneTripConn struct{ *stdlib.Conn }

func (c *oneTripConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) == 0 {
		args = []driver.NamedValue{{Ordinal: 1, Value: pgx.QueryExecModeExec}}
	}
	return c.Conn.QueryContext(ctx, query, args)
}

// txScope is the tenant of a transaction about to begin, from inTx to the connection's BeginTx:
// a oneTripConn sets the scope with BEGIN, in the same round trip, and marks it done; otherwise
// inTx sets it with a statement of its own.
type txScope struct {
	tenant uuid.UUID
	done   bool
}

type txScopeKey struct{}

// BeginTx begins a transaction. For a tenant transaction of inTx (txScope in ctx, default
// isolation, read-write) BEGIN and the transaction-local app.tenant_id go in one simple-protocol
// message: one round trip fewer for every tenant-scoped operation. The tenant id is a formatted
// UUID, so nothing from outside enters the text.
func (c *oneTripConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	sc, _ := ctx.Value(txScopeKey{}).(*txScope)
	if sc == nil || sc.done || sql.IsolationLevel(opts.Isolation) != sql.LevelDefault || opts.ReadOnly {
		return c.Conn.BeginTx(ctx, opts)
	}
	pc := c.Conn.Conn()
	if pc.IsClosed() {
		return nil, driver.ErrBadConn
	}
	tx, err := pc.BeginTx(ctx, pgx.TxOptions{BeginQuery: "BEGIN; SELECT set_config('app.tenant_id', '" + sc.tenant.String() + "', true)"})
	if err != nil {
		return nil, err
	}
	sc.done = true
	return pgxTx{ctx: ctx, tx: tx}, nil
}

// pgxTx is a pgx transaction as a database/sql driver transaction (as pgx's stdlib wraps one).
type pgxTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t pgxTx) Commit() error   { return t.tx.Commit(t.ctx) }
func (t pgxTx) Rollback() error { return t.tx.Rollback(t.ctx) }

// PgxConn returns the pgx connection under a pooled driver connection (database/sql's
// Conn.Raw), for work such as CopyFrom that needs pgx itself.
func PgxConn(dc any) (*pgx.Conn, error) {
	switch c := dc.(type) {
	case *stdlib.Conn:
		return c.Conn(), nil
	case *oneTripConn:
		return c.Conn.Conn(), nil
	}
	return nil, fmt.Errorf("driver connection is %T, not pgx", dc)
}

// DSNUser returns the role name in a DSN (the runtime role that migrate grants to).
func DSNUser(dsn string) (string, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", err
	}
	return cfg.User, nil
}
