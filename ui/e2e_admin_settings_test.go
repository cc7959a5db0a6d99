package ui_test

import (
	"context"
	"testing"
	"time"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/uitest"
)

// TestE2EAdminSettings drives the 市管理者's set-up in Chromium (ui/e2e/admin-settings.mjs):
// settings, a new 交付場所, its weekly hours, a 夜間窓口 and both manuals, at 360 and 1280 px, with
// axe on every page. Its screenshots (ui/e2e/screenshots/help-*.png) illustrate the manuals.
func TestE2EAdminSettings(t *testing.T) {
	e := newBrowserEnv(t, nil)
	mustStaffAccount(t, e, "kanri", tenant.RoleAdmin, "admin password one")
	evening := openDay(e.now(), time.Wednesday)
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "admin-settings.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{
		"login": "kanri", "password": "admin password one", "evening": evening.String(),
	})

	// What the browser did is in the database: the setting, and per viewport a location whose
	// evening has the 夜間窓口 slots after the morning ones.
	city := freshCity(t, e)
	if d := city.Settings.BookingDeadlineDays; d == nil || *d != 2 {
		t.Errorf("booking deadline = %v, want 2", d)
	}
	if d := city.Settings.RetentionEmailDays; d == nil || *d != 45 {
		t.Errorf("e-mail retention = %v, want 45", d)
	}
	locs, err := e.svc.Locations(context.Background(), e.city.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, vp := range []string{"phone", "desktop"} {
		name := "嬉野地域振興局（" + vp + "）"
		found := false
		for _, l := range locs {
			if l.Name != name {
				continue
			}
			found = true
			slots := slotsOn(t, e, city, l.ID, evening)
			if len(slots) != 13 { // 09:00–12:00 by 30 minutes, 17:15–19:00 by 15
				t.Errorf("%s: %d slots on %s, want 13", name, len(slots), evening)
			} else if got := slots[6].StartsAt.In(time.FixedZone("JST", 9*3600)).Format("15:04"); got != "17:15" {
				t.Errorf("%s: the evening starts at %s, want 17:15", name, got)
			}
		}
		if !found {
			t.Errorf("no location %q", name)
		}
	}
}
