package ui_test

import (
	"context"
	"testing"

	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/uitest"
)

// TestE2ETrainingCity drives the opening of a training city from the ops console in Chromium at
// 360 and 1280 px (ui/e2e/training.mjs) with axe on every page, then the copy's citizens' and
// staff pages with the 研修用 banner. The copies and their audit logs prove it happened.
func TestE2ETrainingCity(t *testing.T) {
	e := newBrowserEnv(t, nil)
	ctx := context.Background()
	opsAllow(t, e, "127.0.0.1")
	base := uitest.Serve(t, e.app)
	accounts := map[string]map[string]string{}
	cities := map[string]map[string]string{}
	for vp, c := range map[string][3]string{"phone": {"kameyama", "亀山市", "242101"}, "desktop": {"tsu", "津市", "242012"}} {
		login := "ops." + vp
		_, initial := opsAccount(t, e, login, tenant.OpsRoleOps)
		accounts[vp] = map[string]string{"login": login, "password": initial}
		city, _, err := e.cities.Onboard(ctx, tenant.OnboardInput{Slug: c[0], Name: c[1], Code: c[2], AdminLogin: c[0] + ".admin"}, tenant.VendorCLI())
		if err != nil {
			t.Fatal(err)
		}
		bookingtest.MustLocation(t, e.svc, city, c[1]+"役所", 3)
		cities[vp] = map[string]string{"slug": c[0], "name": c[1], "copyURL": uitest.HostURL(base, tenant.TrainingSlug(c[0])+".localhost")}
	}
	uitest.RunScript(t, "training.mjs", uitest.HostURL(base, opsHost), map[string]any{
		"accounts": accounts, "newPassword": opsPassword, "staffPassword": "kensyu trainer passphrase", "cities": cities,
	})
	for vp, c := range cities {
		copy, err := e.cities.BySlug(ctx, c["slug"]+"-kensyu")
		if err != nil || !copy.Training() {
			t.Errorf("%s: the training copy = %+v, %v", vp, copy, err)
			continue
		}
		admAuditHas(t, e, copy, "vendor:"+accounts[vp]["login"]+" vendor.training.create "+copy.Slug)
	}
}
