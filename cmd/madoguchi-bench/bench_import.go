package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"

	"github.com/madoguchi/madoguchi/tenant"
)

// The import benchmark (`madoguchi-bench -import`; see README, 'Benchmarks'): the app's import of a
// generated J-LIS-shaped Shift_JIS CSV through the domain path (booking.ImportCards: parse, drop
// the 個人番号 and address columns, HMAC the birth date, COPY into a TEMP staging table, INSERT …
// SELECT into cards under row-level security with a history row per card) beside `psql \copy`
// of the same file into a table shaped like cards, in interleaved rounds.
//
// The reference table, bench_import_ref, has cards' keys, CHECK constraints and indexes (primary
// key (tenant_id, id), UNIQUE (tenant_id, card_no), index (tenant_id, status)) with the CSV's
// columns in place of birth_hmac, and no row-level security. With -ref-url (the owner role) it
// is a real table with cards' foreign key to tenants, created and dropped in each round; without
// it psql runs as the runtime role and the table is TEMP, which PostgreSQL does not allow to
// reference tenants, so the reference then has no foreign-key check. Each app round imports into
// a fresh tenant, so every row is new on both sides.

// ImportBenchReport is the result of `madoguchi-bench -import`.
type ImportBenchReport struct {
	Rows      int                `json:"rows"`
	FileBytes int                `json:"file_bytes"`
	Reference string             `json:"reference"`
	Rounds    []ImportBenchRound `json:"rounds"`
	Median    float64            `json:"ratio_median"`
	Min       float64            `json:"ratio_min"`
	Max       float64            `json:"ratio_max"`
}

// ImportBenchRound is one round: both sides' rows per second and the row counts they reported.
type ImportBenchRound struct {
	Tenant      string  `json:"tenant"`
	AppSeconds  float64 `json:"app_seconds"`
	AppRowsPS   float64 `json:"app_rows_per_s"`
	AppRows     int     `json:"app_rows"`
	CopySeconds float64 `json:"copy_seconds"`
	CopyRowsPS  float64 `json:"copy_rows_per_s"`
	CopyRows    int     `json:"copy_rows"`
	Ratio       float64 `json:"ratio"`
}

// benchImportMain runs the import benchmark: o.rounds rounds, each a fresh tenant, the app's
// import and psql's \copy of one generated file in alternating order.
func benchImportMain(ctx context.Context, a *services, o *benchOptions, stdout, stderr io.Writer) error {
	psql, err := exec.LookPath("psql")
	if err != nil {
		return errors.New("-import: psql not found in PATH (it comes with PostgreSQL, e.g. Debian's postgresql-client)")
	}
	dir, err := os.MkdirTemp("", "madoguchi-bench-import")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "jlis.csv")
	size, err := writeJLISFile(file, o.importRows)
	if err != nil {
		return err
	}
	refURL, ref := a.cfg.DatabaseURL, "psql \\copy as the runtime role into a TEMP table shaped like cards (no foreign key)"
	if o.refURL != "" {
		refURL, ref = o.refURL, "psql \\copy as the -ref-url role into a table shaped like cards, with its foreign key to tenants"
	}
	rep := &ImportBenchReport{Rows: o.importRows, FileBytes: size, Reference: ref}
	var tenants []*tenant.Tenant
	defer func() {
		for _, t := range tenants {
			_ = a.Tenants.SetStatus(context.WithoutCancel(ctx), t.Slug, tenant.Disabled, tenant.System("madoguchi-bench"))
		}
	}()
	for r := 0; r < o.rounds && ctx.Err() == nil; r++ {
		var round ImportBenchRound
		var t *tenant.Tenant
		if t, err = benchImportTenant(ctx, a); err != nil {
			return err
		}
		tenants = append(tenants, t)
		round.Tenant = t.Slug
		app := func() error {
			fmt.Fprintf(stderr, "bench: round %d/%d: app import of %d rows into %s\n", r+1, o.rounds, o.importRows, t.Slug)
			return benchImportApp(ctx, a, t, file, &round)
		}
		cp := func() error {
			fmt.Fprintf(stderr, "bench: round %d/%d: psql \\copy of the same file\n", r+1, o.rounds)
			return benchImportCopy(ctx, psql, refURL, o.refURL != "", t, file, &round)
		}
		steps := []func() error{app, cp}
		if r%2 == 1 {
			steps = []func() error{cp, app}
		}
		for _, s := range steps {
			if err := s(); err != nil {
				return err
			}
		}
		if round.AppRows != o.importRows || round.CopyRows != o.importRows {
			return fmt.Errorf("-import: round %d: app stored %d rows, \\copy %d; want %d each", r+1, round.AppRows, round.CopyRows, o.importRows)
		}
		round.Ratio = round.AppRowsPS / round.CopyRowsPS
		rep.Rounds = append(rep.Rounds, round)
	}
	var ratios []float64
	for _, r := range rep.Rounds {
		ratios = append(ratios, r.Ratio)
	}
	if len(ratios) > 0 {
		rep.Median, rep.Min, rep.Max = round3(median(ratios)), round3(slices.Min(ratios)), round3(slices.Max(ratios))
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "J-LIS import, %d rows (%.1f MB Shift_JIS), %d rounds\n", rep.Rows, float64(rep.FileBytes)/1e6, len(rep.Rounds))
	fmt.Fprintf(stdout, "reference: %s\n", rep.Reference)
	for i, r := range rep.Rounds {
		fmt.Fprintf(stdout, "round %d: app %.0f rows/s (%.2fs)  \\copy %.0f rows/s (%.2fs)  ratio %.3f\n",
			i+1, r.AppRowsPS, r.AppSeconds, r.CopyRowsPS, r.CopySeconds, r.Ratio)
	}
	fmt.Fprintf(stdout, "ratio app/\\copy: median %.3f (min %.3f, max %.3f); goal G6 ≥ 0.5\n", rep.Median, rep.Min, rep.Max)
	return ctx.Err()
}

// benchImportTenant creates a tenant bench-imp-<random> for one round.
func benchImportTenant(ctx context.Context, a *services) (*tenant.Tenant, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	slug := "bench-imp-" + hex.EncodeToString(b[:])
	t, err := a.Tenants.Create(ctx, slug, "ベンチマーク "+slug)
	if err != nil {
		return nil, fmt.Errorf("create tenant %s: %w", slug, err)
	}
	return t, nil
}

// writeJLISFile writes n J-LIS-shaped rows (個人番号, 製造管理番号, 氏名, 氏名カナ, 生年月日,
// 保管位置, 住所) as Shift_JIS with CRLF line ends and returns the file's size.
func writeJLISFile(path string, n int) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	cw := &countWriter{w: f}
	w := bufio.NewWriterSize(transform.NewWriter(cw, japanese.ShiftJIS.NewEncoder()), 1<<16)
	w.WriteString("個人番号,製造管理番号,氏名,氏名カナ,生年月日,保管位置,住所\r\n")
	for i := range n {
		m, d := benchMMDD(i)
		fmt.Fprintf(w, "%012d,%09d,松阪 太郎%d,マツサカ タロウ,19%02d-%02d-%02d,棚%03d-%02d,三重県松阪市殿町%d番地\r\n",
			100000000000+i, 300000000+i, i, 50+i%50, m, d, i%1000, i%50, i%2000+1)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	return cw.n, f.Close()
}

type countWriter struct {
	w io.Writer
	n int
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += n
	return n, err
}

// benchImportApp imports the file through the domain path and counts the tenant's cards.
func benchImportApp(ctx context.Context, a *services, t *tenant.Tenant, file string, r *ImportBenchRound) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	res, err := a.Booking.ImportCards(ctx, t, f, nil)
	r.AppSeconds = time.Since(start).Seconds()
	if err != nil {
		return fmt.Errorf("-import: app: %w", err)
	}
	if len(res.Rejected) > 0 {
		return fmt.Errorf("-import: app rejected %d rows", len(res.Rejected))
	}
	r.AppRowsPS = float64(res.Inserted) / r.AppSeconds
	return tenant.InTx(ctx, a.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT count(*) FROM cards").Scan(ctx, &r.AppRows)
	})
}

var (
	psqlTime = regexp.MustCompile(`(?m)^Time: ([0-9.]+) ms`)
	psqlCopy = regexp.MustCompile(`(?m)^COPY ([0-9]+)`)
)

// benchImportCopy runs psql: create the reference table, \copy the file into it with \timing on,
// drop it. The time is psql's own measure of the \copy.
func benchImportCopy(ctx context.Context, psql, dsn string, owner bool, t *tenant.Tenant, file string, r *ImportBenchRound) error {
	env, err := pgEnv(dsn)
	if err != nil {
		return fmt.Errorf("-import: reference URL: %w", err)
	}
	temp, fk := "TEMP ", ""
	if owner {
		temp, fk = "", " REFERENCES tenants (id)"
	}
	ddl := fmt.Sprintf(`DROP TABLE IF EXISTS bench_import_ref;
CREATE %sTABLE bench_import_ref (
    tenant_id   uuid NOT NULL DEFAULT '%s'%s,
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    my_number   text,
    card_no     text NOT NULL CHECK (card_no ~ '^[0-9A-Z]{4,32}$'),
    name        text CHECK (length(name) <= 100),
    name_kana   text CHECK (length(name_kana) <= 100),
    birth       text NOT NULL,
    storage_pos text NOT NULL DEFAULT '' CHECK (length(storage_pos) <= 50),
    address     text,
    status      text NOT NULL DEFAULT 'imported' CHECK (status IN ('imported', 'notice_sent', 'reserved', 'visited', 'issued', 'returned', 'on_hold', 'void')),
    status_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, card_no)
);
CREATE INDEX ON bench_import_ref (tenant_id, status);`, temp, t.ID, fk)
	cp := fmt.Sprintf(`\copy bench_import_ref (my_number, card_no, name, name_kana, birth, storage_pos, address) FROM '%s' WITH (FORMAT csv, HEADER true, ENCODING 'SJIS')`,
		strings.ReplaceAll(file, "'", "''"))
	args := []string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", ddl, "-c", `\timing on`, "-c", cp, "-c", `\timing off`,
		"-c", "SELECT 'COPY ' || count(*) FROM bench_import_ref", "-A", "-t"}
	if owner {
		args = append(args, "-c", "DROP TABLE bench_import_ref")
	}
	cmd := exec.CommandContext(ctx, psql, args...)
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start).Seconds()
	if err != nil {
		return fmt.Errorf("-import: psql: %v: %s", err, strings.TrimSpace(string(out)))
	}
	r.CopySeconds = wall
	if m := psqlTime.FindStringSubmatch(string(out)); m != nil {
		ms, _ := strconv.ParseFloat(m[1], 64)
		r.CopySeconds = ms / 1000
	}
	if m := psqlCopy.FindStringSubmatch(string(out)); m != nil {
		r.CopyRows, _ = strconv.Atoi(m[1])
	}
	if r.CopySeconds > 0 {
		r.CopyRowsPS = float64(r.CopyRows) / r.CopySeconds
	}
	return nil
}
