package ops

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/vendor"
)

// CityNewPage is the data of city_new.html: the onboarding form.
type CityNewPage struct {
	Page
	City  []Field // the city: slug, name, code, kana, banner colour, custom domain
	Admin []Field // its first 市管理者: login id, name
}

// onboardOrder is the order of the onboarding form's fields (tenant.OnboardInput's names).
var onboardOrder = []string{"slug", "name", "code", "name_kana", "banner_color", "domain", "admin_login", "admin_name"}

func (u *UI) cityNewPage(c *fiber.Ctx, in tenant.OnboardInput, errs map[string]string) *CityNewPage {
	p := &CityNewPage{Page: u.Page(c)}
	if errs != nil {
		p.Fail(errs, onboardOrder...)
	}
	f := func(name, value string, optional bool, inputMode, class string) Field {
		return Field{Lang: p.Lang, Name: name, Label: "ops.onboard." + name, Hint: "ops.onboard." + name + ".hint", Value: value,
			Error: errs[name], Optional: optional, InputMode: inputMode, Autocomplete: "off", Class: class}
	}
	p.City = []Field{
		f("slug", in.Slug, false, "", "input-mid"),
		f("name", in.Name, false, "", "input-mid"),
		f("code", in.Code, false, "numeric", "input-code"),
		f("name_kana", in.NameKana, true, "", "input-mid"),
		f("banner_color", in.BannerColor, true, "", "input-code"),
		f("domain", in.Domain, true, "url", ""),
	}
	p.Admin = []Field{
		f("admin_login", in.AdminLogin, false, "", "input-mid"),
		f("admin_name", in.AdminName, true, "", "input-mid"),
	}
	return p
}

func (u *UI) cityNew(c *fiber.Ctx) error {
	return u.Render(c, "city_new", u.cityNewPage(c, tenant.OnboardInput{}, nil))
}

// CityCreatedPage is the data of city_created.html: the new city, its addresses, and its first
// administrator's initial password, shown this once.
type CityCreatedPage struct {
	Page
	City       *tenant.Tenant
	URL        string // the citizens' site
	AdminURL   string // the staff pages
	AdminLogin string
	Password   string
	Domain     string // the custom domain, "" when none
}

// cityCreate onboards a city (tenant.Service.Onboard: one transaction, nothing half-created) and
// shows its administrator's initial password once; a refusal comes back beside its fields.
func (u *UI) cityCreate(c *fiber.Ctx) error {
	v := func(k string) string { return strings.Clone(c.FormValue(k)) }
	in := tenant.OnboardInput{Slug: v("slug"), Name: v("name"), Code: v("code"), NameKana: v("name_kana"), BannerColor: v("banner_color"),
		Domain: v("domain"), AdminLogin: v("admin_login"), AdminName: v("admin_name")}
	t, initial, err := u.deps.Cities.Onboard(c.UserContext(), in, actorOf(c))
	if f := vendor.FormError(err); f != nil {
		return u.RenderForm(c, "city_new", u.cityNewPage(c, in, f))
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return u.Render(c, "city_created", &CityCreatedPage{Page: u.Page(c), City: t, URL: u.cityURL(c, t.Slug, "/"),
		AdminURL: u.cityURL(c, t.Slug, "/admin"), AdminLogin: strings.ToLower(strings.TrimSpace(in.AdminLogin)), Password: initial,
		Domain: strings.TrimSuffix(strings.ToLower(strings.TrimSpace(in.Domain)), ".")})
}
