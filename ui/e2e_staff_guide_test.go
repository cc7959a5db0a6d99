package ui_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/uitest"
)

// TestE2EStaffGuide drives ui/e2e/staff-guide.mjs in Chromium: the citizens' printable guide at
// 360 and 1280 px on screen and at 1280 px as printed, axe on each; the PDF it prints (the code
// path of `make manuals`) has pages.
func TestE2EStaffGuide(t *testing.T) {
	e := newBrowserEnv(t, nil)
	ctx := context.Background()
	st := e.city.Settings
	st.CallCenterPhone = "0598-53-4000"
	if err := tenant.NewService(e.db.App).UpdateSettings(ctx, e.city.ID, st); err != nil {
		t.Fatal(err)
	}
	loc, err := e.svc.AddLocation(ctx, e.city, booking.Location{Name: "本庁 戸籍住民課", Address: "三重県松阪市殿町1340番地1", Active: true}, bookingtest.Admin)
	if err != nil {
		t.Fatal(err)
	}
	var ws []booking.Window
	for wd := time.Monday; wd <= time.Friday; wd++ {
		ws = append(ws, booking.Window{Weekday: wd, Start: 8*60 + 30, End: 17 * 60, SlotMinutes: 30, Capacity: 3})
	}
	if err := e.svc.SetWeeklySchedule(ctx, e.city, loc.ID, ws, bookingtest.Admin); err != nil {
		t.Fatal(err)
	}
	admAccount(t, e, e.city, "e2e.guide", tenant.RoleStaff, "clerk password for the guide")
	base := uitest.Serve(t, e.app)
	city := uitest.CityURL(base, e.city.Slug)
	pdf := filepath.Join(t.TempDir(), "guide.pdf")
	uitest.RunScript(t, "staff-guide.mjs", city, map[string]any{
		"login": "e2e.guide", "password": "clerk password for the guide", "site": city + "/",
		"place": "本庁 戸籍住民課", "phone": "0598-53-4000", "pdf": pdf,
	})
	if n, err := uitest.PDFPages(pdf); err != nil || n == 0 {
		t.Errorf("the guide's PDF: %d pages, %v", n, err)
	}
}
