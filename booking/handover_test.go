package booking_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp/totp"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// vendor is the member of the vendor's ops team handing a city over.
var vendor = tenant.Vendor(uuid.New(), "ops.handover", "192.0.2.99")

// handoverArchive is a handover archive read back: its manifest and each entry's bytes.
type handoverArchive struct {
	names    []string // entries in order
	manifest booking.Manifest
	files    map[string][]byte
}

func readHandover(t *testing.T, b []byte) *handoverArchive {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("the archive is not a zip: %v", err)
	}
	h := &handoverArchive{files: map[string][]byte{}}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", f.Name, err)
		}
		h.names = append(h.names, f.Name)
		h.files[f.Name] = data
	}
	dec := json.NewDecoder(bytes.NewReader(h.files["manifest.json"]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h.manifest); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	return h
}

// records parses a CSV file of the archive: the header and the data rows.
func (h *handoverArchive) records(t *testing.T, name string) (header []string, rows [][]string) {
	t.Helper()
	data, ok := h.files[name]
	if !ok {
		t.Fatalf("no %s in the archive", name)
	}
	if !bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) {
		t.Errorf("%s does not start with a UTF-8 byte-order mark", name)
	}
	all, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(all) == 0 {
		t.Fatalf("%s has no header", name)
	}
	return all[0], all[1:]
}

// TestExportHandover exports a city seeded with every table's fixtures and reads the archive
// back: every table with a tenant_id column (from the catalog) is a file, every column of the
// exported tables is in it or listed as omitted with a reason, the manifest's counts and
// checksums match the files and the database, no password hash, TOTP secret or birth HMAC and
// nothing of another city is in it, and the export is in the city's audit log.
func TestExportHandover(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	a, b := tenanttest.MustCreateTenant(t, d.App), tenanttest.MustCreateTenant(t, d.App)
	bookingtest.SeedAll(t, d.App, a)
	bookingtest.SeedAll(t, d.App, b)
	clock := tenanttest.NewClock()
	svc := bookingtest.Service(d.App, clock.Now)
	if _, err := tenant.NewService(d.App).AddDomain(ctx, a.Slug, "yoyaku."+a.Slug+".example.lg.jp", tenant.VendorCLI()); err != nil {
		t.Fatal(err)
	}
	// The seeded admin enrols an authenticator app, so there is a TOTP secret to keep out.
	accs := tenant.NewAccounts(d.App, clock.Now)
	list, err := accs.List(ctx, a)
	if err != nil || len(list) != 1 {
		t.Fatalf("accounts = %v, %v", list, err)
	}
	secret, err := tenant.NewTOTPSecret(a, list[0].LoginID)
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCode(secret, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := accs.SetPasswordNoChange(ctx, a, list[0].LoginID, "handover admin password"); err != nil {
		t.Fatal(err)
	}
	if err := accs.EnableTOTP(ctx, a, list[0].ID, "handover admin password", secret, code, ""); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	m, err := svc.ExportHandover(ctx, a, &buf, vendor)
	if err != nil {
		t.Fatalf("ExportHandover: %v", err)
	}
	h := readHandover(t, buf.Bytes())

	// The manifest: what the method returned is what the archive says.
	got, _ := json.Marshal(h.manifest)
	want, _ := json.Marshal(m)
	if !bytes.Equal(got, want) {
		t.Errorf("manifest.json differs from the returned manifest:\n%s\n%s", got, want)
	}
	if m.Format != booking.HandoverFormat || m.FormatVersion != booking.HandoverFormatVersion || m.City.ID != a.ID ||
		m.City.Slug != a.Slug || m.City.Name != a.Name || !m.ExportedAt.Equal(clock.Now()) {
		t.Errorf("manifest head = %+v", m)
	}
	for _, s := range []string{m.Birthdays.JA, m.Birthdays.EN} {
		if !strings.Contains(s, "HMAC") || !strings.Contains(s, "J-LIS") {
			t.Errorf("birthday statement %q does not say HMAC and J-LIS", s)
		}
	}
	var names []string
	for _, f := range m.Files {
		names = append(names, f.Name)
	}
	if fmt.Sprint(h.names) != fmt.Sprint(append(names, "manifest.json")) {
		t.Errorf("archive entries = %v, want the manifest's files then manifest.json", h.names)
	}

	// Every table with a tenant_id column is a file.
	byTable := map[string]booking.ManifestFile{}
	for _, f := range m.Files {
		byTable[f.Table] = f
	}
	for _, table := range tenantTables(t, d.App) {
		if _, ok := byTable[table]; !ok {
			t.Errorf("table %s has a tenant_id column but no file in the handover archive: add it to handoverTables (booking/handover.go)", table)
		}
	}
	// Every column of an exported table is exported or omitted with a reason.
	omitted := map[string]string{}
	for _, o := range m.Omitted {
		omitted[o.Table+"."+o.Column] = o.Reason
		if o.Reason == "" {
			t.Errorf("omitted column %s.%s has no reason", o.Table, o.Column)
		}
	}
	for table, f := range byTable {
		var cols []string
		if err := d.App.NewRaw(`SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ?
			ORDER BY ordinal_position`, table).Scan(ctx, &cols); err != nil {
			t.Fatal(err)
		}
		exported := map[string]bool{}
		for _, c := range f.Columns {
			exported[c.Name] = true
		}
		for _, c := range cols {
			if !exported[c] && omitted[table+"."+c] == "" {
				t.Errorf("column %s.%s is neither exported nor omitted with a reason (booking/handover.go)", table, c)
			}
			if exported[c] && omitted[table+"."+c] != "" {
				t.Errorf("column %s.%s is both exported and omitted", table, c)
			}
		}
	}
	for _, secretCol := range []string{"staff_accounts.password_hash", "staff_accounts.totp_secret", "cards.birth_hmac"} {
		if omitted[secretCol] == "" {
			t.Errorf("%s is not listed as omitted", secretCol)
		}
	}

	// Each file: its checksum, size and row count as the manifest says; its header the manifest's
	// columns; its rows the city's rows (counted in its scope), none with a secret's column.
	counts := map[string]int{}
	err = tenant.InTx(ctx, d.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		for table := range byTable {
			var n int
			q, args := "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize(), []any{} // tenant tables: RLS scopes them
			switch table {
			case "tenants":
				q, args = q+" WHERE id = ?", append(args, a.ID)
			case "tenant_domains":
				q, args = q+" WHERE tenant = ?", append(args, a.ID)
			}
			if err := tx.NewRaw(q, args...).Scan(ctx, &n); err != nil {
				return err
			}
			counts[table] = n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	counts["audit_log"]-- // the "complete" row is written after the snapshot
	for _, f := range m.Files {
		data := h.files[f.Name]
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(data)) != f.Bytes {
			t.Errorf("%s: sha256 %x, %d bytes; manifest says %s, %d", f.Name, sum, len(data), f.SHA256, f.Bytes)
		}
		header, rows := h.records(t, f.Name)
		var cols []string
		for _, c := range f.Columns {
			cols = append(cols, c.Name)
		}
		if !slices.Equal(header, cols) {
			t.Errorf("%s header = %v, want the manifest's columns %v", f.Name, header, cols)
		}
		if len(rows) != f.Rows || f.Rows != counts[f.Table] {
			t.Errorf("%s has %d rows, manifest says %d, the city has %d", f.Name, len(rows), f.Rows, counts[f.Table])
		}
		if f.Rows == 0 {
			t.Errorf("%s is empty: SeedAll should give every table a row", f.Name)
		}
		for _, c := range header {
			if c == "password_hash" || c == "totp_secret" || c == "birth_hmac" || c == "file_bytes" {
				t.Errorf("%s has the column %s", f.Name, c)
			}
		}
	}

	// No secret and nothing of city B, in any file.
	var hmacs []string
	if err := tenant.InTx(ctx, d.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT encode(birth_hmac, 'hex') FROM cards").Scan(ctx, &hmacs)
	}); err != nil {
		t.Fatal(err)
	}
	list, err = accs.List(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	forbidden := map[string]string{"TOTP secret": secret, "password hash": list[0].PasswordHash, "argon2 prefix": "$argon2id$",
		"city B's id": b.ID.String(), "city B's slug": b.Slug}
	for i, x := range hmacs {
		forbidden[fmt.Sprintf("birth HMAC %d", i)] = x
	}
	for name, data := range h.files {
		for what, s := range forbidden {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s contains %s", name, what)
			}
		}
	}

	// Values survive: the mail template's lines, the audit row of this export's start.
	tmpl, err := svc.MailTemplateOf(ctx, a, booking.KindReminder, "ja")
	if err != nil {
		t.Fatal(err)
	}
	_, rows := h.records(t, "mail_templates.csv")
	if len(rows) != 1 || rows[0][4] != tmpl.Body || !strings.Contains(rows[0][4], "\n") {
		t.Errorf("mail_templates.csv body = %q, want %q with its line breaks", rows, tmpl.Body)
	}
	_, rows = h.records(t, "audit_log.csv")
	target := "handover:" + m.ExportID.String()
	started := 0
	for _, r := range rows {
		if r[4] == "handover.export" && r[5] == target && strings.Contains(r[7], `"started"`) {
			started++
		}
	}
	if started != 1 {
		t.Errorf("audit_log.csv has %d rows of this export's start, want 1", started)
	}
	var ops []string
	if err := d.App.NewRaw("SELECT actor || ' ' || action || ' ' || (after ->> 'result') FROM ops_audit_log WHERE tenant = ? AND target = ? ORDER BY seq",
		a.ID, target).Scan(ctx, &ops); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ops, "; "); got != "vendor:ops.handover handover.export started; vendor:ops.handover handover.export complete" {
		t.Errorf("the vendor's log of the export = %q", got)
	}
	recs := handoverAudit(t, d, a, target)
	sum := sha256.Sum256(buf.Bytes())
	if len(recs) != 2 || !strings.Contains(recs[0], `"started"`) || !strings.Contains(recs[1], `"complete"`) ||
		!strings.Contains(recs[1], hex.EncodeToString(sum[:])) || !strings.HasPrefix(recs[1], "vendor:ops.handover handover.export ") {
		t.Errorf("audit rows of the export = %q, want started, then complete with the archive's SHA-256", recs)
	}
}

// handoverAudit returns the city's audit rows of one export as "actor action after" lines.
func handoverAudit(t *testing.T, d *tenanttest.DB, tn *tenant.Tenant, target string) []string {
	t.Helper()
	var recs []string
	if err := tenant.InTx(context.Background(), d.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT actor || ' ' || action || ' ' || after::text FROM audit_log WHERE target = ? ORDER BY at, after->>'result' = 'started' DESC", target).Scan(ctx, &recs)
	}); err != nil {
		t.Fatal(err)
	}
	return recs
}

// failingWriter accepts n bytes, then fails.
type failingWriter struct{ n int }

var errClientGone = errors.New("client went away")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errClientGone
	}
	w.n -= len(p)
	return len(p), nil
}

// TestExportHandoverRefusals: a citizen cannot export; a writer that fails half-way returns its
// error, and the export is recorded as incomplete.
func TestExportHandoverRefusals(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	a := tenanttest.MustCreateTenant(t, d.App)
	bookingtest.SeedAll(t, d.App, a)
	svc := bookingtest.Service(d.App, nil)
	if _, err := svc.ExportHandover(ctx, a, io.Discard, bookingtest.Citizen); tenant.ErrorCode(err) != tenant.Forbidden {
		t.Errorf("ExportHandover by a citizen = %v, want forbidden", err)
	}
	_, err := svc.ExportHandover(ctx, a, &failingWriter{n: 2000}, vendor)
	if !errors.Is(err, errClientGone) {
		t.Fatalf("ExportHandover to a failing writer = %v, want its error", err)
	}
	var results []string
	if err := tenant.InTx(ctx, d.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT after->>'result' FROM audit_log WHERE action = 'handover.export' ORDER BY at, after->>'result' = 'started' DESC").Scan(ctx, &results)
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(results) != "[started incomplete]" {
		t.Errorf("audit results = %v, want [started incomplete]", results)
	}
}
