// Package migrations holds the numbered SQL migrations, embedded in the binary, and applies them.
//
// Files are named NNNN_name.tx.up.sql / NNNN_name.tx.down.sql (four digits, so string order is
// numeric order). Each runs in its own transaction. The token {{app}} in a file is replaced by the
// quoted name of the runtime role, so a migration ships its table, its RLS policy and its grants
// together. Applied versions are recorded in schema_migrations, which the runtime role cannot read.
package migrations

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
)

//go:embed *.sql
var files embed.FS

// lockKey is the advisory lock that serialises concurrent `madoguchi migrate` runs.
const lockKey = 0x6d61646f // "mado"

var fileRE = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.tx\.(up|down)\.sql$`)

// Migration is one numbered step.
type Migration struct {
	Version string // "0001"
	Name    string // "init"
	Up      string
	Down    string
}

// All returns every embedded migration in order. It fails when a file is misnamed, a number is
// used twice or skipped, or an up file has no down file.
func All() ([]Migration, error) {
	return parse(files)
}

func parse(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	byVersion := map[string]*Migration{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		m := fileRE.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %q: name must be NNNN_name.tx.up.sql or .tx.down.sql", e.Name())
		}
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		mg := byVersion[m[1]]
		if mg == nil {
			mg = &Migration{Version: m[1], Name: m[2]}
			byVersion[m[1]] = mg
		}
		if mg.Name != m[2] {
			return nil, fmt.Errorf("migration %s has two names: %q and %q", m[1], mg.Name, m[2])
		}
		if m[3] == "up" {
			mg.Up = string(body)
		} else {
			mg.Down = string(body)
		}
	}
	out := make([]Migration, 0, len(byVersion))
	for _, mg := range byVersion {
		if mg.Up == "" || mg.Down == "" {
			return nil, fmt.Errorf("migration %s_%s needs both an up and a down file", mg.Version, mg.Name)
		}
		out = append(out, *mg)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, mg := range out {
		if want := fmt.Sprintf("%04d", i+1); mg.Version != want {
			return nil, fmt.Errorf("migration numbering: found %s where %s was expected", mg.Version, want)
		}
	}
	return out, nil
}

func render(sql, appRole string) string {
	return strings.ReplaceAll(sql, "{{app}}", pgx.Identifier{appRole}.Sanitize())
}

// Up applies every pending migration as the connected (owner) role and grants appRole what each
// migration names. It is idempotent and safe to run from several replicas at once.
func Up(ctx context.Context, db *bun.DB, appRole string) (applied []string, err error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	err = withLock(ctx, db, func(conn bun.Conn) error {
		done, err := appliedVersions(ctx, conn)
		if err != nil {
			return err
		}
		for _, mg := range all {
			if done[mg.Version] {
				continue
			}
			err := step(ctx, conn, render(mg.Up, appRole), "INSERT INTO schema_migrations (version, name) VALUES (?, ?); "+versionComment(mg.Version), mg.Version, mg.Name)
			if err != nil {
				return fmt.Errorf("migration %s_%s: %w", mg.Version, mg.Name, err)
			}
			applied = append(applied, mg.Version+"_"+mg.Name)
		}
		return nil
	})
	return applied, err
}

// Down reverts the most recently applied migration and returns its name ("" when none is applied).
func Down(ctx context.Context, db *bun.DB, appRole string) (reverted string, err error) {
	all, err := All()
	if err != nil {
		return "", err
	}
	err = withLock(ctx, db, func(conn bun.Conn) error {
		done, err := appliedVersions(ctx, conn)
		if err != nil {
			return err
		}
		for i := len(all) - 1; i >= 0; i-- {
			mg := all[i]
			if !done[mg.Version] {
				continue
			}
			previous := ""
			if i > 0 {
				previous = all[i-1].Version
			}
			err := step(ctx, conn, render(mg.Down, appRole), "DELETE FROM schema_migrations WHERE version = ?; "+versionComment(previous), mg.Version)
			if err != nil {
				return fmt.Errorf("revert %s_%s: %w", mg.Version, mg.Name, err)
			}
			reverted = mg.Version + "_" + mg.Name
			return nil
		}
		return nil
	})
	return reverted, err
}

// LockTimeout bounds how long one migration statement waits for a table lock. A migration that
// needs an exclusive lock queues behind the running transactions, and every query of the live
// web pods would queue behind the migration: giving up after a few seconds (and trying again)
// keeps a long transaction from turning a schema change into an outage.
const LockTimeout = 5 * time.Second

// lockAttempts is how often a migration is tried when it gave up waiting for a lock.
const lockAttempts = 5

// step runs one migration's SQL and its schema_migrations record in one transaction under
// LockTimeout, again after a pause when a lock was not available (SQLSTATE 55P03).
func step(ctx context.Context, conn bun.Conn, sql, record string, args ...any) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = conn.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("SET LOCAL lock_timeout = '%dms'", LockTimeout.Milliseconds())); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, record, args...)
			return err
		})
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || pe.Code != "55P03" || attempt == lockAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * time.Second):
		}
	}
}

// contractMarker marks an up migration as a contract step: one that removes or changes what
// the previous release still uses. It may only ship once no running release needs the old
// shape (see README.md, "Schema changes without downtime"); the line says why that holds.
const contractMarker = "-- contract:"

var (
	sqlComment  = regexp.MustCompile(`--[^\n]*`)
	destructive = []struct {
		re   *regexp.Regexp
		what string
	}{
		{regexp.MustCompile(`(?is)\bDROP\s+(TABLE|COLUMN|VIEW|MATERIALIZED\s+VIEW|FUNCTION|TYPE|SCHEMA|SEQUENCE)\b`), "drops a table, column, view, function, type, schema or sequence"},
		{regexp.MustCompile(`(?is)\bALTER\s+TABLE\b[^;]*\bDROP\s+(IF\s+EXISTS\s+)?"?[a-z_][a-z0-9_]*"?\s*(,|;|CASCADE|RESTRICT|$)`), "drops a column"},
		{regexp.MustCompile(`(?is)\bRENAME\b`), "renames something"},
		{regexp.MustCompile(`(?is)\bALTER\s+COLUMN\b[^;,]*\b(SET\s+DATA\s+)?TYPE\b`), "changes a column's type"},
		{regexp.MustCompile(`(?is)\bALTER\s+COLUMN\b[^;,]*\bSET\s+NOT\s+NULL\b`), "makes a column NOT NULL"},
		{regexp.MustCompile(`(?is)\bTRUNCATE\b`), "empties a table"},
	}
	addNotNull = regexp.MustCompile(`(?is)\bADD\s+(COLUMN\s+)?(IF\s+NOT\s+EXISTS\s+)?[^;,]*\bNOT\s+NULL\b[^;,]*`)
)

// Destructive lists what an up migration does that the previous release could not live with
// (nil for a contract step, marked by a "-- contract: why" line). Expand steps only add: new
// tables, nullable columns or columns with a default, indexes, constraints, functions.
func Destructive(sql string) []string {
	if strings.Contains(sql, contractMarker) {
		return nil
	}
	body := sqlComment.ReplaceAllString(sql, "")
	var out []string
	for _, d := range destructive {
		if d.re.MatchString(body) {
			out = append(out, d.what)
		}
	}
	for _, m := range addNotNull.FindAllString(body, -1) {
		if !regexp.MustCompile(`(?i)\bDEFAULT\b`).MatchString(m) && !regexp.MustCompile(`(?i)^ADD\s+(CONSTRAINT|PRIMARY|UNIQUE|FOREIGN|CHECK)`).MatchString(m) {
			out = append(out, "adds a NOT NULL column without a default")
			break
		}
	}
	return out
}

// versionPrefix starts the comment on schema_migrations that names the newest applied
// migration. The runtime role may not read schema_migrations, but comments are in the catalog,
// which every role reads: so a web process can tell whether the schema it needs is there.
const versionPrefix = "madoguchi schema "

func versionComment(version string) string {
	return "COMMENT ON TABLE schema_migrations IS '" + versionPrefix + version + "'"
}

// Latest is the newest migration this binary embeds: the schema it needs.
func Latest() string {
	all, err := All()
	if err != nil || len(all) == 0 {
		return ""
	}
	return all[len(all)-1].Version
}

// Version reads the newest applied migration as any role can (the comment Up and Down keep on
// schema_migrations); "" when the database does not say (not migrated yet, or migrated before the
// comment existed).
func Version(ctx context.Context, db bun.IDB) (string, error) {
	var c string
	err := db.NewRaw("SELECT coalesce(obj_description(to_regclass('schema_migrations'), 'pg_class'), '')").Scan(ctx, &c)
	if err != nil {
		return "", err
	}
	v, _ := strings.CutPrefix(c, versionPrefix)
	if v == c {
		return "", nil
	}
	return v, nil
}

func withLock(ctx context.Context, db *bun.DB, fn func(bun.Conn) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", lockKey); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", lockKey) //nolint:errcheck // released with the session anyway
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version text PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	return fn(conn)
}

func appliedVersions(ctx context.Context, conn bun.Conn) (map[string]bool, error) {
	var versions []string
	if err := conn.NewSelect().Table("schema_migrations").Column("version").Scan(ctx, &versions); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	done := make(map[string]bool, len(versions))
	for _, v := range versions {
		done[v] = true
	}
	return done, nil
}
