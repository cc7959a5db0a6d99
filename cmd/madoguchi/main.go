// Command madoguchi is the one binary the platform runs: serve (web), worker (jobs), migrate,
// tenant, import, demo. main only calls run, which end-to-end tests call too. The load generator
// is a separate command, cmd/madoguchi-bench, so it does not ship inside this binary.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/madoguchi/madoguchi/booking"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "madoguchi:", err)
		os.Exit(1)
	}
}

const usage = `usage: madoguchi <command> [arguments]

commands:
  serve                          run the web server
  worker                         run the background job worker
  migrate [down]                 apply (or revert one) database migration as the owner role
  tenant create SLUG NAME --code CODE --admin LOGIN
                                 open a municipality and its first 市管理者 (prints the initial password)
  tenant list|show|disable|enable|admin-reset|domain|mail-domains|clear-allow-list|export
                                 the vendor's support actions (madoguchi tenant: details)
  ops account|grant|revoke|grants|allow
                                 the vendor's accounts, operators' grants, console allow-lists
  import --tenant SLUG FILE.csv  load cards (製造管理番号, 生年月日, …; UTF-8 or Shift_JIS)
  demo                           migrate, seed the demo city and run web + worker

Configuration comes from MADOGUCHI_* environment variables; see README.md.
`

// run dispatches a subcommand. It returns when the command finishes or ctx is cancelled (SIGTERM).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runAt(ctx, args, getenv, stdout, stderr, time.Now)
}

// runAt is run with the vendor's commands (tenant, ops) on the clock now, which tests fix.
func runAt(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, now func() time.Time) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogFormat, stderr)
	switch args[0] {
	case "serve":
		return cmdServe(ctx, cfg, log)
	case "worker":
		return cmdWorker(ctx, cfg, log)
	case "migrate":
		return cmdMigrate(ctx, cfg, args[1:], stdout)
	case "tenant":
		return cmdTenant(ctx, cfg, log, args[1:], stdout, now)
	case "ops":
		return cmdOps(ctx, cfg, log, args[1:], stdout, now)
	case "import":
		return cmdImport(ctx, cfg, log, args[1:], stdout, stderr)
	case "demo":
		return cmdDemo(ctx, cfg, log, stdout)
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	opts := &slog.HandlerOptions{ReplaceAttr: maskAttr}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// maskAttr masks e-mail addresses in every logged string and error (a mail library's or SMTP
// server's error text names the recipient), whichever package logs it.
func maskAttr(_ []string, a slog.Attr) slog.Attr {
	switch v := a.Value; v.Kind() {
	case slog.KindString:
		if s := v.String(); strings.Contains(s, "@") {
			a.Value = slog.StringValue(booking.MaskEmails(s))
		}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok && err != nil {
			a.Value = slog.StringValue(booking.MaskEmails(err.Error()))
		}
	}
	return a
}
