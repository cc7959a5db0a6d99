package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/madoguchi/madoguchi/tenant"
)

// exportTenant writes the city's handover archive (booking.ExportHandover) to a new file, readable
// by its owner only: it holds the citizens' personal data. An existing file is never overwritten;
// a failed or interrupted export removes what it wrote.
func exportTenant(ctx context.Context, a *App, slug, path string, by tenant.Actor, stdout io.Writer) error {
	t, err := a.Tenants.BySlug(ctx, slug)
	if err != nil {
		if tenant.ErrorCode(err) == tenant.NotFound {
			return fmt.Errorf("no tenant %q", slug)
		}
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(path)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	m, err := a.Booking.ExportHandover(ctx, t, bw, by)
	if err != nil {
		return describe(err)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	done = true
	rows := 0
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, file := range m.Files {
		rows += file.Rows
		fmt.Fprintf(w, "  %s\t%d rows\n", file.Name, file.Rows)
	}
	fmt.Fprintf(stdout, "exported %s (%s) to %s: %d files, %d rows, format %s %d, export %s\n",
		t.Slug, t.Name, path, len(m.Files), rows, m.Format, m.FormatVersion, m.ExportID)
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "manifest.json lists each file's rows and SHA-256; recorded in the city's audit log (handover.export)")
	fmt.Fprintln(stdout, "birthdays are not in it (stored only as a keyed HMAC): the next vendor loads them from a fresh J-LIS file")
	return nil
}
