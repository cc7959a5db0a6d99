package ui_test

import (
	"strings"
	"testing"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/uitest"
)

// TestE2EStaffMFA drives TOTP enrolment and the two-step login in Chromium
// (ui/e2e/staff-mfa.mjs) at 360 and 1280 px with axe on every page; the script computes the
// codes from the key the page shows. The accounts' state and the audit log prove it happened.
func TestE2EStaffMFA(t *testing.T) {
	e := newBrowserEnv(t, nil)
	logins := map[string]string{"phone": "mfa-phone", "desktop": "mfa-desktop"}
	for _, l := range logins {
		mustStaffAccount(t, e, l, tenant.RoleStaff, "counter password one")
	}
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "staff-mfa.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{
		"logins": logins, "password": "counter password one",
	})
	for _, l := range logins {
		if acc := findAccount(t, e, l); !acc.TOTPEnabled || acc.FailedCount != 0 {
			t.Errorf("%s: TOTP enabled %v, failures %d; want enabled, 0 (the wrong code was at enrolment)", l, acc.TOTPEnabled, acc.FailedCount)
		}
		log := strings.Join(auditActions(t, e, l), " ")
		if !strings.Contains(log, "mfa.enable") || !strings.Contains(log, "login.password_ok login") {
			t.Errorf("%s: audit actions %q; want mfa.enable and a two-step login", l, log)
		}
	}
}
