package tenant_test

import (
	"context"
	"strings"
	"testing"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// TestClearAdminAllowList: the vendor's way back in for a city that locked its admins out removes
// the list, keeps every other setting, and leaves the removed list in the city's audit log.
func TestClearAdminAllowList(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	svc := tenant.NewService(d.App)
	tn := tenanttest.MustCreateTenant(t, d.App)
	other := tenanttest.MustCreateTenant(t, d.App)
	for _, c := range []*tenant.Tenant{tn, other} {
		st := c.Settings
		st.AdminAllowList, st.CallCenterPhone = []string{"10.20.0.0/16"}, "0598-00-0000"
		if err := svc.UpdateSettings(ctx, c.ID, st); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := svc.ClearAdminAllowList(ctx, tn.Slug, tenant.VendorCLI())
	if err != nil || len(removed) != 1 || removed[0] != "10.20.0.0/16" {
		t.Fatalf("ClearAdminAllowList = %v, %v; want the one entry removed", removed, err)
	}
	got, err := svc.BySlug(ctx, tn.Slug)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Settings.AdminAllowList) != 0 || got.Settings.CallCenterPhone != "0598-00-0000" {
		t.Errorf("settings after clearing = %+v; want no allow-list and the phone kept", got.Settings)
	}
	if o, _ := svc.BySlug(ctx, other.Slug); len(o.Settings.AdminAllowList) != 1 {
		t.Errorf("another city's allow-list changed: %v", o.Settings.AdminAllowList)
	}
	log := strings.Join(auditLog(t, d.App, tn), "\n")
	if !strings.Contains(log, "vendor:cli settings.allow_list_cleared") || !strings.Contains(log, "10.20.0.0/16") {
		t.Errorf("audit log lacks the clearing with the removed list:\n%s", log)
	}
	if again, err := svc.ClearAdminAllowList(ctx, tn.Slug, tenant.VendorCLI()); err != nil || len(again) != 0 {
		t.Errorf("second clear = %v, %v; want nothing removed", again, err)
	}
	if _, err := svc.ClearAdminAllowList(ctx, "nosuch", tenant.VendorCLI()); tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("unknown slug: %v, want not_found", err)
	}
}
