package tenant

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Console is one of the vendor's consoles, each reachable only from the client addresses on its
// own allow-list.
type Console string

// The vendor's consoles.
const (
	ConsoleOps        Console = "ops"        // ops.{BASE_DOMAIN}
	ConsoleCallCenter Console = "callcenter" // callcenter.{BASE_DOMAIN}
)

// AllowEntry is one network allowed to reach a console.
type AllowEntry struct {
	Console Console   `bun:"console"`
	CIDR    string    `bun:"cidr"`
	Note    string    `bun:"note"`
	AddedBy string    `bun:"added_by"`
	AddedAt time.Time `bun:"added_at"`
}

func checkConsole(c Console) error {
	if c != ConsoleOps && c != ConsoleCallCenter {
		return &Error{Code: Invalid, Key: "error.invalid", Fields: map[string]string{"console": "ops.allow.console"}}
	}
	return nil
}

// AllowList returns the networks allowed to reach console, ordered by address.
func (o *OpsAccounts) AllowList(ctx context.Context, console Console) (_ []AllowEntry, err error) {
	defer Wrap(&err, "tenant.OpsAccounts.AllowList()")
	if err := checkConsole(console); err != nil {
		return nil, err
	}
	var out []AllowEntry
	err = o.db.NewSelect().Table("ops_ip_allow").ColumnExpr("console, cidr::text AS cidr, note, added_by, added_at").
		Where("console = ?", console).Order("cidr").Scan(ctx, &out)
	return out, DBError(err)
}

// ConsoleAllowed reports whether a request from ip may reach console: only from inside an entry
// of its allow-list. An empty list lets nobody in (the consoles are reachable from the internet;
// the first entry comes from `madoguchi ops allow add`).
func (o *OpsAccounts) ConsoleAllowed(ctx context.Context, console Console, ip string) (_ bool, err error) {
	defer Wrap(&err, "tenant.OpsAccounts.ConsoleAllowed()")
	list, err := o.AllowList(ctx, console)
	if err != nil {
		return false, err
	}
	cidrs := make([]string, len(list))
	for i, e := range list {
		cidrs[i] = e.CIDR
	}
	return AllowListContains(cidrs, ip), nil
}

// Allow adds a network (an address or a CIDR, stored masked as ParseAllowList does) to console's
// allow-list and returns it as stored. Adding one already there changes nothing. It returns
// invalid (field "cidr": "ops.allow.invalid") for anything else, invalid ("ops.allow.too_many")
// past MaxAllowListEntries and forbidden for an actor who is not the vendor (or the system).
// Audit: "platform.allow.add".
func (o *OpsAccounts) Allow(ctx context.Context, console Console, cidr, note string, by Actor) (_ string, err error) {
	defer Wrap(&err, "tenant.OpsAccounts.Allow(%s)", console)
	if err := platformOnly(by); err != nil {
		return "", err
	}
	if err := checkConsole(console); err != nil {
		return "", err
	}
	p, ok := parseAllowEntry(strings.TrimSpace(cidr))
	if !ok {
		return "", &Error{Code: Invalid, Key: "ops.allow.invalid", Fields: map[string]string{"cidr": "ops.allow.invalid"}}
	}
	entry := p.String()
	err = RunTx(ctx, o.db, nil, func(ctx context.Context, tx bun.Tx) error {
		// One writer at a time per console, so the count below holds.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('ops_ip_allow:' || ?))", string(console)); err != nil {
			return err
		}
		n, err := tx.NewSelect().Table("ops_ip_allow").Where("console = ?", console).Count(ctx)
		if err != nil {
			return err
		}
		if n >= MaxAllowListEntries {
			return &Error{Code: Invalid, Key: "ops.allow.too_many", Fields: map[string]string{"cidr": "ops.allow.too_many"}}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO ops_ip_allow (console, cidr, note, added_by, added_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (console, cidr) DO NOTHING`, console, entry, clip(strings.TrimSpace(note), 200), clip(by.Name(), 100), o.now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return opsAudit(ctx, tx, uuid.Nil, AuditEntry{Actor: by.Name(), Action: "platform.allow.add", Target: string(console), IP: by.IP,
			After: map[string]any{"cidr": entry}})
	})
	if err != nil {
		return "", DBError(err)
	}
	return entry, nil
}

// Disallow removes a network from console's allow-list. It returns not_found
// ("ops.allow.not_found") when it is not on the list and forbidden for an actor who is not the
// vendor (or the system). On the ops console's own list it refuses (invalid, field "cidr":
// "ops.allow.self") to remove the last entry covering the address the actor acts from (by.IP),
// so that no one locks themselves, and perhaps the whole vendor, out of the console from the
// console; the madoguchi command, which acts from no address, is the way back in and may.
// Audit: "platform.allow.remove".
func (o *OpsAccounts) Disallow(ctx context.Context, console Console, cidr string, by Actor) (err error) {
	defer Wrap(&err, "tenant.OpsAccounts.Disallow(%s)", console)
	if err := platformOnly(by); err != nil {
		return err
	}
	if err := checkConsole(console); err != nil {
		return err
	}
	p, ok := parseAllowEntry(strings.TrimSpace(cidr))
	if !ok {
		return &Error{Code: NotFound, Key: "ops.allow.not_found"}
	}
	entry := p.String()
	err = RunTx(ctx, o.db, nil, func(ctx context.Context, tx bun.Tx) error {
		if console == ConsoleOps && by.IP != "" {
			if err := keepsOwnAddress(ctx, tx, entry, by.IP); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM ops_ip_allow WHERE console = ? AND cidr = ?::cidr", console, entry)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &Error{Code: NotFound, Key: "ops.allow.not_found"}
		}
		return opsAudit(ctx, tx, uuid.Nil, AuditEntry{Actor: by.Name(), Action: "platform.allow.remove", Target: string(console), IP: by.IP,
			Before: map[string]any{"cidr": entry}})
	})
	return DBError(err)
}

// keepsOwnAddress returns the "ops.allow.self" refusal when entry is on the ops console's list,
// covers ip, and no other entry does. It takes the list's writer lock (Allow's), so two removals
// cannot each leave the other's entry as the last one.
func keepsOwnAddress(ctx context.Context, tx bun.Tx, entry, ip string) error {
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('ops_ip_allow:' || ?))", string(ConsoleOps)); err != nil {
		return err
	}
	var list []string
	if err := tx.NewSelect().Table("ops_ip_allow").ColumnExpr("cidr::text").Where("console = ?", ConsoleOps).Scan(ctx, &list); err != nil {
		return err
	}
	var rest []string
	found := false
	for _, e := range list {
		if p, ok := parseAllowEntry(e); ok && p.String() == entry {
			found = true
			continue
		}
		rest = append(rest, e)
	}
	if found && AllowListContains([]string{entry}, ip) && !AllowListContains(rest, ip) {
		return &Error{Code: Invalid, Key: "ops.allow.self", Fields: map[string]string{"cidr": "ops.allow.self"}}
	}
	return nil
}
