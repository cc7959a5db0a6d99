package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

const tenantUsage = `usage: madoguchi tenant <command>

  create SLUG NAME --code CODE --admin LOGIN [--admin-name NAME] [--kana KANA] [--color RRGGBB] [--domain HOST]
                                   open a municipality with its first 市管理者 (prints the initial password)
  list                             list municipalities (a training copy: TRAINING names the city it copies)
  show SLUG                        one municipality: code, kana, banner, domains, mail domains
  disable|enable SLUG              take a municipality offline / back online
  admin-reset SLUG LOGIN           new initial password for a 市管理者, unlocked (prints it)
  domain add|remove SLUG HOST      map / unmap a custom host name (the ingress and TLS are a deployment step)
  mail-domains SLUG DOMAIN... | --none
                                   the domains the municipality may send mail From
  clear-allow-list SLUG            remove the /admin IP allow-list when its admins are locked out
  training SLUG                    open the municipality's training copy (研修用, SLUG-kensyu) with its
                                   first 市管理者 kensyu.admin (prints the initial password)
  export SLUG FILE                 write the municipality's handover archive (zip of CSV files and
                                   manifest.json) to FILE, a new file

Every change is written to the municipality's audit log as the vendor ("vendor:cli")`

// cmdTenant runs the vendor's commands on municipalities. Each calls one tenant.Service method as
// tenant.VendorCLI(), on the clock now.
func cmdTenant(ctx context.Context, cfg *Config, log *slog.Logger, args []string, stdout io.Writer, now func() time.Time) error {
	if len(args) == 0 {
		return errors.New(tenantUsage)
	}
	fs := flag.NewFlagSet("tenant "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	in := tenant.OnboardInput{}
	fs.StringVar(&in.Code, "code", "", "全国地方公共団体コード (6 digits)")
	fs.StringVar(&in.AdminLogin, "admin", "", "login id of the first 市管理者")
	fs.StringVar(&in.AdminName, "admin-name", "", "display name of the first 市管理者")
	fs.StringVar(&in.NameKana, "kana", "", "kana of the name")
	fs.StringVar(&in.BannerColor, "color", "", "banner colour, RRGGBB or #RRGGBB")
	fs.StringVar(&in.Domain, "domain", "", "custom host name")
	none := fs.Bool("none", false, "mail-domains: allow no domain")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return fmt.Errorf("%v\n%s", err, tenantUsage)
	}
	cmd := args[0]
	if cmd == "domain" && len(pos) > 0 {
		cmd, pos = "domain "+pos[0], pos[1:]
	}
	want := map[string]int{"create": 2, "list": 0, "show": 1, "disable": 1, "enable": 1, "admin-reset": 2,
		"domain add": 2, "domain remove": 2, "clear-allow-list": 1, "export": 2, "training": 1}
	if n, ok := want[cmd]; (ok && n != len(pos)) || (!ok && cmd != "mail-domains") || (cmd == "mail-domains" && len(pos) == 0) {
		return errors.New(tenantUsage)
	}
	if cmd == "create" && (in.Code == "" || in.AdminLogin == "") {
		return fmt.Errorf("tenant create needs --code and --admin\n%s", tenantUsage)
	}
	a, err := OpenApp(ctx, cfg, log, now)
	if err != nil {
		return err
	}
	defer a.Close()
	by := tenant.VendorCLI()
	switch cmd {
	case "create":
		in.Slug, in.Name = pos[0], pos[1]
		t, initial, err := a.Tenants.Onboard(ctx, in, by)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "created %s (%s, %s): %s\n", t.Slug, t.Name, t.Code, cityURL(cfg, t.Slug, "/"))
		if in.Domain != "" {
			fmt.Fprintf(stdout, "custom domain %s: add its ingress host and TLS certificate to the deployment\n", strings.ToLower(strings.TrimSpace(in.Domain)))
		}
		fmt.Fprintf(stdout, "first 市管理者 %s logs in at %s with the password below, shown only now;\n"+
			"it works for 72 hours and must be changed at the first login.\n", strings.ToLower(strings.TrimSpace(in.AdminLogin)), cityURL(cfg, t.Slug, "/admin"))
		fmt.Fprintf(stdout, "initial password: %s\n", initial)
	case "list":
		ts, err := a.Tenants.List(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		slugs := map[uuid.UUID]string{}
		for _, t := range ts {
			slugs[t.ID] = t.Slug
		}
		fmt.Fprintln(w, "SLUG\tNAME\tCODE\tSTATUS\tCREATED\tTRAINING")
		for _, t := range ts {
			training := "-"
			if t.Training() {
				training = "copy of " + slugs[*t.TrainingOf]
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Slug, t.Name, orDash(t.Code), t.Status, t.CreatedAt.Format("2006-01-02"), training)
		}
		return w.Flush()
	case "show":
		t, err := a.Tenants.BySlug(ctx, pos[0])
		if err != nil {
			return describe(err)
		}
		domains, err := a.Tenants.Domains(ctx, t.Slug)
		if err != nil {
			return describe(err)
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		for _, row := range [][2]string{{"slug", t.Slug}, {"name", t.Name}, {"kana", orDash(t.NameKana)}, {"code", orDash(t.Code)},
			{"status", string(t.Status)}, {"banner", t.BannerColor}, {"url", cityURL(cfg, t.Slug, "/")},
			{"custom domains", orDash(strings.Join(domains, ", "))}, {"mail domains", orDash(strings.Join(t.MailDomains, ", "))},
			{"created", t.CreatedAt.Format(time.RFC3339)}} {
			fmt.Fprintf(w, "%s:\t%s\n", row[0], row[1])
		}
		return w.Flush()
	case "disable", "enable":
		st := tenant.Disabled
		if cmd == "enable" {
			st = tenant.Active
		}
		if err := a.Tenants.SetStatus(ctx, pos[0], st, by); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "%s is now %s\n", pos[0], st)
	case "admin-reset":
		acc, initial, err := a.Tenants.AdminReset(ctx, pos[0], pos[1], by)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "%s of %s: unlocked; the password below, shown only now, works for 72 hours and must be changed at the next login.\n"+
			"Sessions the account already has stay open until they expire.\n", acc.LoginID, pos[0])
		fmt.Fprintf(stdout, "initial password: %s\n", initial)
	case "domain add":
		h, err := a.Tenants.AddDomain(ctx, pos[0], pos[1], by)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "%s now serves %s; add its ingress host and TLS certificate to the deployment\n", h, pos[0])
	case "domain remove":
		if err := a.Tenants.RemoveDomain(ctx, pos[0], pos[1], by); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "%s no longer serves %s; remove its ingress host from the deployment\n", strings.ToLower(pos[1]), pos[0])
	case "mail-domains":
		domains := pos[1:]
		if len(domains) == 0 && !*none {
			return fmt.Errorf("give the domains, or --none to allow none\n%s", tenantUsage)
		}
		list, err := a.Tenants.SetMailDomains(ctx, pos[0], domains, by)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "%s may send mail From: %s\n", pos[0], orDash(strings.Join(list, ", ")))
	case "training":
		src, err := a.Tenants.BySlug(ctx, strings.ToLower(strings.TrimSpace(pos[0])))
		if err != nil {
			return describe(err)
		}
		t, initial, err := a.Booking.OpenTraining(ctx, src, by)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "opened %s (%s), the training copy of %s: %s\n"+
			"no mail is sent from it and it is put back every night at 02:00 JST.\n", t.Slug, t.Name, src.Slug, cityURL(cfg, t.Slug, "/"))
		fmt.Fprintf(stdout, "its 市管理者 %s logs in at %s with the password below, shown only now;\n"+
			"it works for 72 hours and must be changed at the first login.\n", tenant.TrainingAdminLogin, cityURL(cfg, t.Slug, "/admin"))
		fmt.Fprintf(stdout, "initial password: %s\n", initial)
	case "export":
		return exportTenant(ctx, a, pos[0], pos[1], by, stdout)
	case "clear-allow-list":
		removed, err := a.Tenants.ClearAdminAllowList(ctx, pos[0], by)
		if err != nil {
			return describe(err)
		}
		if len(removed) == 0 {
			fmt.Fprintf(stdout, "%s had no /admin allow-list; nothing changed\n", pos[0])
			return nil
		}
		fmt.Fprintf(stdout, "%s: /admin allow-list removed (was %s); recorded in the city's audit log\n", pos[0], strings.Join(removed, ", "))
	}
	return nil
}

// parseArgs parses fs's flags from args, which may come before, between or after the positional
// arguments ("tenant create tsu 津市 --code 242012"), and returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if args = fs.Args(); len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// cityURL is the address of path on the city's own host: https, except for BASE_DOMAIN=localhost.
func cityURL(cfg *Config, slug, path string) string {
	if cfg.BaseDomain == "localhost" {
		return "http://" + slug + ".localhost" + path
	}
	return "https://" + slug + "." + cfg.BaseDomain + path
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// describe turns a domain error into lines an operator can act on: the code, and each message as
// the screens word it, in Japanese, with its key.
func describe(err error) error {
	e := tenant.AsError(err)
	if e == nil {
		return err
	}
	msg := func(key string) string { return key }
	if loc, lerr := web.LoadLocales(); lerr == nil {
		msg = func(key string) string { return loc.T("ja", key, e.Args) + " [" + key + "]" }
	}
	if len(e.Fields) == 0 {
		return fmt.Errorf("%s: %s", e.Code, msg(e.Key))
	}
	fields := make([]string, 0, len(e.Fields))
	for f := range e.Fields {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	order := []string{"slug", "name", "code", "name_kana", "banner_color", "domain", "admin_login", "admin_name"}
	sort.SliceStable(fields, func(i, j int) bool { return rank(order, fields[i]) < rank(order, fields[j]) })
	lines := []string{string(e.Code) + ":"}
	for _, f := range fields {
		lines = append(lines, "  "+f+": "+msg(e.Fields[f]))
	}
	return errors.New(strings.Join(lines, "\n"))
}

// rank is i's place in order, or after all of them.
func rank(order []string, s string) int {
	if i := slices.Index(order, s); i >= 0 {
		return i
	}
	return len(order)
}
