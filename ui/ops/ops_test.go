package ops

import (
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/madoguchi/madoguchi/ui/web"
)

// TestOpsRoutesGuarded: every route line of routes.go wraps its handler in a guard named for who
// may use it (Open, Enrol, Member) and says who in a comment, so a reviewer reads each route's guard
// on its line; the HTTP matrix test (ui/ops_matrix_test.go) checks what each guard lets through.
func TestOpsRoutesGuarded(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^\s*app\.(Get|Post|Put|Patch|Delete|All)\("([^"]+)", u\.(Open|Enrol|Member)\(u\.[a-zA-Z]+\)\.\.\.\)\s+// \S`)
	n := 0
	for _, l := range strings.Split(string(src), "\n") {
		if !regexp.MustCompile(`^\s*app\.(Get|Post|Put|Patch|Delete|All|Add)\(`).MatchString(l) {
			continue
		}
		n++
		if !line.MatchString(l) {
			t.Errorf("route line without a guard and its comment: %s", strings.TrimSpace(l))
		}
	}
	if n < 20 {
		t.Errorf("found %d route lines in routes.go; the pattern no longer matches them", n)
	}
}

// keyRE matches the message keys the console's code and templates name.
var keyRE = regexp.MustCompile(`"((?:ops|staff|mfa|admin|error|form|nav|site|tenant)\.[a-z0-9_.]*[a-z0-9_.])"`)

// dynamic are the keys built from a prefix in the templates and code, with every value they take.
var dynamic = map[string][]string{
	"ops.role.":              {"ops", "operator", "supervisor"},
	"ops.console.":           {"ops", "callcenter"},
	"ops.allow.remove.lead.": {"ops", "callcenter"},
	"ops.city.status.":       {"active", "disabled"},
	"ops.onboard.":           {},
}

// TestOpsMessageKeys: every message key the console's templates and code name is translated in
// both languages (a key built from a prefix is checked for each value it takes).
func TestOpsMessageKeys(t *testing.T) {
	loc, err := web.LoadLocales()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range onboardOrder {
		dynamic["ops.onboard."] = append(dynamic["ops.onboard."], f, f+".hint")
	}
	keys := map[string]bool{}
	collect := func(b []byte) {
		for _, m := range keyRE.FindAllSubmatch(b, -1) {
			keys[string(m[1])] = true
		}
	}
	err = fs.WalkDir(templatesFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templatesFS, p)
		collect(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	gos, _ := fs.Glob(os.DirFS("."), "*.go")
	for _, f := range gos {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		collect(b)
	}
	for k := range keys {
		if vals, ok := dynamic[k]; ok {
			delete(keys, k)
			for _, v := range vals {
				keys[k+v] = true
			}
		}
	}
	for k := range keys {
		for _, lang := range []string{"ja", "en"} {
			if _, ok := loc[lang][k]; !ok {
				t.Errorf("%s: %q is not translated", lang, k)
			}
		}
	}
}

// TestOpsTemplatesUsed: every page template is rendered by some handler, and every page a handler
// renders exists (a missing one would fail at the request, not at boot).
func TestOpsTemplatesUsed(t *testing.T) {
	views, err := web.LoadViews(templatesFS, (&web.Core{Locales: web.Locales{}, Assets: &web.Assets{}}).Funcs())
	if err != nil {
		t.Fatal(err)
	}
	var code strings.Builder
	gos, _ := fs.Glob(os.DirFS("."), "*.go")
	for _, f := range gos {
		if !strings.HasSuffix(f, "_test.go") {
			b, _ := os.ReadFile(f)
			code.Write(b)
		}
	}
	have := map[string]bool{}
	for _, p := range views.Pages() {
		have[p] = true
		if p == "errors/error" {
			continue // the error handler's (vendor.Base.RenderError)
		}
		if !strings.Contains(code.String(), `"`+p+`"`) {
			t.Errorf("template %s.html is rendered by no handler", p)
		}
	}
	for _, m := range regexp.MustCompile(`u\.(?:Render|RenderForm|showCity|refuseCity)\(c[^,]*, "([a-z_/]+)"`).FindAllStringSubmatch(code.String(), -1) {
		if !have[m[1]] {
			t.Errorf("a handler renders %q, which is no template", m[1])
		}
	}
}
