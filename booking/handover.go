package booking

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// The handover archive (spec 第3章6ウ: everything a city hands to its next vendor): one zip with a
// CSV file per table holding the city's data and manifest.json describing them. The files are
// read in one READ ONLY, REPEATABLE READ transaction in the city's scope, so together they are
// one consistent moment, and written to the caller's writer as they are read (nothing is built
// in memory). What is left out, column by column, is listed with the reason in the manifest:
// password hashes and TOTP secrets, the keyed HMAC of birthdays (useless without our key, which is
// not handed over: birthdays come from a fresh J-LIS file) and uploaded import files.

// HandoverFormat names the archive's format in its manifest; HandoverFormatVersion is raised
// whenever a file, a column or a convention changes.
const (
	HandoverFormat        = "madoguchi-handover"
	HandoverFormatVersion = 1
)

// handoverTable is one CSV file of the archive: a table and the columns exported, in order.
type handoverTable struct {
	table   string
	columns []string
	order   string // ORDER BY: a key, so the files are the same for the same data
	where   string // for global tables: the city's rows (one ? for the tenant id); "" for tenant tables (RLS)
	about   string // what the file holds, for the manifest
}

// handoverTables are the archive's files. Every table with a tenant_id column must be here (the
// test reads the catalog), and every column of these tables must be exported or listed in
// handoverOmitted: a new table or column fails the test until someone decides.
var handoverTables = []handoverTable{
	{table: "tenants", where: "id = ?", order: "id",
		columns: []string{"id", "slug", "name", "status", "settings", "created_at", "updated_at", "code", "name_kana", "banner_color", "mail_domains"},
		about: "The city: host name (slug), name, status, its settings (JSON: deadline, reminder hour, retention periods, mail sender, /admin allow-list …), " +
			"全国地方公共団体コード, kana of the name, banner colour and the mail domains it may send from."},
	{table: "tenant_domains", where: "tenant = ?", order: "domain",
		columns: []string{"domain", "tenant", "created_at"},
		about:   "The city's own host names."},
	{table: "locations", order: "sort_order, name, id",
		columns: []string{"tenant_id", "id", "name", "address", "guidance", "sort_order", "active", "created_at", "updated_at"},
		about:   "交付場所: where cards are handed out."},
	{table: "schedule_templates", order: "location_id, weekday, start_time, id",
		columns: []string{"tenant_id", "id", "location_id", "weekday", "start_time", "end_time", "slot_minutes", "capacity", "created_at"},
		about:   "Weekly opening windows per location (weekday 0 = Sunday … 6 = Saturday; times JST), slot length and places per slot."},
	{table: "schedule_overrides", order: "location_id, day, id",
		columns: []string{"tenant_id", "id", "location_id", "day", "kind", "start_time", "end_time", "slot_minutes", "capacity", "note", "created_at"},
		about:   "Dated exceptions per location: open (an extra window), close (the whole day), capacity (another number of places)."},
	{table: "slots", order: "location_id, starts_at",
		columns: []string{"tenant_id", "id", "location_id", "day", "starts_at", "ends_at", "capacity", "booked", "held", "open", "flagged", "updated_at"},
		about:   "Bookable times generated from the schedule, with places booked and held."},
	{table: "slot_holds", order: "created_at, id",
		columns: []string{"tenant_id", "id", "slot_id", "places", "expires_at", "created_at"},
		about:   "Places held for a few minutes while a citizen confirms."},
	{table: "cards", order: "card_no",
		columns: []string{"tenant_id", "id", "card_no", "name", "name_kana", "storage_pos", "status", "status_changed_at", "created_at", "updated_at"},
		about:   "Cards to hand out: 製造管理番号, name and kana (if kept), storage position, status (imported, notice_sent, reserved, visited, issued, returned, on_hold, void). No birthday: see birthdays."},
	{table: "card_status_history", order: "card_id, seq",
		columns: []string{"tenant_id", "id", "card_id", "from_status", "to_status", "channel", "actor", "changed_at", "seq"},
		about:   "交付進捗: every status change of every card, with channel and actor, in order (seq)."},
	{table: "reservations", order: "created_at, id",
		columns: []string{"tenant_id", "id", "code", "slot_id", "location_id", "starts_at", "status", "channel", "email", "lang",
			"party_size", "mail_error", "created_at", "updated_at", "cancelled_at", "request_key", "call_note"},
		about: "Bookings: booking code, time and place, status (booked, cancelled, visited, no_show), channel, e-mail address (until cleared by retention), language, the call center's note of the call."},
	{table: "reservation_cards", order: "reservation_id, card_id",
		columns: []string{"tenant_id", "reservation_id", "card_id", "active"},
		about:   "The cards of each booking (active while the booking stands)."},
	{table: "outbox", order: "seq, id",
		columns: []string{"tenant_id", "id", "kind", "reservation_id", "data", "state", "attempts", "lease_until", "last_error", "created_at", "updated_at", "seq"},
		about:   "Mail to send and sent: kind, state (pending, enqueued, sent, failed, skipped), attempts and last error."},
	{table: "sent_mail", order: "message_id",
		columns: []string{"tenant_id", "message_id", "outbox_id", "state", "lease_until", "attempts", "created_at", "sent_at"},
		about:   "The ledger of mail handed to the mail server, by Message-ID."},
	{table: "mail_templates", order: "kind, lang",
		columns: []string{"tenant_id", "kind", "lang", "subject", "body", "updated_by", "updated_at"},
		about:   "The city's own mail wording per kind and language (Go text/template); kinds without a row use the built-in wording."},
	{table: "staff_accounts", order: "login_id",
		columns: []string{"tenant_id", "id", "login_id", "display_name", "role", "must_change", "password_expires_at", "failed_count",
			"locked_until", "disabled", "totp_enabled", "created_at", "updated_at"},
		about: "Staff accounts (admin = 市管理者, staff = 職員), without passwords or TOTP secrets: the next system issues new ones."},
	{table: "audit_log", order: "at, id",
		columns: []string{"tenant_id", "id", "at", "actor", "action", "target", "before", "after", "ip"},
		about:   "The audit log: who did what to which record, with the state before and after (JSON)."},
	{table: "import_profiles", order: "tenant_id",
		columns: []string{"tenant_id", "col_card_no", "col_birth", "col_name", "col_name_kana", "col_storage_pos", "updated_by", "updated_at"},
		about:   "The column names of the city's J-LIS/対象者 CSV."},
	{table: "import_jobs", order: "created_at, id",
		columns: []string{"tenant_id", "id", "uploaded_by", "file_name", "file_size", "state", "progress_done", "progress_total", "new_count",
			"changed_count", "unchanged_count", "rejected_count", "linked_count", "row_errors", "error_message", "created_at", "updated_at", "finished_at"},
		about: "Card imports and their results (row errors: line and reason, never a value); not the uploaded files."},
	{table: "event_counts", order: "bucket, kind, reason",
		columns: []string{"tenant_id", "bucket", "kind", "reason", "n"},
		about:   "Counts of refused bookings (by reason) and login locks (by level) per five minutes."},
}

// handoverOmitted are the columns of the exported tables left out of the archive, with why.
var handoverOmitted = []OmittedColumn{
	{Table: "cards", Column: "birth_hmac", Reason: "A keyed HMAC of the birthday (month and day): useless without the key, which stays with madoguchi. Birthdays come from a fresh J-LIS file."},
	{Table: "staff_accounts", Column: "password_hash", Reason: "Passwords are never handed over; the next system issues new ones."},
	{Table: "staff_accounts", Column: "totp_secret", Reason: "Authenticator (TOTP) secrets are never handed over; staff enrol again."},
	{Table: "staff_accounts", Column: "totp_last_step", Reason: "The replay guard of the TOTP secret, which is not handed over."},
	{Table: "staff_accounts", Column: "recheck_failures", Reason: "A 15-minute count of failed current-password checks; it means nothing to the next system."},
	{Table: "staff_accounts", Column: "recheck_since", Reason: "The start of that 15-minute count."},
	{Table: "tenants", Column: "training_of", Reason: "Marks a training copy (研修用) of a city for its staff to practise on, and names that city: the vendor's arrangement, which means nothing to the next system."},
	{Table: "import_jobs", Column: "file_bytes", Reason: "The uploaded file, kept only while its import runs; it may hold data the import drops (個人番号, full birth dates, addresses)."},
}

// Manifest is manifest.json, the archive's description.
type Manifest struct {
	Format        string          `json:"format"`
	FormatVersion int             `json:"format_version"`
	ExportID      uuid.UUID       `json:"export_id"`
	ExportedAt    time.Time       `json:"exported_at"`
	City          ManifestCity    `json:"city"`
	Snapshot      Statement       `json:"snapshot"`
	Birthdays     Statement       `json:"birthdays"`
	CSV           Statement       `json:"csv"`
	Files         []ManifestFile  `json:"files"`
	Omitted       []OmittedColumn `json:"omitted_columns"`
}

// ManifestCity names the city the archive is of.
type ManifestCity struct {
	ID   uuid.UUID `json:"id"`
	Slug string    `json:"slug"`
	Name string    `json:"name"`
}

// Statement is one statement of the manifest, in Japanese and English.
type Statement struct {
	JA string `json:"ja"`
	EN string `json:"en"`
}

// ManifestFile describes one CSV file: its table and columns, the number of data rows (the
// header not counted), its size and SHA-256 (hex) as stored in the zip, uncompressed.
type ManifestFile struct {
	Name        string           `json:"name"`
	Table       string           `json:"table"`
	Description string           `json:"description"`
	Columns     []ManifestColumn `json:"columns"`
	Rows        int              `json:"rows"`
	Bytes       int64            `json:"bytes"`
	SHA256      string           `json:"sha256"`
}

// ManifestColumn is one column of a file: its name and PostgreSQL type (as format_type spells it).
type ManifestColumn struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
}

// OmittedColumn is a column of an exported table that the archive leaves out, and why.
type OmittedColumn struct {
	Table  string `json:"table"`
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// The manifest's fixed statements.
var (
	handoverSnapshot = Statement{
		JA: "すべてのファイルは一つの読み取り専用トランザクション（REPEATABLE READ）で読み出したもので、同じ一時点のデータです。",
		EN: "Every file was read in one read-only REPEATABLE READ transaction: together they are one consistent moment.",
	}
	handoverBirthdays = Statement{
		JA: "生年月日は、本システムの鍵による HMAC（月日のみ）としてしか保存していません。鍵は引き渡さないため、次の事業者はこの値を利用できません。生年月日は J-LIS から改めて受領したファイルから取り込んでください。",
		EN: "Birthdays are stored only as a keyed HMAC (of month and day) that the next vendor cannot use: the key is not handed over. Birthdays must come from a fresh J-LIS file.",
	}
	handoverCSV = Statement{
		JA: "CSV は UTF-8（BOM 付き）、改行は CRLF、1 行目は列名です。値はすべて二重引用符で囲み、値の中の二重引用符は二つ重ねています。値の中の改行はそのまま残しています。NULL は引用符のない空欄、空文字列は \"\" です（PostgreSQL の COPY … CSV と同じ）。表計算ソフトが数式と解釈しないよう、= + - @ タブ CR NUL で始まる値の先頭には ' を付けています（取り込み時はこの ' を外してください）。日時は UTC の ISO 8601（例 2026-04-01T00:30:00.000000Z）、日付は YYYY-MM-DD、時刻は日本時間の HH:MM:SS、JSON の列は JSON 文字列、配列の列は PostgreSQL の配列表記（{a,b}）です。",
		EN: "CSV files are UTF-8 with a byte-order mark, CRLF line ends and a header row. Every value is quoted, with inner quotes doubled; line breaks inside values are kept. NULL is an empty unquoted field, an empty string is \"\" (as PostgreSQL's COPY … CSV reads them). A value starting with = + - @ TAB CR or NUL has a ' put in front so spreadsheets do not run it as a formula: remove it when loading. Timestamps are ISO 8601 in UTC (e.g. 2026-04-01T00:30:00.000000Z), dates YYYY-MM-DD, times of day HH:MM:SS in JST, JSON columns JSON text, array columns PostgreSQL's array text ({a,b}).",
	}
)

// ExportHandover writes the city's complete data to w as the handover archive (a zip of CSV
// files and manifest.json, described at the top of this file) and returns the manifest. The
// archive is written while it is read, in one READ ONLY REPEATABLE READ transaction in the
// city's scope. Two rows go to the city's audit log as actor, action "handover.export" with the
// export's id as target: "started" before anything is read (when it cannot be written, nothing
// is exported), then "complete" with the rows, size and SHA-256 of the archive — or "incomplete"
// when writing to w failed (that error is returned) or "failed" when reading did. For the
// vendor's ops both rows also go to the vendor's own log. An error means the archive is not
// whole: the caller discards what was written. It returns forbidden for a citizen (only staff
// and the vendor hand a city over).
func (s *Service) ExportHandover(ctx context.Context, t *tenant.Tenant, w io.Writer, a tenant.Actor) (_ *Manifest, err error) {
	defer tenant.Wrap(&err, "booking.ExportHandover(%s)", t.ID)
	if !a.Audited() {
		return nil, tenant.Errorf(tenant.Forbidden, "error.forbidden")
	}
	now := s.now()
	m := &Manifest{Format: HandoverFormat, FormatVersion: HandoverFormatVersion, ExportID: uuid.New(), ExportedAt: now.UTC(),
		City: ManifestCity{ID: t.ID, Slug: t.Slug, Name: t.Name}, Snapshot: handoverSnapshot, Birthdays: handoverBirthdays,
		CSV: handoverCSV, Omitted: handoverOmitted}
	target := "handover:" + m.ExportID.String()
	if err := tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return a.AuditCity(ctx, tx, t.ID, "handover.export", target, nil, map[string]any{"result": "started", "format_version": HandoverFormatVersion})
	}); err != nil {
		return nil, err
	}
	out := &hashingWriter{w: w, h: sha256.New()}
	zw := zip.NewWriter(out)
	err = tenant.InSnapshot(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		for _, spec := range handoverTables {
			f, err := writeHandoverFile(ctx, tx, zw, spec, t.ID, now)
			if err != nil {
				return err
			}
			m.Files = append(m.Files, *f)
		}
		return nil
	})
	if err == nil {
		err = writeManifest(zw, m, now)
	}
	if err == nil {
		err = zw.Close()
	}
	result := "complete"
	switch {
	case out.err != nil:
		result, err = "incomplete", out.err
	case err != nil:
		result = "failed"
	}
	rows := 0
	for _, f := range m.Files {
		rows += f.Rows
	}
	if aerr := tenant.InTx(context.WithoutCancel(ctx), s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return a.AuditCity(ctx, tx, t.ID, "handover.export", target, nil, map[string]any{"result": result, "files": len(m.Files),
			"rows": rows, "bytes": out.n, "sha256": hex.EncodeToString(out.h.Sum(nil))})
	}); aerr != nil {
		err = errors.Join(err, aerr)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// writeHandoverFile writes one table as a CSV entry of zw and describes it. The column types come
// from the catalog; a listed column that does not exist is an error.
func writeHandoverFile(ctx context.Context, tx bun.Tx, zw *zip.Writer, spec handoverTable, tenantID uuid.UUID, at time.Time) (*ManifestFile, error) {
	var catalog []struct {
		Name     string `bun:"name"`
		Type     string `bun:"type"`
		Nullable bool   `bun:"nullable"`
	}
	if err := tx.NewRaw(`SELECT attname AS name, format_type(atttypid, atttypmod) AS type, NOT attnotnull AS nullable
		FROM pg_attribute WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped`, "public."+spec.table).Scan(ctx, &catalog); err != nil {
		return nil, fmt.Errorf("read the columns of %s: %w", spec.table, err)
	}
	f := &ManifestFile{Name: spec.table + ".csv", Table: spec.table, Description: spec.about}
	exprs := make([]string, len(spec.columns))
	for i, name := range spec.columns {
		found := false
		for _, c := range catalog {
			if c.Name == name {
				f.Columns = append(f.Columns, ManifestColumn{Name: name, Type: c.Type, Nullable: c.Nullable})
				exprs[i] = handoverExpr(name, c.Type)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("handover: table %s has no column %s", spec.table, name)
		}
	}
	q := "SELECT " + strings.Join(exprs, ", ") + " FROM " + pgx.Identifier{spec.table}.Sanitize()
	var args []any
	if spec.where != "" {
		q += " WHERE " + spec.where
		args = append(args, tenantID)
	}
	q += " ORDER BY " + spec.order
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: at.In(JST)})
	if err != nil {
		return nil, err
	}
	cw, err := NewCSVWriter(fw, EncodingUTF8)
	if err != nil {
		return nil, err
	}
	cw.PreserveLineBreaks()
	if err := cw.Write(spec.columns); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", spec.table, err)
	}
	defer rows.Close()
	vals := make([]sql.NullString, len(exprs))
	dest := make([]any, len(exprs))
	for i := range vals {
		dest[i] = &vals[i]
	}
	fields := make([]*string, len(exprs))
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read %s: %w", spec.table, err)
		}
		for i := range vals {
			fields[i] = nil
			if vals[i].Valid {
				fields[i] = &vals[i].String
			}
		}
		if err := cw.WriteNullable(fields); err != nil {
			return nil, err
		}
		f.Rows++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", spec.table, err)
	}
	res := cw.Result()
	f.Bytes, f.SHA256 = res.Bytes, res.SHA256
	return f, nil
}

// handoverExpr is the SELECT expression that spells a column as the archive's CSV does:
// timestamps in UTC ISO 8601, dates as YYYY-MM-DD, everything else as PostgreSQL's text form
// (arrays as {a,b}, JSON as JSON text).
func handoverExpr(name, typ string) string {
	c := pgx.Identifier{name}.Sanitize()
	switch typ {
	case "timestamp with time zone":
		return "to_char(" + c + ` AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
	case "date":
		return "to_char(" + c + ", 'YYYY-MM-DD')"
	}
	return c + "::text"
}

// writeManifest adds manifest.json, the last entry.
func writeManifest(zw *zip.Writer, m *Manifest, at time.Time) error {
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: "manifest.json", Method: zip.Deflate, Modified: at.In(JST)})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(fw)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(m)
}

// hashingWriter counts and hashes what reaches the caller's writer and keeps its first error,
// so a client that went away is told apart from a database failure.
type hashingWriter struct {
	w   io.Writer
	h   hash.Hash
	n   int64
	err error
}

func (hw *hashingWriter) Write(p []byte) (int, error) {
	if hw.err != nil {
		return 0, hw.err
	}
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	if err != nil {
		hw.err = err
	}
	return n, err
}
