package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed locale/*.json
var localeFS embed.FS

// languages the UI speaks; Japanese is primary.
var languages = []string{"ja", "en"}

// Locales maps language → flat dotted key → message. Messages may contain {name} placeholders.
type Locales map[string]map[string]string

// LoadLocales reads locale/{lang}.json and every locale/{area}.{lang}.json beside it (one pair
// per area of the product, so features keep their copy together). A key defined twice, in any
// two files of one language, is an error, as is a key missing or empty in another language.
func LoadLocales() (Locales, error) {
	l := Locales{}
	for _, lang := range languages {
		files, err := fs.Glob(localeFS, "locale/*"+lang+".json")
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		for _, f := range files {
			if base := path.Base(f); base != lang+".json" && !strings.HasSuffix(base, "."+lang+".json") {
				continue
			}
			b, err := localeFS.ReadFile(f)
			if err != nil {
				return nil, err
			}
			part := map[string]string{}
			if err := json.Unmarshal(b, &part); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			for k, v := range part {
				if _, dup := m[k]; dup {
					return nil, fmt.Errorf("%s: key %q is defined twice", f, k)
				}
				m[k] = v
			}
		}
		l[lang] = m
	}
	if missing := l.missing(); len(missing) > 0 {
		return nil, fmt.Errorf("locale keys missing or empty: %s", strings.Join(missing, ", "))
	}
	return l, nil
}

// missing lists keys present in one language but missing or empty in another.
func (l Locales) missing() []string {
	all := map[string]bool{}
	for _, m := range l {
		for k := range m {
			all[k] = true
		}
	}
	var out []string
	for k := range all {
		for _, lang := range languages {
			if strings.TrimSpace(l[lang][k]) == "" {
				out = append(out, lang+":"+k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// T translates key into lang, filling {name} placeholders from args. An unknown key returns the
// key itself so a gap is visible, and a test catches it.
func (l Locales) T(lang, key string, args map[string]any) string {
	m, ok := l[lang]
	if !ok {
		m = l["ja"]
	}
	s, ok := m[key]
	if !ok {
		return key
	}
	for k, v := range args {
		s = strings.ReplaceAll(s, "{"+k+"}", argString(v))
	}
	return s
}

// argString formats a placeholder value: whole numbers with thousands separators (40,000件, as
// a city office writes them), anything else as fmt.Sprint does.
func argString(v any) string {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	case int32:
		n = int64(x)
	default:
		return fmt.Sprint(v)
	}
	digits := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(digits, "-")
	digits = strings.TrimPrefix(digits, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
