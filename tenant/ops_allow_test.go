package tenant_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/tenant"
)

// TestDisallowOwnAddress: from the ops console, a member cannot remove the last entry of the ops
// console's list that covers the address they act from; another entry covering it, another
// member's address, the call center's list and the command (no address) are not held back.
func TestDisallowOwnAddress(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	me := tenant.Vendor(uuid.New(), "ops.sato", "203.0.113.9")
	for _, cidr := range []string{"203.0.113.9", "198.51.100.0/24"} {
		if _, err := p.ops.Allow(ctx, tenant.ConsoleOps, cidr, "", tenant.VendorCLI()); err != nil {
			t.Fatal(err)
		}
		if _, err := p.ops.Allow(ctx, tenant.ConsoleCallCenter, cidr, "", tenant.VendorCLI()); err != nil {
			t.Fatal(err)
		}
	}
	err := p.ops.Disallow(ctx, tenant.ConsoleOps, "203.0.113.9/32", me)
	wantCode(t, "Disallow(the last entry covering me)", err, tenant.Invalid, "ops.allow.self")
	if e := tenant.AsError(err); e == nil || e.Fields["cidr"] != "ops.allow.self" {
		t.Errorf("refusal fields = %v, want cidr", fieldsOf(e))
	}
	if ok, _ := p.ops.ConsoleAllowed(ctx, tenant.ConsoleOps, "203.0.113.9"); !ok {
		t.Fatal("the refused entry was removed")
	}
	// The call center's list is not the console the member stands in.
	if err := p.ops.Disallow(ctx, tenant.ConsoleCallCenter, "203.0.113.9", me); err != nil {
		t.Errorf("Disallow(call center) = %v", err)
	}
	// Another member's network may go.
	if err := p.ops.Disallow(ctx, tenant.ConsoleOps, "198.51.100.0/24", me); err != nil {
		t.Errorf("Disallow(another network) = %v", err)
	}
	// With a wider entry covering the member too, the narrow one may go.
	if _, err := p.ops.Allow(ctx, tenant.ConsoleOps, "203.0.113.0/24", "", me); err != nil {
		t.Fatal(err)
	}
	if err := p.ops.Disallow(ctx, tenant.ConsoleOps, "203.0.113.9", me); err != nil {
		t.Errorf("Disallow(narrow, a wider one stays) = %v", err)
	}
	wantCode(t, "Disallow(the wider one, now the last)", p.ops.Disallow(ctx, tenant.ConsoleOps, "203.0.113.0/24", me), tenant.Invalid, "ops.allow.self")
	// The command acts from no address: the way back in, and out.
	if err := p.ops.Disallow(ctx, tenant.ConsoleOps, "203.0.113.0/24", tenant.VendorCLI()); err != nil {
		t.Errorf("Disallow from the command = %v", err)
	}
	if list, err := p.ops.AllowList(ctx, tenant.ConsoleOps); err != nil || len(list) != 0 {
		t.Errorf("AllowList = %v, %v; want empty", list, err)
	}
}
