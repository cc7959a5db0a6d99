package ui_test

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/madoguchi/madoguchi/tenant"
)

// The manuals' illustrations are screenshots the browser tests take (ui/e2e/lib.mjs helpImage)
// and `make help-images` copies into ui/web/static/help. Every picture a manual names is served as a
// PNG, and no picture sits in ui/web/static/help unused.
func TestHelpImages(t *testing.T) {
	named := map[string]bool{}
	ref := regexp.MustCompile(`\{\{asset "help/([a-z0-9-]+\.png)"\}\}`)
	pages, err := filepath.Glob("templates/help/*.html")
	if err != nil || len(pages) == 0 {
		t.Fatalf("no manual templates: %v", err)
	}
	pages = append(pages, "callcenter/templates/help.html") // the operator manual
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ref.FindAllStringSubmatch(string(b), -1) {
			named[m[1]] = true
		}
	}
	if len(named) < 8 {
		t.Errorf("the manuals show %d screenshots, want at least 8", len(named))
	}
	files, err := os.ReadDir("web/static/help")
	if err != nil {
		t.Fatal(err)
	}
	var unused []string
	for _, f := range files {
		if !named[f.Name()] {
			unused = append(unused, f.Name())
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("ui/web/static/help has pictures no manual shows: %s", strings.Join(unused, ", "))
	}
	for name := range named {
		if _, err := os.Stat(filepath.Join("web/static/help", name)); err != nil {
			t.Errorf("a manual shows help/%s but ui/web/static/help has no such file (run `make help-images`)", name)
		}
	}

	// Served: the manual's <img> addresses answer with the PNG, and each has alternative text.
	e := newEnv(t, nil)
	mustStaffAccount(t, e, "tanaka", tenant.RoleStaff, "counter password one")
	b := newBrowser(t, serve(t, e), e.city.Slug+".localhost")
	staffLogin(t, b, "tanaka", "counter password one")
	img := regexp.MustCompile(`<img src="(/static/[0-9a-f]+/help/[a-z0-9-]+\.png)" alt="([^"]+)"`)
	for _, page := range []string{"/admin/help", "/admin/help/operations"} {
		b.get(page)
		b.want(200)
		found := img.FindAllStringSubmatch(b.last, -1)
		if len(found) < 4 {
			t.Errorf("%s shows %d screenshots, want at least 4", page, len(found))
		}
		for _, m := range found {
			resp, err := b.c.Get(b.base + m[1])
			if err != nil {
				t.Fatal(err)
			}
			head := make([]byte, 4)
			_, _ = io.ReadFull(resp.Body, head)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || string(head) != "\x89PNG" {
				t.Errorf("GET %s = %d %q, want a PNG", m[1], resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		}
	}
}
