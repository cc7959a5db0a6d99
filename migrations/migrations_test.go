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
