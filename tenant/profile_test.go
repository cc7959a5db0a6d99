package tenant_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

func TestValidateMunicipalityCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, code string
		want       string // message key; "" for valid
	}{
		{"津市", "242012", ""},
		{"松阪市", "242047", ""},
		{"千代田区", "131016", ""},
		{"札幌市", "011002", ""},
		{"新宿区: remainder 0 gives 1", "131041", ""},
		{"神戸市: remainder 1 gives 0", "281000", ""},
		{"相模原市: remainder 1 gives 0", "141500", ""},
		{"沖縄県", "470007", ""},
		{"津市 with a wrong check digit", "242013", "tenant.code.check_digit"},
		{"松阪市 with two digits swapped", "240247", "tenant.code.check_digit"},
		{"five digits (the code without its check digit)", "24201", "tenant.code.format"},
		{"seven digits", "2420120", "tenant.code.format"},
		{"a letter", "24201a", "tenant.code.format"},
		{"full-width digits (Onboard converts them first)", "２４２０１２", "tenant.code.format"},
		{"empty", "", "tenant.code.format"},
		{"prefecture 00", "002003", "tenant.code.prefecture"},
		{"prefecture 48", "481009", "tenant.code.prefecture"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tenant.ValidateMunicipalityCode(tc.code)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("ValidateMunicipalityCode(%q) = %v, want nil", tc.code, err)
				}
				return
			}
			e := tenant.AsError(err)
			if e == nil || e.Code != tenant.Invalid || e.Key != tc.want || e.Fields["code"] != tc.want {
				t.Fatalf("ValidateMunicipalityCode(%q) = %v, want invalid %s on field code", tc.code, err, tc.want)
			}
		})
	}
}

// TestMunicipalityCodeCheckDigitInSQL: the migration's CHECK on tenants.code and the Go check
// agree on every one of the 470,000 six-digit codes of prefectures 01–47 (exactly one check digit
// per five-digit prefix).
func TestMunicipalityCodeCheckDigitInSQL(t *testing.T) {
	t.Parallel()
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	var expr string
	if err := d.Owner.NewRaw(`SELECT pg_get_expr(conbin, conrelid) FROM pg_constraint WHERE conname = 'tenants_code_check_digit'`).Scan(ctx, &expr); err != nil {
		t.Fatal(err)
	}
	var valid []string
	q := fmt.Sprintf(`SELECT code FROM (SELECT lpad(n::text, 6, '0') AS code FROM generate_series(10000, 479999) AS n) c WHERE %s`, expr)
	if err := d.Owner.NewRaw(q).Scan(ctx, &valid); err != nil {
		t.Fatal(err)
	}
	inSQL := make(map[string]bool, len(valid))
	for _, c := range valid {
		inSQL[c] = true
	}
	n := 0
	for i := 10000; i <= 479999; i++ {
		code := fmt.Sprintf("%06d", i)
		goOK := tenant.ValidateMunicipalityCode(code) == nil
		if goOK {
			n++
		}
		if goOK != inSQL[code] {
			t.Fatalf("code %s: Go says %v, the SQL CHECK says %v", code, goOK, inSQL[code])
		}
	}
	if n != 47000 {
		t.Errorf("%d valid codes, want one per five-digit prefix of prefectures 01–47 (47,000)", n)
	}
}

func TestNormalizeKana(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"つし", "ツシ", true},
		{"ツシ", "ツシ", true},
		{"ﾏﾂｻｶｼ", "マツサカシ", true},
		{"ｶﾞﾓｳｸﾞﾝ", "ガモウグン", true},
		{"  ちよだ　く ", "チヨダ ク", true},
		{"", "", true},
		{"Tsu", "", false},
		{"津市", "", false},
	} {
		got, ok := tenant.NormalizeKana(tc.in)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("normalizeKana(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	long := ""
	for range 51 {
		long += "ア"
	}
	if _, ok := tenant.NormalizeKana(long); ok {
		t.Error("51 kana accepted, want at most 50")
	}
}

func TestNormalizeBannerColor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want, key string }{
		{"", tenant.DefaultBannerColor, ""},
		{"#0017C1", "#0017c1", ""},
		{"0017c1", "#0017c1", ""},
		{"#767676", "#767676", ""},                // 4.54:1 with white
		{"#777777", "", "tenant.color.contrast"},  // 4.48:1
		{"#ffff00", "", "tenant.color.contrast"},  // yellow
		{"#fff", "", "tenant.color.invalid"},      // short form
		{"#zzzzzz", "", "tenant.color.invalid"},   // not hex
		{"red", "", "tenant.color.invalid"},       // a name
		{"#0017c1ff", "", "tenant.color.invalid"}, // with alpha
		{"#-17c1f", "", "tenant.color.invalid"},   // a sign
		{" #1A1A1C ", "#1a1a1c", ""},              // spaces
		{"＃0017c1", "", "tenant.color.invalid"},   // full-width #
		{"#00000g", "", "tenant.color.invalid"},   // one bad digit
		{"#000000", "#000000", ""},                // black
		{"#FFFFFF", "", "tenant.color.contrast"},  // white on white
		{"#ce0000", "#ce0000", ""},                // the error red
		{"#0017c", "", "tenant.color.invalid"},    // five digits
		{"0x0017c1", "", "tenant.color.invalid"},  // C notation
		{"#0017C1\n", "#0017c1", ""},              // a trailing newline
		{"#0017 c1", "", "tenant.color.invalid"},  // inner space
		{"#ＦＦＦＦＦＦ", "", "tenant.color.invalid"},   // full-width digits
	} {
		got, key := tenant.NormalizeBannerColor(tc.in)
		if got != tc.want || key != tc.key {
			t.Errorf("normalizeBannerColor(%q) = %q, %q; want %q, %q", tc.in, got, key, tc.want, tc.key)
		}
	}
}

func TestHostNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want, key string }{
		{"yoyaku.city.example.lg.jp", "yoyaku.city.example.lg.jp", ""},
		{" YOYAKU.City.Example.JP. ", "yoyaku.city.example.jp", ""},
		{"xn--eckwd4c7c.xn--zckzah", "xn--eckwd4c7c.xn--zckzah", ""},
		{"a1-b.jp", "a1-b.jp", ""},
		{"予約.example.jp", "", "tenant.domain.invalid"},
		{"localhost", "", "tenant.domain.invalid"},
		{"tsu.localhost", "", "tenant.domain.invalid"},
		{"jp", "", "tenant.domain.invalid"},
		{"192.0.2.1", "", "tenant.domain.invalid"},
		{"2001:db8::1", "", "tenant.domain.invalid"},
		{"example.123", "", "tenant.domain.invalid"},
		{"-a.example.jp", "", "tenant.domain.invalid"},
		{"a-.example.jp", "", "tenant.domain.invalid"},
		{"ab--cd.example.jp", "", "tenant.domain.invalid"},
		{"a..example.jp", "", "tenant.domain.invalid"},
		{"exa mple.jp", "", "tenant.domain.invalid"},
		{"https://example.jp", "", "tenant.domain.invalid"},
		{"example.jp:443", "", "tenant.domain.invalid"},
		{"*.example.jp", "", "tenant.domain.invalid"},
		{fmt.Sprintf("%064d.jp", 0), "", "tenant.domain.invalid"},
	} {
		got, key := tenant.NormalizeHostName(tc.in)
		if got != tc.want || key != tc.key {
			t.Errorf("normalizeHostName(%q) = %q, %q; want %q, %q", tc.in, got, key, tc.want, tc.key)
		}
	}
	for _, tc := range []struct{ host, base, key string }{
		{"example.lg.jp", "example.lg.jp", "tenant.domain.reserved"},
		{"tsu.example.lg.jp", "example.lg.jp", "tenant.domain.reserved"},
		{"ops.example.lg.jp", "example.lg.jp", "tenant.domain.reserved"},
		{"a.b.example.lg.jp", "example.lg.jp", "tenant.domain.reserved"},
		{"example.lg.jp.evil.jp", "example.lg.jp", ""},
		{"myexample.lg.jp", "example.lg.jp", ""},
		{"yoyaku.city.tsu.mie.jp", "example.lg.jp", ""},
		{"tsu.example.lg.jp", "", ""},
	} {
		if key := tenant.CheckCustomHost(tc.host, tc.base); key != tc.key {
			t.Errorf("checkCustomHost(%q, %q) = %q, want %q", tc.host, tc.base, key, tc.key)
		}
	}
}

func TestSlugs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ slug, key string }{
		{"tsu", ""},
		{"matsusaka", ""},
		{"kiho-cho", ""},
		{"a12", ""},
		{"ts", "tenant.slug.invalid"},
		{"1tsu", "tenant.slug.invalid"},
		{"tsu-", "tenant.slug.invalid"},
		{"-tsu", "tenant.slug.invalid"},
		{"Tsu", "tenant.slug.invalid"},
		{"tsu city", "tenant.slug.invalid"},
		{"tsu.mie", "tenant.slug.invalid"},
		{"xn--tsu", "tenant.slug.invalid"},
		{"ab--cd", "tenant.slug.invalid"},
		{"a-b--c", ""},
		{"abcdefghijklmnopqrstuvwxyz012345", ""},
		{"abcdefghijklmnopqrstuvwxyz0123456", "tenant.slug.invalid"},
		{"ops", "tenant.slug.reserved"},
		{"callcenter", "tenant.slug.reserved"},
		{"status", "tenant.slug.reserved"},
		{"www", "tenant.slug.reserved"},
		{"api", "tenant.slug.reserved"},
		{"admin", "tenant.slug.reserved"},
	} {
		if key := tenant.SlugError(tc.slug); key != tc.key {
			t.Errorf("slugError(%q) = %q, want %q", tc.slug, key, tc.key)
		}
	}
}
