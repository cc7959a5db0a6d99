package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// TestBenchImport runs `madoguchi-bench -import` small, with both references: the runtime role
// (TEMP table) and the owner (-ref-url, a real table with the foreign key). Both sides must
// report every row.
func TestBenchImport(t *testing.T) {
	d := tenanttest.NewDB(t)
	for _, args := range [][]string{
		{"-rows", "2000", "-rounds", "2"},
		{"-rows", "2000", "-rounds", "1", "-ref-url", d.OwnerDSN},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"-import", "-json"}, args...), benchEnv(d), &out, &errOut)
		if err != nil {
			t.Fatalf("madoguchi-bench -import %v: %v\nstderr:\n%s", args, err, errOut.String())
		}
		var rep ImportBenchReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("madoguchi-bench -import %v printed no JSON (%v): %s", args, err, out.String())
		}
		for i, r := range rep.Rounds {
			if r.AppRows != 2000 || r.CopyRows != 2000 || r.AppRowsPS <= 0 || r.CopyRowsPS <= 0 || r.Ratio <= 0 {
				t.Errorf("madoguchi-bench -import %v round %d = %+v", args, i+1, r)
			}
		}
		if rep.Rows != 2000 || rep.Median <= 0 || rep.Min > rep.Median || rep.Max < rep.Median {
			t.Errorf("madoguchi-bench -import %v = %+v", args, rep)
		}
	}
}

// TestBenchImportFull runs the full import bench on the test database against the owner's \copy
// (the goal's reference) when MADOGUCHI_BENCH_IMPORT holds its flags ("-" for the defaults:
// 100,000 rows, 3 rounds; e.g. "-rounds 5 -cpuprofile /tmp/import.prof"). Not part of CI.
func TestBenchImportFull(t *testing.T) {
	flags := os.Getenv("MADOGUCHI_BENCH_IMPORT")
	if flags == "" {
		t.Skip("MADOGUCHI_BENCH_IMPORT not set")
	}
	d := tenanttest.NewDB(t)
	args := []string{"-import", "-ref-url", d.OwnerDSN}
	if flags != "-" {
		args = append(args, strings.Fields(flags)...)
	}
	var out bytes.Buffer
	if err := run(context.Background(), args, benchEnv(d), &out, os.Stderr); err != nil {
		t.Fatalf("madoguchi-bench %v: %v\n%s", args, err, out.String())
	}
	t.Logf("\n%s", out.String())
}
