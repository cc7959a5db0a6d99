package main

import (
	"context"
	"fmt"
	"io"

	"github.com/madoguchi/madoguchi/migrations"
	"github.com/madoguchi/madoguchi/tenant"
)

func cmdMigrate(ctx context.Context, cfg *Config, args []string, stdout io.Writer) error {
	if cfg.OwnerDatabaseURL == "" {
		return fmt.Errorf("MADOGUCHI_OWNER_DATABASE_URL: required for migrate")
	}
	appRole, err := tenant.DSNUser(cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("MADOGUCHI_DATABASE_URL: %w", err)
	}
	db, err := tenant.OpenDB(ctx, cfg.OwnerDatabaseURL, 2)
	if err != nil {
		return fmt.Errorf("MADOGUCHI_OWNER_DATABASE_URL: %w", err)
	}
	defer db.Close()
	if len(args) > 0 && args[0] == "down" {
		name, err := migrations.Down(ctx, db, appRole)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "reverted %s\n", name)
		return nil
	}
	applied, err := migrations.Up(ctx, db, appRole)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	for _, m := range applied {
		fmt.Fprintf(stdout, "applied %s\n", m)
	}
	return nil
}
