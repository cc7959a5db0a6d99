package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/madoguchi/madoguchi/tenant"
)

func cmdTenant(ctx context.Context, cfg *Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: madoguchi tenant create SLUG NAME | list | disable SLUG | enable SLUG | clear-allow-list SLUG")
	}
	a, err := OpenApp(ctx, cfg, log, time.Now)
	if err != nil {
		return err
	}
	defer a.Close()
	switch {
	case args[0] == "create" && len(args) == 3:
		t, err := a.Tenants.Create(ctx, args[1], args[2])
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "created %s (%s): http://%s.%s/\n", t.Slug, t.Name, t.Slug, cfg.BaseDomain)
	case args[0] == "list" && len(args) == 1:
		ts, err := a.Tenants.List(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "SLUG\tNAME\tSTATUS\tCREATED")
		for _, t := range ts {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.Slug, t.Name, t.Status, t.CreatedAt.Format("2006-01-02"))
		}
		return w.Flush()
	case (args[0] == "disable" || args[0] == "enable") && len(args) == 2:
		st := tenant.Disabled
		if args[0] == "enable" {
			st = tenant.Active
		}
		if err := a.Tenants.SetStatus(ctx, args[1], st); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "%s is now %s\n", args[1], st)
	case args[0] == "clear-allow-list" && len(args) == 2:
		removed, err := a.Tenants.ClearAdminAllowList(ctx, args[1], "vendor (madoguchi tenant clear-allow-list)")
		if err != nil {
			return describe(err)
		}
		if len(removed) == 0 {
			fmt.Fprintf(stdout, "%s had no /admin allow-list; nothing changed\n", args[1])
			return nil
		}
		fmt.Fprintf(stdout, "%s: /admin allow-list removed (was %s); recorded in the city's audit log\n", args[1], strings.Join(removed, ", "))
	default:
		return fmt.Errorf("usage: madoguchi tenant create SLUG NAME | list | disable SLUG | enable SLUG | clear-allow-list SLUG")
	}
	return nil
}

// describe turns a domain error into a line an operator can act on.
func describe(err error) error {
	e := tenant.AsError(err)
	if e == nil {
		return err
	}
	if len(e.Fields) > 0 {
		return fmt.Errorf("%s: %v", e.Code, e.Fields)
	}
	return fmt.Errorf("%s: %s", e.Code, e.Key)
}
