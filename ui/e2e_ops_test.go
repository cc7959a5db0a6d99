package ui_test

import (
	"context"
	"testing"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/uitest"
)

// TestE2EOpsConsole drives the vendor's ops console in Chromium at 360 and 1280 px
// (ui/e2e/ops.mjs) with axe on every page: a first login with the TOTP enrolment, a login with a
// code, onboarding a city with a wrong code and then the right one, the city's page, the list and
// the manual. The accounts' state, the cities and their audit logs prove it happened.
func TestE2EOpsConsole(t *testing.T) {
	e := newBrowserEnv(t, nil)
	ctx := context.Background()
	opsAllow(t, e, "127.0.0.1")
	accounts := map[string]map[string]string{}
	for vp, login := range map[string]string{"phone": "ops.phone", "desktop": "ops.desktop"} {
		_, initial := opsAccount(t, e, login, tenant.OpsRoleOps)
		accounts[vp] = map[string]string{"login": login, "password": initial}
	}
	cities := map[string]map[string]string{
		"phone":   {"slug": "kameyama", "name": "亀山市", "kana": "かめやまし", "code": "242101", "badCode": "242102", "admin": "kameyama.admin"},
		"desktop": {"slug": "tsu", "name": "津市", "kana": "つし", "code": "242012", "badCode": "242013", "admin": "tsu.admin"},
	}
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "ops.mjs", uitest.HostURL(base, opsHost), map[string]any{
		"accounts": accounts, "newPassword": opsPassword, "cities": cities,
	})
	for vp, c := range cities {
		city, err := e.cities.BySlug(ctx, c["slug"])
		if err != nil || city.Code != c["code"] {
			t.Errorf("%s: %s = %+v, %v", vp, c["slug"], city, err)
			continue
		}
		admAuditHas(t, e, city, "vendor:"+accounts[vp]["login"]+" vendor.tenant.create "+c["slug"])
		if acc, err := e.ops.ByLogin(ctx, accounts[vp]["login"]); err != nil || !acc.TOTPEnabled || acc.MustChange {
			t.Errorf("%s: the account after its first login = %+v, %v; want TOTP on, password changed", vp, acc, err)
		}
	}
}
