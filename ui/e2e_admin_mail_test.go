package ui_test

import (
	"context"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/uitest"
)

// TestE2EAdminMail drives the 市管理者's rewording of the confirmation mail in Chromium
// (ui/e2e/admin-mail.mjs): refused input, preview, save and reset, at 360 and 1280 px, with axe
// on every page.
func TestE2EAdminMail(t *testing.T) {
	e := newBrowserEnv(t, nil)
	mustStaffAccount(t, e, "kanri", tenant.RoleAdmin, "admin password one")
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "admin-mail.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{
		"login": "kanri", "password": "admin password one", "city": e.city.Name,
	})

	// What the browser did is in the database: per viewport one save and one reset, logged
	// with the wording before and after; the default is in use again.
	if v := mailwordingOf(t, e); v.Custom {
		t.Errorf("after the reset the city still has its own wording: %+v", v)
	}
	var rows []struct {
		Action string `bun:"action"`
		Target string `bun:"target"`
		After  string `bun:"after"`
	}
	err := tenant.InTx(context.Background(), e.db.App, e.city.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT action, target, coalesce(after::text, '') AS after FROM audit_log
			WHERE action LIKE 'mail_template.%' ORDER BY at, id`).Scan(ctx, &rows)
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Action)
		if r.Target != booking.MailTemplateTarget(booking.KindCreated, "ja") {
			t.Errorf("audit target %q", r.Target)
		}
	}
	if strings.Join(got, " ") != "mail_template.update mail_template.reset mail_template.update mail_template.reset" {
		t.Errorf("audit actions = %v", got)
	}
	if len(rows) == 4 && (!strings.Contains(rows[0].After, "（phone）") || !strings.Contains(rows[2].After, "（desktop）")) {
		t.Errorf("audit after = %q / %q", rows[0].After, rows[2].After)
	}
}
