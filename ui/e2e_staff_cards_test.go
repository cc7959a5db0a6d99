package ui_test

import (
	"context"
	"testing"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/uitest"
)

// TestE2EStaffAccountsAndCards drives ui/e2e/staff-cards.mjs in Chromium at phone and desktop
// size: an admin adds an account and reads its initial password, the new clerk is forced to
// change it, searches a card, opens its record and changes its status; axe on every page.
func TestE2EStaffAccountsAndCards(t *testing.T) {
	e := newBrowserEnv(t, nil)
	ctx := context.Background()
	admAccount(t, e, e.city, "e2e.admin", tenant.RoleAdmin, "admin password for e2e")
	logins := map[string]string{"phone": "clerk-phone", "desktop": "clerk-desktop"}
	cards, ids := map[string]string{}, map[string]*booking.Card{}
	for i, vp := range []string{"phone", "desktop"} {
		c, err := e.svc.AddCard(ctx, e.city, booking.CardInput{CardNo: []string{"310000001", "310000002"}[i], Birth: "0401", StoragePos: "棚B-1"})
		if err != nil {
			t.Fatal(err)
		}
		cards[vp], ids[vp] = c.CardNo, c
	}
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "staff-cards.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{
		"admin": "e2e.admin", "adminPassword": "admin password for e2e", "logins": logins, "cards": cards,
	})
	for vp, login := range logins {
		acc := findAccount(t, e, login)
		if acc.MustChange || acc.Role != tenant.RoleStaff || acc.Disabled {
			t.Errorf("%s: account %s = %+v, want a staff account with its password changed", vp, login, acc)
		}
		if got := admStatus(t, e, e.city, ids[vp].ID); got != booking.CardNoticeSent {
			t.Errorf("%s: card %s is %s, want notice_sent", vp, cards[vp], got)
		}
		admAuditHas(t, e, e.city, login+" card.view card:"+ids[vp].ID.String())
		admAuditHas(t, e, e.city, login+" card.status card:"+ids[vp].ID.String(), `"notice_sent"`)
		admAuditHas(t, e, e.city, "e2e.admin account.create "+login)
	}
}
