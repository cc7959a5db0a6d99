package tenant_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/madoguchi/madoguchi/tenant"
)

// TestCities: the vendor's list of cities with their custom domains, searched as a person types
// (full width, hiragana, a domain, a code), limited with the total still counted; and one city
// by slug, unknown slugs not_found.
func TestCities(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	for _, in := range []tenant.OnboardInput{
		{Slug: "tsu", Name: "津市", Code: "242012", NameKana: "つし", AdminLogin: "tsu.admin", Domain: "yoyaku.city.tsu.example.jp"},
		{Slug: "matsusaka", Name: "松阪市", Code: "242047", NameKana: "まつさかし", AdminLogin: "m.admin"},
		{Slug: "kameyama", Name: "亀山市", Code: "242101", AdminLogin: "k.admin"},
	} {
		if _, _, err := p.svc.Onboard(ctx, in, vendor); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.svc.AddDomain(ctx, "tsu", "a.tsu.example.jp", vendor); err != nil {
		t.Fatal(err)
	}
	slugs := func(cs []tenant.City) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Slug)
		}
		return out
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"", []string{"kameyama", "matsusaka", "tsu"}},
		{"  ", []string{"kameyama", "matsusaka", "tsu"}},
		{"ＫＡＭＥ", []string{"kameyama"}},
		{"TSU", []string{"matsusaka", "tsu"}},
		{"つ", []string{"matsusaka", "tsu"}},
		{"ﾏﾂｻｶ", []string{"matsusaka"}},
		{"松阪", []string{"matsusaka"}},
		{"２４２１", []string{"kameyama"}},
		{"yoyaku.city", []string{"tsu"}},
		{"%", nil},
		{"_", nil},
		{"nowhere", nil},
	} {
		got, total, err := p.svc.Cities(ctx, tc.q, 0)
		if err != nil || !reflect.DeepEqual(slugs(got), tc.want) || total != len(tc.want) {
			t.Errorf("Cities(%q) = %v (total %d), %v; want %v", tc.q, slugs(got), total, err, tc.want)
		}
	}
	got, total, err := p.svc.Cities(ctx, "", 2)
	if err != nil || !reflect.DeepEqual(slugs(got), []string{"kameyama", "matsusaka"}) || total != 3 {
		t.Errorf("Cities(limit 2) = %v (total %d), %v", slugs(got), total, err)
	}
	for _, c := range got {
		if c.Domains != nil {
			t.Errorf("%s has domains %v, want none", c.Slug, c.Domains)
		}
	}
	c, err := p.svc.City(ctx, " TSU ")
	if err != nil || c.Name != "津市" || !reflect.DeepEqual(c.Domains, []string{"a.tsu.example.jp", "yoyaku.city.tsu.example.jp"}) {
		t.Errorf("City(tsu) = %+v, %v", c, err)
	}
	_, err = p.svc.City(ctx, "nosuch")
	wantCode(t, "City(nosuch)", err, tenant.NotFound, "tenant.not_found")
}
