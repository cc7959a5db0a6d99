package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/madoguchi/madoguchi/tenant"
)

const opsUsage = `usage: madoguchi ops <command>

  account create LOGIN [--name NAME] [--role ops|operator|supervisor]
                                   a vendor account (ops team or call-center operator); prints the
                                   initial password, to be changed at the first login, with TOTP
  account list                     the vendor's accounts
  account reset LOGIN [--totp]     new initial password, unlocked (--totp: a lost phone, enrol again)
  account disable|enable LOGIN     someone left / came back
  grant OPERATOR SLUG              let an operator serve a municipality (in its audit log)
  revoke OPERATOR SLUG             end that
  grants OPERATOR                  the municipalities an operator serves
  allow add ops|callcenter CIDR [--note TEXT]
  allow remove ops|callcenter CIDR
  allow list                       the networks each console may be reached from (none: nobody)

Every change is written to the vendor's log as "vendor:cli"`

// cmdOps runs the vendor's commands on its own accounts, grants and console allow-lists. Each
// calls one tenant.OpsAccounts method as tenant.VendorCLI(), on the clock now.
func cmdOps(ctx context.Context, cfg *Config, log *slog.Logger, args []string, stdout io.Writer, now func() time.Time) error {
	if len(args) == 0 {
		return errors.New(opsUsage)
	}
	fs := flag.NewFlagSet("ops", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "display name (default: the login id)")
	role := fs.String("role", string(tenant.OpsRoleOps), "ops, operator or supervisor")
	resetTOTP := fs.Bool("totp", false, "also reset TOTP")
	note := fs.String("note", "", "what the network is")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return fmt.Errorf("%v\n%s", err, opsUsage)
	}
	if len(pos) >= 2 && (pos[0] == "account" || pos[0] == "allow") {
		pos = append([]string{pos[0] + " " + pos[1]}, pos[2:]...)
	}
	want := map[string]int{"account create": 1, "account list": 0, "account reset": 1, "account disable": 1, "account enable": 1,
		"grant": 2, "revoke": 2, "grants": 1, "allow add": 2, "allow remove": 2, "allow list": 0}
	if len(pos) == 0 {
		return errors.New(opsUsage)
	}
	if n, ok := want[pos[0]]; !ok || n != len(pos)-1 {
		return errors.New(opsUsage)
	}
	cmd, pos := pos[0], pos[1:]
	a, err := OpenApp(ctx, cfg, log, now)
	if err != nil {
		return err
	}
	defer a.Close()
	by := tenant.VendorCLI()
	account := func(login string) (*tenant.OpsAccount, error) {
		acc, err := a.Ops.ByLogin(ctx, login)
		return acc, describe(err)
	}
	switch cmd {
	case "account create":
		if *name == "" {
			*name = pos[0]
		}
		acc, initial, err := a.Ops.Create(ctx, pos[0], *name, tenant.OpsRole(*role), by)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "created %s account %s (%s); the password below, shown only now, works for 72 hours:\n"+
			"change it at the first login, then enrol TOTP (an authenticator app), which every vendor account needs.\n", acc.Role, acc.LoginID, acc.DisplayName)
		fmt.Fprintf(stdout, "initial password: %s\n", initial)
	case "account list":
		list, err := a.Ops.List(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "LOGIN\tNAME\tROLE\tTOTP\tSTATE")
		for _, acc := range list {
			state := "active"
			switch {
			case acc.Disabled:
				state = "disabled"
			case a.Ops.Locked(&acc):
				state = "locked"
			case acc.MustChange:
				state = "initial password"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%v\t%s\n", acc.LoginID, acc.DisplayName, acc.Role, acc.TOTPEnabled, state)
		}
		return w.Flush()
	case "account reset":
		acc, err := account(pos[0])
		if err != nil {
			return err
		}
		acc, initial, err := a.Ops.Reset(ctx, acc.ID, *resetTOTP, by)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "%s: unlocked%s; the password below, shown only now, works for 72 hours and must be changed at the next login.\n",
			acc.LoginID, map[bool]string{true: ", TOTP reset (enrol again at the next login)", false: ""}[*resetTOTP])
		fmt.Fprintf(stdout, "initial password: %s\n", initial)
	case "account disable", "account enable":
		acc, err := account(pos[0])
		if err != nil {
			return err
		}
		if _, err := a.Ops.SetDisabled(ctx, acc.ID, cmd == "account disable", by); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "%s is now %sd\n", acc.LoginID, cmd[len("account "):])
	case "grant", "revoke":
		acc, err := account(pos[0])
		if err != nil {
			return err
		}
		f := a.Ops.Grant
		if cmd == "revoke" {
			f = a.Ops.Revoke
		}
		if err := f(ctx, acc.ID, pos[1], by); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "%s: %s %s (recorded in the city's audit log)\n", acc.LoginID, map[string]string{"grant": "may serve", "revoke": "no longer serves"}[cmd], pos[1])
	case "grants":
		acc, err := account(pos[0])
		if err != nil {
			return err
		}
		gs, err := a.Ops.Grants(ctx, acc.ID)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "SLUG\tNAME\tSTATUS\tGRANTED BY\tGRANTED\tTRAINING")
		for _, g := range gs {
			training := "-"
			if g.Training() {
				training = "training"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", g.Slug, g.Name, g.Status, g.GrantedBy, g.GrantedAt.Format("2006-01-02"), training)
		}
		return w.Flush()
	case "allow add":
		entry, err := a.Ops.Allow(ctx, tenant.Console(pos[0]), pos[1], *note, by)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "%s console: %s allowed\n", pos[0], entry)
	case "allow remove":
		if err := a.Ops.Disallow(ctx, tenant.Console(pos[0]), pos[1], by); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "%s console: %s removed\n", pos[0], pos[1])
	case "allow list":
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "CONSOLE\tNETWORK\tNOTE\tADDED BY")
		for _, c := range []tenant.Console{tenant.ConsoleOps, tenant.ConsoleCallCenter} {
			list, err := a.Ops.AllowList(ctx, c)
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintf(w, "%s\t(none: nobody can reach it)\t\t\n", c)
			}
			for _, e := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", c, e.CIDR, e.Note, e.AddedBy)
			}
		}
		return w.Flush()
	}
	return nil
}
