package ui_test

import (
	"context"
	"strings"
	"testing"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/uitest"
)

// TestE2EStatusIncident is OPS §2.3 requirement 1, in Chromium at 360 and 1280 px
// (ui/e2e/status.mjs) with axe on every page in Japanese and English: an incident posted in the
// ops console appears on the status page with its timeline; an update; the resolution. The
// vendor's log proves each post was made by the member's account.
func TestE2EStatusIncident(t *testing.T) {
	e := newBrowserEnv(t, nil)
	ctx := context.Background()
	opsAllow(t, e, "127.0.0.1")
	accounts := map[string]map[string]string{}
	for vp, login := range map[string]string{"phone": "ops.phone", "desktop": "ops.desktop"} {
		_, initial := opsAccount(t, e, login, tenant.OpsRoleOps)
		accounts[vp] = map[string]string{"login": login, "password": initial}
	}
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "status.mjs", uitest.HostURL(base, opsHost), map[string]any{
		"accounts": accounts, "newPassword": opsPassword, "statusURL": strings.TrimSuffix(uitest.HostURL(base, statusHost), "/"),
		"titles": map[string]string{"phone": "予約画面が表示されない（スマートフォン）", "desktop": "予約画面が表示されない（パソコン）"},
	})
	var rows []string
	if err := e.db.Owner.NewRaw(`SELECT actor || ' ' || action FROM ops_audit_log WHERE action LIKE 'status.%' ORDER BY seq`).Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, r := range rows {
		if r == "vendor:ops.phone status.incident.post" || r == "vendor:ops.desktop status.incident.post" {
			want++
		}
	}
	if len(rows) != 6 || want != 2 {
		t.Errorf("vendor's log of the status posts = %v, want a post and two updates per account", rows)
	}
}
