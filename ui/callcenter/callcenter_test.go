package callcenter

import (
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// TestRoutesGuarded: every route line of routes.go wraps its handler in a guard named for who may
// use it and says who in a comment; the grant matrix (ui/callcenter_test.go) checks the City guard
// on every city route.
func TestRoutesGuarded(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^\s*app\.(Get|Post)\("([^"]+)", u\.(Member|Supervisor|City)\(u\.[a-zA-Z]+\)\.\.\.\)\s+// (Member|Supervisor|City): \S`)
	n := 0
	for _, l := range strings.Split(string(src), "\n") {
		if !regexp.MustCompile(`^\s*app\.(Get|Post|Put|Patch|Delete|All|Add)\(`).MatchString(l) {
			continue
		}
		n++
		m := line.FindStringSubmatch(l)
		if m == nil || m[3] != m[4] {
			t.Errorf("route line without its guard named in its comment: %s", strings.TrimSpace(l))
		}
		if m != nil && strings.HasPrefix(m[2], "/c/:slug") != (m[3] == "City") {
			t.Errorf("a city's route must use City, and only a city's route: %s", strings.TrimSpace(l))
		}
	}
	if n < 14 {
		t.Errorf("found %d route lines; the pattern no longer matches them", n)
	}
}

var keyRE = regexp.MustCompile(`"((?:callcenter|ops|staff|mfa|admin|error|form|nav|site|cards|audit)\.[a-z0-9_.]*[a-z0-9_.])"`)

// dynamic are the keys built from a prefix, with every value they take.
var dynamic = map[string][]string{
	"cards.status.": {string(booking.CardImported), string(booking.CardNoticeSent), string(booking.CardReserved), string(booking.CardVisited),
		string(booking.CardIssued), string(booking.CardReturned), string(booking.CardOnHold), string(booking.CardVoid)},
	"cards.channel.": {string(tenant.ChannelWeb), string(tenant.ChannelCallCenter), string(tenant.ChannelStaff), string(tenant.ChannelImport), string(tenant.ChannelSystem)},
}

// TestMessageKeys: every message key the console's templates and code name is translated in both
// languages.
func TestMessageKeys(t *testing.T) {
	loc, err := web.LoadLocales()
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	collect := func(b []byte) {
		for _, m := range keyRE.FindAllSubmatch(b, -1) {
			keys[string(m[1])] = true
		}
	}
	if err := fs.WalkDir(templatesFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templatesFS, p)
		collect(b)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	gos, _ := fs.Glob(os.DirFS("."), "*.go")
	for _, f := range gos {
		if !strings.HasSuffix(f, "_test.go") {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			collect(b)
		}
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
