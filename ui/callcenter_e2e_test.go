package ui_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pquerna/otp/totp"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/uitest"
	"github.com/madoguchi/madoguchi/ui/web"
)

// TestE2ECallCenter drives a whole phone booking in Chromium at 360 px and 1280 px
// (ui/e2e/callcenter.mjs): login, the city by its kana and its banner, a wrong then a right
// check, the board, the booking with a note and the read-back script, the manual; axe-clean.
// Each viewport's operator has finished a first login (password changed, TOTP enrolled).
func TestE2ECallCenter(t *testing.T) {
	opt, _ := withLive(t, web.LiveConfig{})
	e := newBrowserEnv(t, nil, opt)
	ctx := context.Background()
	// A city with its kana and banner colour, as the ops console onboards one.
	city, _, err := e.cities.Onboard(ctx, tenant.OnboardInput{Slug: "tsu-cc", Name: "津市", Code: "242012", NameKana: "つし",
		BannerColor: "#2e7d32", AdminLogin: "tsu.admin"}, tenant.VendorCLI())
	if err != nil {
		t.Fatal(err)
	}
	e.city = city
	if _, err := e.ops.Allow(ctx, tenant.ConsoleCallCenter, "127.0.0.1", "test", tenant.VendorCLI()); err != nil {
		t.Fatal(err)
	}
	loc := bookingtest.MustLocation(t, e.svc, e.city, "本庁 市民課", 3)
	first := bookingtest.FirstSlot(t, e.svc, e.city, loc, e.now())
	slots, err := e.svc.SlotsBetween(ctx, e.city, loc.ID, booking.DateFromDB(first.Day), booking.DateFromDB(first.Day))
	if err != nil || len(slots) < 2 {
		t.Fatalf("slots: %d, %v", len(slots), err)
	}
	accounts, cards, picked := map[string]map[string]string{}, map[string]map[string]string{}, map[string]string{}
	for i, vp := range []string{"phone", "desktop"} {
		login := "cc." + vp
		acc, initial := opsAccount(t, e, login, tenant.OpsRoleOperator)
		if err := e.ops.ChangePassword(ctx, acc.ID, initial, opsPassword, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		secret, err := tenant.NewOpsTOTPSecret(login)
		if err != nil {
			t.Fatal(err)
		}
		code, err := totp.GenerateCode(secret, e.now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.ops.EnableTOTP(ctx, acc.ID, secret, code, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if err := e.ops.Grant(ctx, acc.ID, e.city.Slug, tenant.VendorCLI()); err != nil {
			t.Fatal(err)
		}
		accounts[vp] = map[string]string{"login": login, "password": opsPassword, "secret": secret}
		c := bookingtest.MustCard(t, e.svc, e.city, "0312")
		cards[vp] = map[string]string{"no": c.CardNo, "birth": "0312"}
		picked[vp] = slots[i].ID.String()
	}
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "callcenter.mjs", uitest.HostURL(base, ccHost), map[string]any{
		"accounts": accounts, "cards": cards, "slots": picked,
		"city": map[string]string{"slug": e.city.Slug, "name": e.city.Name, "kana": "つし"},
	})
	rows := strings.Join(admAudit(t, e, e.city), "\n")
	for _, vp := range []string{"phone", "desktop"} {
		if !strings.Contains(rows, "vendor:cc."+vp+" reservation.create") {
			t.Errorf("%s: no booking by the operator in the city's audit log", vp)
		}
	}
}
