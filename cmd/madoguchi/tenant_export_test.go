package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// TestTenantExportCommand runs `madoguchi tenant export SLUG FILE` on a seeded city: the file is
// a zip with the manifest, readable by its owner only, and the export is in the city's audit log
// as the vendor; an existing file is never overwritten; an unknown city or a bad path leaves no
// file.
func TestTenantExportCommand(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	getenv := testEnv(t, d, ":0")
	if err := run(ctx, []string{"tenant", "create", "tsu", "津市", "--code", "242012", "--admin", "tsu.admin"}, getenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	tsu, err := tenant.NewService(d.App).BySlug(ctx, "tsu")
	if err != nil {
		t.Fatal(err)
	}
	bookingtest.SeedAll(t, d.App, tsu)
	dir := t.TempDir()
	file := filepath.Join(dir, "tsu-handover.zip")

	var out bytes.Buffer
	if err := run(ctx, []string{"tenant", "export", "tsu", file}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("tenant export: %v", err)
	}
	for _, want := range []string{"exported tsu (津市) to " + file + ": ", "  cards.csv", "recorded in the city's audit log (handover.export)", "fresh J-LIS file"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output %q lacks %q", out.String(), want)
		}
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("archive mode = %v, want 0600", st.Mode().Perm())
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("the file is not a zip: %v", err)
	}
	var m booking.Manifest
	for _, f := range zr.File {
		if f.Name != "manifest.json" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(rc).Decode(&m)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if m.City.Slug != "tsu" || len(m.Files) == 0 || len(zr.File) != len(m.Files)+1 {
		t.Errorf("manifest = %+v with %d entries in the zip", m, len(zr.File))
	}

	var audit []string
	if err := tenant.InTx(ctx, d.App, tsu.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT actor || ' ' || action || ' ' || (after ->> 'result') FROM audit_log WHERE action = 'handover.export'
			ORDER BY at, after ->> 'result' = 'started' DESC`).Scan(ctx, &audit)
	}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(audit, "; "); got != "vendor:cli handover.export started; vendor:cli handover.export complete" {
		t.Errorf("the city's audit log of the export = %q", got)
	}

	steps := []struct {
		args []string
		err  string
	}{
		{[]string{"tenant", "export", "tsu", file}, "file exists"},
		{[]string{"tenant", "export", "nosuch", filepath.Join(dir, "nosuch.zip")}, `no tenant "nosuch"`},
		{[]string{"tenant", "export", "tsu", filepath.Join(dir, "missing", "tsu.zip")}, "no such file or directory"},
		{[]string{"tenant", "export", "tsu"}, "usage: madoguchi tenant"},
	}
	for _, s := range steps {
		err := run(ctx, s.args, getenv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), s.err) {
			t.Errorf("run(%v) err = %v, want one containing %q", s.args, err, s.err)
		}
	}
	if again, err := os.ReadFile(file); err != nil || !bytes.Equal(again, data) {
		t.Errorf("the existing archive changed after a refused export (%v)", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left in the directory: %v, want only the archive", entries)
	}
}
