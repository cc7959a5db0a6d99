package tenant_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// messageKeyLit matches the message keys the package's code writes as string literals.
var messageKeyLit = regexp.MustCompile(`"((?:tenant|ops|staff|mfa|admin|error|audit)\.[a-z0-9_.]+[a-z0-9_])"`)

// commentLine matches a line that is a comment, where keys and actions are named, not used.
var commentLine = regexp.MustCompile(`(?m)^\s*//.*$`)

// actionLit matches an audit action assigned in code (Action: "…", action := "…"), which is not a
// message key.
var actionLit = regexp.MustCompile(`(?i)action\s*(?::|:=|=)\s*"[^"]*"`)

// cityActionLit matches the actions of the vendor written to a city's audit log, which its
// admins' audit viewer names through "audit.actions.<action>".
var cityActionLit = regexp.MustCompile(`"(vendor\.[a-z_]+\.[a-z_]+)"`)

// TestMessageKeysTranslated: every message key the tenant package returns, and the label of every
// vendor action a city's audit viewer shows, is in both ui/web/locale languages (the screens and the
// madoguchi command translate from there).
func TestMessageKeysTranslated(t *testing.T) {
	t.Parallel()
	langs := map[string]map[string]string{}
	for _, lang := range []string{"ja", "en"} {
		files, err := filepath.Glob(filepath.Join("..", "ui", "web", "locale", "*"+lang+".json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("locale files for %s: %v", lang, err)
		}
		langs[lang] = map[string]string{}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]string
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for k, v := range m {
				langs[lang][k] = v
			}
		}
	}
	sources, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, f := range sources {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		code := commentLine.ReplaceAllString(string(b), "")
		for _, m := range messageKeyLit.FindAllStringSubmatch(actionLit.ReplaceAllString(code, ""), -1) {
			want[m[1]] = true
		}
		for _, m := range cityActionLit.FindAllStringSubmatch(code, -1) {
			want["audit.actions."+m[1]] = true
		}
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) < 40 {
		t.Fatalf("found only %d keys in the package's code: %v", len(keys), keys)
	}
	for _, k := range keys {
		for lang, m := range langs {
			if strings.TrimSpace(m[k]) == "" {
				t.Errorf("%s has no %s message", k, lang)
			}
		}
	}
}
