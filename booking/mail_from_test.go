package booking_test

import (
	"context"
	"testing"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// TestSenderDomain: a city's sender address is saved and used only on a domain its vendor
// allowed (tenant.Service.SetMailDomains); once the domain is withdrawn, mail goes from the
// platform's default sender.
func TestSenderDomain(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	f := newMailFixture(t, d)
	tenants := tenant.NewService(d.App)
	st := f.t.Settings
	st.HorizonDays, st.MailFrom = booking.HorizonDays(f.t), "yoyaku@city.example.lg.jp"

	_, err := f.svc.UpdateSettings(ctx, f.t, st, editor)
	if e := tenant.AsError(err); e == nil || e.Fields["mail_from"] != "admin.settings.mail_from.domain" {
		t.Fatalf("UpdateSettings(sender on a domain not allowed) = %v, want invalid mail_from", err)
	}
	if got, _ := tenants.BySlug(ctx, f.t.Slug); got.Settings.MailFrom != "" {
		t.Fatalf("refused sender was saved: %q", got.Settings.MailFrom)
	}

	if _, err := tenants.SetMailDomains(ctx, f.t.Slug, []string{"City.Example.LG.jp"}, tenant.VendorCLI()); err != nil {
		t.Fatal(err)
	}
	cur, _ := tenants.BySlug(ctx, f.t.Slug)
	if _, err := f.svc.UpdateSettings(ctx, cur, st, editor); err != nil {
		t.Fatalf("UpdateSettings(allowed sender) = %v", err)
	}
	from := func() string {
		t.Helper()
		r := f.reserve(t, f.slotOn(t, booking.DateOf(f.clock.Now()).AddDays(3)).ID, "taro@example.jp", "ja")
		job, _, err := f.svc.StartMail(ctx, f.t.ID, f.outbox(t, r.ID)[0].ID, f.env)
		if err != nil || job == nil {
			t.Fatalf("StartMail = %v, %v", job, err)
		}
		return job.From
	}
	if got := from(); got != "yoyaku@city.example.lg.jp" {
		t.Errorf("From with the domain allowed = %q, want the city's sender", got)
	}
	if _, err := tenants.SetMailDomains(ctx, f.t.Slug, nil, tenant.VendorCLI()); err != nil {
		t.Fatal(err)
	}
	if got := from(); got != "no-reply@example.lg.jp" {
		t.Errorf("From after the domain was withdrawn = %q, want the platform's sender", got)
	}
}
