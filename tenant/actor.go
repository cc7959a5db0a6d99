package tenant

import (
	"context"
	"fmt"

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

// Audited reports whether the actor's changes go to the audit log (everyone but a citizen).
func (a Actor) Audited() bool { return a.Channel != ChannelWeb }

// Audit writes an audit row of the actor in tx, so the log and the change commit together; it
// does nothing for a citizen.
func (a Actor) Audit(ctx context.Context, tx bun.IDB, tenantID uuid.UUID, action, target string, before, after map[string]any) error {
	if !a.Audited() {
		return nil
	}
	e := AuditEntry{Actor: a.Login, Action: action, Target: target, Before: before, After: after, IP: a.IP}
	if err := Audit(ctx, tx, tenantID, e); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}
