package tenant_test

import (
	"time"

	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/tenant"
)

// wantCode fails t unless err is a domain error with code and key ("" for any key).
func wantCode(t *testing.T, what string, err error, code tenant.Code, key string) {
	t.Helper()
	e := tenant.AsError(err)
	if e == nil || e.Code != code || (key != "" && e.Key != key) {
		t.Errorf("%s = %v, want %s %s", what, err, code, key)
	}
}

// TestAdminReset: the vendor gives a locked-out city administrator a new issued password, which
// unlocks the account and must be changed at the next login; only administrators of that city,
// and only accounts the city has not disabled.
func TestAdminReset(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	tsu, _ := p.onboard(t, "tsu", "242012")
	other, otherPW := p.onboard(t, "matsusaka", "242047")
	tenant.SetSlowDownStep(p.accs, time.Millisecond)
	for range 20 {
		if _, err := p.accs.Authenticate(ctx, tsu, "tsu.admin", "wrong password!", "192.0.2.7"); err == nil {
			t.Fatal("a wrong password logged in")
		}
	}
	list, err := p.accs.List(ctx, tsu)
	if err != nil || len(list) != 1 || !p.accs.Locked(&list[0]) {
		t.Fatalf("after 20 failures: %+v, %v, want locked", list, err)
	}

	acc, initial, err := p.svc.AdminReset(ctx, "tsu", "TSU.Admin", vendor)
	if err != nil {
		t.Fatalf("AdminReset: %v", err)
	}
	if acc.FailedCount != 0 || acc.LockedUntil != nil || !acc.MustChange || len(initial) != 16 {
		t.Errorf("after AdminReset: %+v, %d-character password", acc, len(initial))
	}
	got, err := p.accs.Authenticate(ctx, tsu, "tsu.admin", initial, "192.0.2.7")
	if err != nil || !got.MustChange {
		t.Fatalf("login with the reset password = %+v, %v; want success with a forced change", got, err)
	}
	if log := p.cityLog(t, tsu); !contains(log, "vendor:ops.sato vendor.account.reset_password tsu.admin") {
		t.Errorf("city's log lacks the reset:\n%s", strings.Join(log, "\n"))
	}
	if all := p.fullLogs(t, tsu); strings.Contains(all, initial) {
		t.Error("a log holds the reset password")
	}

	staff, err := p.accs.Create(ctx, tsu, "tsu.clerk", "窓口", tenant.RoleStaff, "x-initial-password", "tsu.admin")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = p.svc.AdminReset(ctx, "tsu", "tsu.clerk", vendor)
	wantCode(t, "AdminReset(staff)", err, tenant.Forbidden, "tenant.admin.not_admin")
	second, err := p.accs.Create(ctx, tsu, "tsu.admin2", "管理2", tenant.RoleAdmin, "x-initial-password", "tsu.admin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.accs.SetDisabled(ctx, tsu, second.ID, true, tenant.Staff(acc.ID, "tsu.admin", "192.0.2.7")); err != nil {
		t.Fatal(err)
	}
	_, _, err = p.svc.AdminReset(ctx, "tsu", "tsu.admin2", vendor)
	wantCode(t, "AdminReset(disabled admin)", err, tenant.Conflict, "tenant.admin.disabled")
	_, _, err = p.svc.AdminReset(ctx, "tsu", "matsusaka.admin", vendor)
	wantCode(t, "AdminReset(another city's admin)", err, tenant.NotFound, "tenant.admin.not_found")
	_, _, err = p.svc.AdminReset(ctx, "nosuch", "tsu.admin", vendor)
	wantCode(t, "AdminReset(unknown city)", err, tenant.NotFound, "tenant.not_found")
	_, _, err = p.svc.AdminReset(ctx, "tsu", "tsu.admin", tenant.Staff(staff.ID, "tsu.clerk", "192.0.2.7"))
	wantCode(t, "AdminReset by a city's staff", err, tenant.Forbidden, "")
	if _, err := p.accs.Authenticate(ctx, other, "matsusaka.admin", otherPW, "192.0.2.8"); err != nil {
		t.Errorf("the other city's admin was touched: %v", err)
	}
}

// TestSupportActions: disable and enable, custom domains, mail domains; each change is written to
// the city's own audit log as the vendor and to the vendor's log; no change, no entry.
func TestSupportActions(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	tsu, _ := p.onboard(t, "tsu", "242012")
	other, _ := p.onboard(t, "matsusaka", "242047")

	// Disable and enable.
	if err := p.svc.SetStatus(ctx, "tsu", tenant.Disabled, vendor); err != nil {
		t.Fatal(err)
	}
	if err := p.svc.SetStatus(ctx, "tsu", tenant.Disabled, vendor); err != nil {
		t.Fatal(err)
	}
	if got, _ := p.svc.BySlug(ctx, "tsu"); got.Status != tenant.Disabled {
		t.Errorf("status after disable = %s", got.Status)
	}
	r := tenant.NewResolver(tenant.NewDirectory(p.svc, 0), testBase)
	if kind, _, _ := r.Resolve(ctx, "tsu."+testBase); kind != tenant.HostUnknown {
		t.Errorf("a disabled city's host resolves to %v", kind)
	}
	if err := p.svc.SetStatus(ctx, "tsu", tenant.Active, vendor); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "SetStatus(unknown city)", p.svc.SetStatus(ctx, "nosuch", tenant.Disabled, vendor), tenant.NotFound, "tenant.not_found")
	wantCode(t, "SetStatus(bad status)", p.svc.SetStatus(ctx, "tsu", "gone", vendor), tenant.Invalid, "")
	wantCode(t, "SetStatus by a city's staff", p.svc.SetStatus(ctx, "tsu", tenant.Disabled, tenant.Staff(uuid.New(), "tsu.admin", "")), tenant.Forbidden, "")

	// Custom domains.
	h, err := p.svc.AddDomain(ctx, "tsu", " YOYAKU.City.Tsu.Mie.jp. ", vendor)
	if err != nil || h != "yoyaku.city.tsu.mie.jp" {
		t.Fatalf("AddDomain = %q, %v", h, err)
	}
	if kind, got, _ := r.Resolve(ctx, "yoyaku.city.tsu.mie.jp"); kind != tenant.HostCity || got.ID != tsu.ID {
		t.Errorf("the custom domain resolves to %v %v", kind, got)
	}
	_, err = p.svc.AddDomain(ctx, "matsusaka", "yoyaku.city.tsu.mie.jp", vendor)
	wantCode(t, "AddDomain(another city's domain)", err, tenant.Conflict, "tenant.domain.taken")
	_, err = p.svc.AddDomain(ctx, "tsu", "yoyaku.city.tsu.mie.jp", vendor)
	wantCode(t, "AddDomain(again)", err, tenant.Conflict, "tenant.domain.taken")
	for _, host := range []string{testBase, "matsusaka." + testBase, "ops." + testBase, "x.tsu." + testBase} {
		_, err = p.svc.AddDomain(ctx, "tsu", host, vendor)
		wantCode(t, "AddDomain("+host+")", err, tenant.Invalid, "tenant.domain.reserved")
	}
	_, err = p.svc.AddDomain(ctx, "tsu", "192.0.2.1", vendor)
	wantCode(t, "AddDomain(an address)", err, tenant.Invalid, "tenant.domain.invalid")
	if _, err := p.svc.AddDomain(ctx, "matsusaka", "yoyaku.city.matsusaka.mie.jp", vendor); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "RemoveDomain(another city's domain)", p.svc.RemoveDomain(ctx, "tsu", "yoyaku.city.matsusaka.mie.jp", vendor),
		tenant.NotFound, "tenant.domain.not_found")
	if ds, _ := p.svc.Domains(ctx, "matsusaka"); len(ds) != 1 {
		t.Errorf("the other city's domains after a refused removal: %v", ds)
	}
	if err := p.svc.RemoveDomain(ctx, "tsu", "Yoyaku.City.Tsu.Mie.jp", vendor); err != nil {
		t.Fatalf("RemoveDomain: %v", err)
	}
	wantCode(t, "RemoveDomain(again)", p.svc.RemoveDomain(ctx, "tsu", "yoyaku.city.tsu.mie.jp", vendor), tenant.NotFound, "tenant.domain.not_found")
	if kind, _, _ := r.Resolve(ctx, "yoyaku.city.tsu.mie.jp"); kind != tenant.HostUnknown {
		t.Errorf("a removed domain resolves to %v", kind)
	}

	// Mail domains.
	list, err := p.svc.SetMailDomains(ctx, "tsu", []string{"mail.City.Tsu.Mie.jp", "city.tsu.mie.jp", "city.tsu.mie.jp."}, vendor)
	if want := []string{"city.tsu.mie.jp", "mail.city.tsu.mie.jp"}; err != nil || !reflect.DeepEqual(list, want) {
		t.Fatalf("SetMailDomains = %v, %v; want %v", list, err, want)
	}
	if _, err := p.svc.SetMailDomains(ctx, "tsu", []string{"mail.city.tsu.mie.jp", "city.tsu.mie.jp"}, vendor); err != nil {
		t.Fatal(err)
	}
	got, _ := p.svc.BySlug(ctx, "tsu")
	if !got.SendsFrom("yoyaku@City.Tsu.Mie.jp") || got.SendsFrom("yoyaku@tsu.example.jp") || got.SendsFrom("city.tsu.mie.jp") {
		t.Errorf("SendsFrom with %v is wrong", got.MailDomains)
	}
	_, err = p.svc.SetMailDomains(ctx, "tsu", []string{"city.tsu.mie.jp", "not a domain"}, vendor)
	wantCode(t, "SetMailDomains(bad)", err, tenant.Invalid, "tenant.mail_domains.invalid")
	var many []string
	for i := range 21 {
		many = append(many, string(rune('a'+i))+".example.jp")
	}
	_, err = p.svc.SetMailDomains(ctx, "tsu", many, vendor)
	wantCode(t, "SetMailDomains(21)", err, tenant.Invalid, "tenant.mail_domains.too_many")
	if got, _ := p.svc.BySlug(ctx, "tsu"); len(got.MailDomains) != 2 {
		t.Errorf("mail domains after refusals: %v", got.MailDomains)
	}

	// The city's log, as its admins' viewer reads it: each change once, by the vendor; no-ops and
	// refusals left nothing.
	want := []string{
		"vendor:ops.sato vendor.tenant.disable tsu",
		"vendor:ops.sato vendor.tenant.enable tsu",
		"vendor:ops.sato vendor.domain.add yoyaku.city.tsu.mie.jp",
		"vendor:ops.sato vendor.domain.remove yoyaku.city.tsu.mie.jp",
		"vendor:ops.sato vendor.mail_domains.set tsu",
	}
	var vendorLines []string
	for _, l := range p.cityLog(t, tsu) {
		if strings.HasPrefix(l, "vendor:") && !strings.Contains(l, "tenant.create") && !strings.Contains(l, "account.create") {
			vendorLines = append(vendorLines, l)
		}
	}
	if !reflect.DeepEqual(vendorLines, want) {
		t.Errorf("city's log of vendor actions:\n%s\nwant:\n%s", strings.Join(vendorLines, "\n"), strings.Join(want, "\n"))
	}
	for _, l := range p.cityLog(t, other) {
		if strings.HasSuffix(l, " tsu") || strings.Contains(l, "tsu.mie.jp") {
			t.Errorf("another city's log shows %q", l)
		}
	}
	ops := strings.Join(p.opsLog(t), "\n")
	for _, w := range want {
		if !strings.Contains(ops, w) {
			t.Errorf("vendor's log lacks %q", w)
		}
	}
}
