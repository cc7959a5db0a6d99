package tenant_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

const testBase = "example.lg.jp"

// vendor is the ops member the platform tests act as.
var vendor = tenant.Vendor(uuid.MustParse("0b0b0b0b-0000-4000-8000-000000000001"), "ops.sato", "203.0.113.9")

// platform is a database with the vendor's services on one clock.
type platform struct {
	d     *tenanttest.DB
	clock *tenanttest.Clock
	svc   *tenant.Service
	accs  *tenant.Accounts
	ops   *tenant.OpsAccounts
}

func newPlatform(t *testing.T) *platform {
	t.Helper()
	d := tenanttest.NewDB(t)
	clock := tenanttest.NewClock()
	return &platform{d: d, clock: clock, svc: tenant.NewService(d.App, tenant.WithClock(clock.Now), tenant.WithBaseDomain(testBase)),
		accs: tenant.NewAccounts(d.App, clock.Now), ops: tenant.NewOpsAccounts(d.App, clock.Now)}
}

// onboard opens a city with a valid code and returns it with its admin's issued password.
func (p *platform) onboard(t *testing.T, slug, code string) (*tenant.Tenant, string) {
	t.Helper()
	tn, pw, err := p.svc.Onboard(context.Background(), tenant.OnboardInput{Slug: slug, Name: slug + "市", Code: code,
		AdminLogin: slug + ".admin"}, vendor)
	if err != nil {
		t.Fatalf("Onboard(%s, %s): %v", slug, code, err)
	}
	return tn, pw
}

// counts is how many rows the global tables hold; every city-scoped row references a tenants row,
// so an onboarding that left no tenants row left nothing in any city's tables either.
func (p *platform) counts(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"tenants", "tenant_domains", "ops_audit_log"} {
		n, err := p.d.App.NewSelect().Table(table).Count(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out[table] = int(n)
	}
	return out
}

// cityLog returns the city's audit log as the admins' audit viewer reads it, oldest first, one
// "actor action target" line each.
func (p *platform) cityLog(t *testing.T, tn *tenant.Tenant) []string {
	t.Helper()
	recs, _, _, err := p.accs.AuditLog(context.Background(), tn, tenant.AuditQuery{PerPage: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(recs) - 1; i >= 0; i-- {
		out = append(out, strings.TrimSpace(recs[i].Actor+" "+recs[i].Action+" "+recs[i].Target))
	}
	return out
}

// opsLog returns the vendor's log, oldest first: "actor action target" and the city's slug when
// the row concerns one.
func (p *platform) opsLog(t *testing.T) []string {
	t.Helper()
	var out []string
	err := p.d.App.NewRaw(`SELECT trim(l.actor || ' ' || l.action || ' ' || l.target || ' ' || coalesce(t.slug, ''))
		FROM ops_audit_log l LEFT JOIN tenants t ON t.id = l.tenant ORDER BY l.seq`).Scan(context.Background(), &out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fullLogs returns every audit text of the city and the vendor (before/after JSON included).
func (p *platform) fullLogs(t *testing.T, tn *tenant.Tenant) string {
	t.Helper()
	var city, ops []string
	err := tenant.InTx(context.Background(), p.d.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT concat_ws(' ', actor, action, target, before::text, after::text, ip) FROM audit_log`).Scan(ctx, &city)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.d.App.NewRaw(`SELECT concat_ws(' ', actor, action, target, before::text, after::text, ip) FROM ops_audit_log`).Scan(context.Background(), &ops); err != nil {
		t.Fatal(err)
	}
	return strings.Join(append(city, ops...), "\n")
}

func contains(list []string, want string) bool {
	for _, s := range list {
		if s == want {
			return true
		}
	}
	return false
}

// TestOnboard: a city opened from the vendor's input gets its row, its custom domain and its first
// administrator in one go; the administrator logs in with the issued password and must change it;
// the city's own audit log shows the vendor's actions.
func TestOnboard(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	tn, initial, err := p.svc.Onboard(ctx, tenant.OnboardInput{Slug: " Tsu ", Name: "津市", Code: "２４２０１２", NameKana: "つし",
		Domain: "YOYAKU.City.Tsu.Mie.jp", AdminLogin: "Tsu.Admin"}, vendor)
	if err != nil {
		t.Fatalf("Onboard: %v", err)
	}
	want := []string{"tsu", "津市", "242012", "ツシ", tenant.DefaultBannerColor, string(tenant.Active)}
	got := []string{tn.Slug, tn.Name, tn.Code, tn.NameKana, tn.BannerColor, string(tn.Status)}
	if !reflect.DeepEqual(got, want) || len(tn.MailDomains) != 0 || !reflect.DeepEqual(tn.Settings, tenant.Settings{}) {
		t.Errorf("Onboard = %+v, want %v with the default (empty) settings and no mail domain", tn, want)
	}
	if len(initial) != 16 {
		t.Errorf("issued password has %d characters, want 16", len(initial))
	}
	stored, err := p.svc.BySlug(ctx, "tsu")
	if err != nil || stored.ID != tn.ID || stored.Code != "242012" || stored.NameKana != "ツシ" {
		t.Fatalf("BySlug(tsu) = %+v, %v", stored, err)
	}
	if ds, err := p.svc.Domains(ctx, "tsu"); err != nil || !reflect.DeepEqual(ds, []string{"yoyaku.city.tsu.mie.jp"}) {
		t.Errorf("Domains(tsu) = %v, %v", ds, err)
	}
	r := tenant.NewResolver(tenant.NewDirectory(p.svc, 0), testBase)
	for _, host := range []string{"tsu." + testBase, "yoyaku.city.tsu.mie.jp"} {
		if kind, got, err := r.Resolve(ctx, host); err != nil || kind != tenant.HostCity || got.ID != tn.ID {
			t.Errorf("Resolve(%s) = %v, %v, %v; want the new city", host, kind, got, err)
		}
	}

	// The administrator logs in with the issued password, must change it, then logs in with the new one.
	acc, err := p.accs.Authenticate(ctx, tn, "tsu.admin", initial, "192.0.2.10")
	if err != nil {
		t.Fatalf("admin's first login: %v", err)
	}
	if acc.Role != tenant.RoleAdmin || !acc.MustChange || acc.DisplayName != "津市 管理者" || acc.PasswordExpiresAt == nil ||
		!acc.PasswordExpiresAt.Equal(p.clock.Now().Add(72*time.Hour)) {
		t.Errorf("first admin = %+v; want an admin who must change the password within 72 hours", acc)
	}
	if err := p.accs.ChangePassword(ctx, tn, acc.ID, initial, "津の新しい長いパスワード"); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if acc, err := p.accs.Authenticate(ctx, tn, "tsu.admin", "津の新しい長いパスワード", "192.0.2.10"); err != nil || acc.MustChange {
		t.Errorf("login with the new password = %+v, %v", acc, err)
	}

	log := p.cityLog(t, tn)
	for _, w := range []string{"vendor:ops.sato account.create tsu.admin", "vendor:ops.sato vendor.tenant.create tsu", "tsu.admin login"} {
		if !contains(log, w) {
			t.Errorf("city's audit log lacks %q:\n%s", w, strings.Join(log, "\n"))
		}
	}
	actions, err := p.accs.AuditActions(ctx, tn)
	if err != nil || !contains(actions, "vendor.tenant.create") {
		t.Errorf("the audit viewer's actions = %v, %v; want vendor.tenant.create", actions, err)
	}
	if recs, n, _, err := p.accs.AuditLog(ctx, tn, tenant.AuditQuery{Actor: "vendor:ops.sato"}); err != nil || n != 2 || recs[0].IP != "203.0.113.9" {
		t.Errorf("audit viewer filtered by the vendor = %d rows, %v; want 2 with the vendor's address", n, err)
	}
	if ops := p.opsLog(t); !contains(ops, "vendor:ops.sato vendor.tenant.create tsu tsu") {
		t.Errorf("vendor's log lacks the onboarding:\n%s", strings.Join(ops, "\n"))
	}
	if all := p.fullLogs(t, tn); strings.Contains(all, initial) || strings.Contains(all, "argon2") {
		t.Error("a log holds the issued password or its hash")
	}

	// Another city is another scope: none of this is in its log.
	other, _ := p.onboard(t, "matsusaka", "242047")
	for _, l := range p.cityLog(t, other) {
		if strings.HasSuffix(l, " tsu") || strings.HasSuffix(l, " tsu.admin") || strings.HasPrefix(l, "tsu.admin ") {
			t.Errorf("another city's log shows %q", l)
		}
	}
}

// TestOnboardRefusals: each bad input is refused with its own message on its field, and leaves
// no row behind.
func TestOnboardRefusals(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	p.onboard(t, "tsu", "242012")
	if _, err := p.svc.AddDomain(ctx, "tsu", "yoyaku.city.tsu.mie.jp", vendor); err != nil {
		t.Fatal(err)
	}
	good := tenant.OnboardInput{Slug: "matsusaka", Name: "松阪市", Code: "242047", NameKana: "まつさかし", BannerColor: "#1a5c2e",
		Domain: "yoyaku.city.matsusaka.mie.jp", AdminLogin: "matsusaka.admin", AdminName: "松阪 花子"}
	tests := []struct {
		name   string
		edit   func(*tenant.OnboardInput)
		by     tenant.Actor
		code   tenant.Code
		fields map[string]string
	}{
		{"slug taken", func(in *tenant.OnboardInput) { in.Slug = "tsu" }, vendor, tenant.Conflict,
			map[string]string{"slug": "tenant.slug.taken"}},
		{"code taken", func(in *tenant.OnboardInput) { in.Code = "242012" }, vendor, tenant.Conflict,
			map[string]string{"code": "tenant.code.taken"}},
		{"slug, code and domain taken", func(in *tenant.OnboardInput) {
			in.Slug, in.Code, in.Domain = "tsu", "242012", "Yoyaku.City.Tsu.Mie.jp"
		}, vendor, tenant.Conflict,
			map[string]string{"slug": "tenant.slug.taken", "code": "tenant.code.taken", "domain": "tenant.domain.taken"}},
		{"domain taken", func(in *tenant.OnboardInput) { in.Domain = "yoyaku.city.tsu.mie.jp" }, vendor, tenant.Conflict,
			map[string]string{"domain": "tenant.domain.taken"}},
		{"reserved: ops", func(in *tenant.OnboardInput) { in.Slug = "ops" }, vendor, tenant.Invalid,
			map[string]string{"slug": "tenant.slug.reserved"}},
		{"reserved: callcenter", func(in *tenant.OnboardInput) { in.Slug = "callcenter" }, vendor, tenant.Invalid,
			map[string]string{"slug": "tenant.slug.reserved"}},
		{"reserved: status", func(in *tenant.OnboardInput) { in.Slug = "status" }, vendor, tenant.Invalid,
			map[string]string{"slug": "tenant.slug.reserved"}},
		{"reserved: www", func(in *tenant.OnboardInput) { in.Slug = "www" }, vendor, tenant.Invalid,
			map[string]string{"slug": "tenant.slug.reserved"}},
		{"reserved: api", func(in *tenant.OnboardInput) { in.Slug = "api" }, vendor, tenant.Invalid,
			map[string]string{"slug": "tenant.slug.reserved"}},
		{"not a DNS label", func(in *tenant.OnboardInput) { in.Slug = "Matsu Saka!" }, vendor, tenant.Invalid,
			map[string]string{"slug": "tenant.slug.invalid"}},
		{"a label ending with a hyphen", func(in *tenant.OnboardInput) { in.Slug = "matsusaka-" }, vendor, tenant.Invalid,
			map[string]string{"slug": "tenant.slug.invalid"}},
		{"an internationalised label", func(in *tenant.OnboardInput) { in.Slug = "xn--matsusaka" }, vendor, tenant.Invalid,
			map[string]string{"slug": "tenant.slug.invalid"}},
		{"wrong check digit", func(in *tenant.OnboardInput) { in.Code = "242048" }, vendor, tenant.Invalid,
			map[string]string{"code": "tenant.code.check_digit"}},
		{"no code", func(in *tenant.OnboardInput) { in.Code = " " }, vendor, tenant.Invalid,
			map[string]string{"code": "tenant.code.required"}},
		{"five digits", func(in *tenant.OnboardInput) { in.Code = "24204" }, vendor, tenant.Invalid,
			map[string]string{"code": "tenant.code.format"}},
		{"no such prefecture", func(in *tenant.OnboardInput) { in.Code = "002003" }, vendor, tenant.Invalid,
			map[string]string{"code": "tenant.code.prefecture"}},
		{"no name", func(in *tenant.OnboardInput) { in.Name = "  " }, vendor, tenant.Invalid,
			map[string]string{"name": "tenant.name.invalid"}},
		{"kana in romaji", func(in *tenant.OnboardInput) { in.NameKana = "Matsusaka" }, vendor, tenant.Invalid,
			map[string]string{"name_kana": "tenant.kana.invalid"}},
		{"banner too light", func(in *tenant.OnboardInput) { in.BannerColor = "#ffff00" }, vendor, tenant.Invalid,
			map[string]string{"banner_color": "tenant.color.contrast"}},
		{"banner not a colour", func(in *tenant.OnboardInput) { in.BannerColor = "green" }, vendor, tenant.Invalid,
			map[string]string{"banner_color": "tenant.color.invalid"}},
		{"domain not a host name", func(in *tenant.OnboardInput) { in.Domain = "https://yoyaku.example.jp/" }, vendor, tenant.Invalid,
			map[string]string{"domain": "tenant.domain.invalid"}},
		{"domain under the platform's", func(in *tenant.OnboardInput) { in.Domain = "matsusaka2." + testBase }, vendor, tenant.Invalid,
			map[string]string{"domain": "tenant.domain.reserved"}},
		{"admin login too short", func(in *tenant.OnboardInput) { in.AdminLogin = "ab" }, vendor, tenant.Invalid,
			map[string]string{"admin_login": "staff.login_id.invalid"}},
		{"no admin login", func(in *tenant.OnboardInput) { in.AdminLogin = "" }, vendor, tenant.Invalid,
			map[string]string{"admin_login": "staff.login_id.invalid"}},
		{"admin name too long", func(in *tenant.OnboardInput) { in.AdminName = strings.Repeat("松", 101) }, vendor, tenant.Invalid,
			map[string]string{"admin_name": "admin.accounts.name.invalid"}},
		{"everything wrong at once", func(in *tenant.OnboardInput) {
			*in = tenant.OnboardInput{Slug: "ops", Code: "242013", NameKana: "x", BannerColor: "#fff", Domain: "localhost", AdminLogin: "A"}
		}, vendor, tenant.Invalid, map[string]string{"slug": "tenant.slug.reserved", "name": "tenant.name.invalid",
			"code": "tenant.code.check_digit", "name_kana": "tenant.kana.invalid", "banner_color": "tenant.color.invalid",
			"domain": "tenant.domain.invalid", "admin_login": "staff.login_id.invalid"}},
		{"a city's staff", func(*tenant.OnboardInput) {}, tenant.Staff(uuid.New(), "tsu.admin", "192.0.2.1"), tenant.Forbidden, nil},
		{"a citizen", func(*tenant.OnboardInput) {}, tenant.Citizen("192.0.2.1"), tenant.Forbidden, nil},
	}
	before := p.counts(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := good
			tc.edit(&in)
			tn, pw, err := p.svc.Onboard(ctx, in, tc.by)
			e := tenant.AsError(err)
			if e == nil || e.Code != tc.code || (tc.fields != nil && !reflect.DeepEqual(e.Fields, tc.fields)) {
				t.Fatalf("Onboard = %v, %q, %v (fields %v); want %s %v", tn, pw, err, fieldsOf(e), tc.code, tc.fields)
			}
			if tc.fields != nil && e.Key != firstField(e.Fields) {
				t.Errorf("error key %q, want the first field's message", e.Key)
			}
			if after := p.counts(t); !reflect.DeepEqual(after, before) {
				t.Errorf("rows after a refusal: %v, before %v", after, before)
			}
		})
	}
	if _, _, err := p.svc.Onboard(ctx, good, vendor); err != nil {
		t.Fatalf("the good input after the refusals: %v", err)
	}
}

func fieldsOf(e *tenant.Error) map[string]string {
	if e == nil {
		return nil
	}
	return e.Fields
}

// firstField returns the message of the first field in the onboarding form's order.
func firstField(f map[string]string) string {
	for _, k := range []string{"slug", "name", "code", "name_kana", "banner_color", "domain", "admin_login", "admin_name"} {
		if v, ok := f[k]; ok {
			return v
		}
	}
	return ""
}

// TestOnboardRace: two consoles opening the same city at once get one city; the other is told the
// name is taken (the unique constraint answers when both passed the check).
func TestOnboardRace(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	for round := range 5 {
		slug := fmt.Sprintf("race%d", round)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in := tenant.OnboardInput{Slug: slug, Name: "競争市", Code: "242012", AdminLogin: "first.admin"}
				if i == 1 {
					in.Code = "242047"
				}
				_, _, errs[i] = p.svc.Onboard(ctx, in, vendor)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if e := tenant.AsError(err); e == nil || e.Code != tenant.Conflict || e.Fields["slug"] != "tenant.slug.taken" {
				t.Errorf("round %d: the losing Onboard = %v, want conflict on slug", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d onboardings succeeded, want 1 (%v)", round, ok, errs)
		}
		// Free the codes for the next round.
		if _, err := p.d.App.ExecContext(ctx, "UPDATE tenants SET code = NULL WHERE slug = ?", slug); err != nil {
			t.Fatal(err)
		}
	}
}
