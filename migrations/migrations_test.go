package migrations_test

import (
	"context"
	"testing"

	"github.com/madoguchi/madoguchi/migrations"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

func TestAllNumbered(t *testing.T) {
	all, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no migrations embedded")
	}
}

func TestUpDownUp(t *testing.T) {
	d := tenanttest.NewDB(t) // already migrated up
	ctx := context.Background()
	all, _ := migrations.All()
	for range all {
		if _, err := migrations.Down(ctx, d.Owner, d.AppRole); err != nil {
			t.Fatalf("Down: %v", err)
		}
	}
	var n int
	if err := d.Owner.NewRaw("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname <> 'schema_migrations'").Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d tables left after reverting every migration", n)
	}
	applied, err := migrations.Up(ctx, d.Owner, d.AppRole)
	if err != nil || len(applied) != len(all) {
		t.Fatalf("Up after Down = %v, %v; want %d applied", applied, err, len(all))
	}
	if again, err := migrations.Up(ctx, d.Owner, d.AppRole); err != nil || len(again) != 0 {
		t.Errorf("second Up = %v, %v; want nothing to do", again, err)
	}
}

// TestExpandOnly: an up migration may only add (expand) unless it is marked as a contract step,
// so the previous release keeps working against the new schema during a rolling update.
func TestExpandOnly(t *testing.T) {
	all, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, mg := range all {
		if d := migrations.Destructive(mg.Up); len(d) > 0 {
			t.Errorf("migration %s_%s %v but is not marked as a contract step (a line \"-- contract: why the previous release no longer needs it\")", mg.Version, mg.Name, d)
		}
	}
	for sql, want := range map[string]bool{
		"ALTER TABLE r DROP COLUMN note;":            true,
		"ALTER TABLE r DROP note;":                   true,
		"DROP TABLE r;":                              true,
		"ALTER TABLE r RENAME COLUMN a TO b;":        true,
		"ALTER TABLE r ALTER COLUMN a TYPE bigint;":  true,
		"ALTER TABLE r ALTER COLUMN a SET NOT NULL;": true,
		"ALTER TABLE r ADD COLUMN a text NOT NULL;":  true,
		"TRUNCATE r;": true,
		"-- contract: 0017 stopped reading note\nALTER TABLE r DROP COLUMN note;": false,
		"ALTER TABLE r ADD COLUMN a text NOT NULL DEFAULT '';":                    false,
		"ALTER TABLE r ADD COLUMN a text;":                                        false,
		"ALTER TABLE r ADD CONSTRAINT c CHECK (a IS NOT NULL) NOT VALID;":         false,
		"ALTER TABLE r DROP CONSTRAINT c;":                                        false,
		"DROP POLICY p ON r; CREATE POLICY p ON r USING (true);":                  false,
		"DROP INDEX IF EXISTS i;":                                                 false,
		"CREATE TABLE t (id int NOT NULL);":                                       false,
		"-- we drop table x later\nSELECT 1;":                                     false,
	} {
		if got := len(migrations.Destructive(sql)) > 0; got != want {
			t.Errorf("Destructive(%q) = %v, want %v", sql, got, want)
		}
	}
}

// TestVersion: the runtime role, which cannot read schema_migrations, reads the newest applied
// migration from its comment, and Down and Up keep it current.
func TestVersion(t *testing.T) {
	d := tenanttest.NewDB(t) // already migrated up
	ctx := context.Background()
	all, _ := migrations.All()
	latest := migrations.Latest()
	if latest != all[len(all)-1].Version {
		t.Fatalf("Latest() = %q", latest)
	}
	if v, err := migrations.Version(ctx, d.App); err != nil || v != latest {
		t.Fatalf("Version as the runtime role = %q, %v; want %s", v, err, latest)
	}
	if _, err := migrations.Down(ctx, d.Owner, d.AppRole); err != nil {
		t.Fatal(err)
	}
	if v, err := migrations.Version(ctx, d.App); err != nil || v != all[len(all)-2].Version {
		t.Fatalf("Version after Down = %q, %v; want %s", v, err, all[len(all)-2].Version)
	}
	if _, err := migrations.Up(ctx, d.Owner, d.AppRole); err != nil {
		t.Fatal(err)
	}
	if v, _ := migrations.Version(ctx, d.App); v != latest {
		t.Fatalf("Version after Up = %q, want %s", v, latest)
	}
}
