package tenant

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Channel is where an action came from: the citizens' site or API, a city's staff, the shared
// call center, the vendor's operators, an import, or the system itself.
type Channel string

// Channels.
const (
	ChannelWeb        Channel = "web"
	ChannelCallCenter Channel = "callcenter"
	ChannelStaff      Channel = "staff"
	ChannelOps        Channel = "ops"
	ChannelImport     Channel = "import"
	ChannelSystem     Channel = "system"
)

// Actor is whoever performs an operation, passed to the one method of that operation whoever
// acts: a citizen (ChannelWeb), a city's staff member, a call-center operator, a vendor operator,
// an import or the system. What differs by channel is a rule inside the method. Every actor but a
// citizen has each change written to the city's audit log in the change's own transaction; a
// citizen's own actions are recorded in the card history only, which keeps the rush path lean.
type Actor struct {
	Channel   Channel
	AccountID uuid.UUID // the acting account; uuid.Nil for a citizen, an import or the system
	Login     string    // the account's login id (the audit log's actor), or the job's name; "" for a citizen
	IP        string    // the client's address, for the audit log
	// Reason is why a call-center operator acts past the citizens' deadline, which they may do
	// only with a reason; it is written to the audit log with the change ("" otherwise).
	Reason string
}

// WithReason returns the actor acting for reason (trimmed).
func (a Actor) WithReason(reason string) Actor {
	a.Reason = strings.TrimSpace(reason)
	return a
}

// Citizen returns the actor for a citizen acting on their own card from ip.
func Citizen(ip string) Actor { return Actor{Channel: ChannelWeb, IP: ip} }

// Staff returns the actor for a city's staff member: account id, login id and client address.
func Staff(id uuid.UUID, login, ip string) Actor {
	return Actor{Channel: ChannelStaff, AccountID: id, Login: login, IP: ip}
}

// System returns the actor for work the platform does by itself (seeding, benchmarks, jobs),
// named in the audit log.
func System(name string) Actor { return Actor{Channel: ChannelSystem, Login: name} }

// Vendor returns the actor for a member of the vendor's ops team: ops account id, login id and
// client address. Its actions on a city are written to the city's audit log as "vendor:<login>".
func Vendor(id uuid.UUID, login, ip string) Actor {
	return Actor{Channel: ChannelOps, AccountID: id, Login: login, IP: ip}
}

// VendorCLI is the actor of the madoguchi command run by the vendor on a server: it has no
// account (whoever holds the database credentials runs it) and is logged as "vendor:cli".
func VendorCLI() Actor { return Actor{Channel: ChannelOps, Login: "cli"} }

// Operator returns the actor for a call-center operator (a vendor account of role operator)
// serving a city: account id, login id and client address. The city's audit log names it
// "vendor:<login>".
func Operator(id uuid.UUID, login, ip string) Actor {
	return Actor{Channel: ChannelCallCenter, AccountID: id, Login: login, IP: ip}
}

// Name is the actor as the audit logs record it: the login id, prefixed "vendor:" for the
// vendor's accounts, ops and operators (a staff login id cannot hold a colon, so a city reads at
// a glance which entries its vendor wrote).
func (a Actor) Name() string {
	if a.Channel == ChannelOps || (a.Channel == ChannelCallCenter && a.Login != "") {
		return "vendor:" + a.Login
	}
	return a.Login
}

// platformOnly refuses an actor that may not act on the platform itself (onboard a city, act on
// its accounts from outside, manage vendor accounts): only the vendor's ops and the system may.
func platformOnly(a Actor) error {
	if a.Channel != ChannelOps && a.Channel != ChannelSystem {
		return &Error{Code: Forbidden, Key: "error.forbidden", Err: fmt.Errorf("channel %q may not act on the platform", a.Channel)}
	}
	return nil
}

// Audited reports whether the actor's changes go to the audit log (everyone but a citizen).
func (a Actor) Audited() bool { return a.Channel != ChannelWeb }

// Audit writes an audit row of the actor in tx, so the log and the change commit together; it
// does nothing for a citizen.
func (a Actor) Audit(ctx context.Context, tx bun.IDB, tenantID uuid.UUID, action, target string, before, after map[string]any) error {
	if !a.Audited() {
		return nil
	}
	if a.Reason != "" {
		after = maps.Clone(after)
		if after == nil {
			after = map[string]any{}
		}
		after["reason"] = a.Reason
	}
	e := AuditEntry{Actor: a.Name(), Action: action, Target: target, Before: before, After: after, IP: a.IP}
	if err := Audit(ctx, tx, tenantID, e); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// AuditCity is Audit for an operation the vendor's ops team may do to a city from outside it (a
// handover export): for the vendor the row also goes to the vendor's own log (ops_audit_log), as
// every support action does; for anyone else it is Audit.
func (a Actor) AuditCity(ctx context.Context, tx bun.IDB, tenantID uuid.UUID, action, target string, before, after map[string]any) error {
	if a.Channel != ChannelOps {
		return a.Audit(ctx, tx, tenantID, action, target, before, after)
	}
	if err := auditVendor(ctx, tx, tenantID, a, action, target, before, after); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}
