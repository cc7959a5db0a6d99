package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
)

// Page is embedded in every page's data: what the layouts and the error page need of every
// console (language, path, the session's CSRF token, the one-time message, the asset URLs).
type Page struct {
	Lang   string
	Path   string
	Errors map[string]string // field → message key, for the error summary
	CSRF   string
	Flash  string
	CSS    string
	JS     string
}

// Page fills the common page data from the request and the session its guard loaded.
func (w *Core) Page(c *fiber.Ctx) Page {
	p := Page{Lang: LangOf(c), CSS: w.Assets.URL("app.css"), JS: w.Assets.URL("app.js"), Path: c.Path()}
	if s := SessionOf(c); s != nil {
		p.CSRF = s.CSRF
	}
	return p
}

// sharedFS holds the partials every console's pages may use (error summary, flash message, CSRF
// field, one labelled input).
//
//go:embed templates/partials
var sharedFS embed.FS

// Views holds one console's parsed template set per page: its layouts and partials plus the
// page itself.
type Views struct {
	pages map[string]*template.Template
}

// LoadViews parses every page of a console's templates (fsys holds templates/layouts/*.html,
// templates/partials/*.html and the pages) with the shared partials at start; a broken template
// fails the boot. Every page defines "title" and "content"; "errors/error" is the console's
// error page. more are pages shared by several consoles (templates/partials/*.html and pages,
// no layouts), parsed into this console's set so they wear its layout.
func LoadViews(fsys fs.FS, funcs template.FuncMap, more ...fs.FS) (*Views, error) {
	shared, err := template.New("").Funcs(funcs).ParseFS(sharedFS, "templates/partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse shared partials: %w", err)
	}
	if shared, err = shared.ParseFS(fsys, "templates/layouts/*.html"); err != nil {
		return nil, fmt.Errorf("parse layouts: %w", err)
	}
	if matches, _ := fs.Glob(fsys, "templates/partials/*.html"); len(matches) > 0 {
		if shared, err = shared.ParseFS(fsys, "templates/partials/*.html"); err != nil {
			return nil, fmt.Errorf("parse partials: %w", err)
		}
	}
	for _, m := range more {
		if matches, _ := fs.Glob(m, "templates/partials/*.html"); len(matches) > 0 {
			if shared, err = shared.ParseFS(m, "templates/partials/*.html"); err != nil {
				return nil, fmt.Errorf("parse shared pages' partials: %w", err)
			}
		}
	}
	v := &Views{pages: map[string]*template.Template{}}
	for _, m := range append([]fs.FS{fsys}, more...) {
		if err := v.parsePages(shared, m); err != nil {
			return nil, err
		}
	}
	if v.pages["errors/error"] == nil {
		return nil, fmt.Errorf("templates/errors/error.html is missing")
	}
	return v, nil
}

// parsePages adds every page of fsys (templates/**.html but layouts and partials), each parsed
// into a copy of shared.
func (v *Views) parsePages(shared *template.Template, fsys fs.FS) error {
	return fs.WalkDir(fsys, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".html") {
			return err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(path, "templates/"), ".html")
		if strings.HasPrefix(name, "layouts/") || strings.HasPrefix(name, "partials/") {
			return nil
		}
		t, err := shared.Clone()
		if err != nil {
			return err
		}
		if _, err := t.ParseFS(fsys, path); err != nil {
			return fmt.Errorf("parse %s: %w", path, err)
		}
		if t.Lookup("content") == nil || t.Lookup("title") == nil {
			return fmt.Errorf("%s must define \"title\" and \"content\"", path)
		}
		if _, dup := v.pages[name]; dup {
			return fmt.Errorf("page %s is defined twice", path)
		}
		v.pages[name] = t
		return nil
	})
}

// Pages lists the names of every page (for tests that render them all).
func (v *Views) Pages() []string {
	out := make([]string, 0, len(v.pages))
	for name := range v.pages {
		out = append(out, name)
	}
	return out
}

// Render executes page into a buffer first, so a template error never sends half a page.
func (v *Views) Render(c *fiber.Ctx, page string, data any) error {
	return v.RenderBlock(c, page, "base", data)
}

// RenderBlock executes one named block of page (a fragment swapped in by the page's script).
func (v *Views) RenderBlock(c *fiber.Ctx, page, block string, data any) error {
	t, ok := v.pages[page]
	if !ok {
		return fmt.Errorf("no template %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, data); err != nil {
		return fmt.Errorf("render %s/%s: %w", page, block, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(buf.Bytes())
}

// Fragment executes one named block of page into bytes, without a request: the live screens'
// renders (Live), shared by every stream of a city and key.
func (v *Views) Fragment(page, block string, data any) ([]byte, error) {
	t, ok := v.pages[page]
	if !ok {
		return nil, fmt.Errorf("no template %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, data); err != nil {
		return nil, fmt.Errorf("render %s/%s: %w", page, block, err)
	}
	return buf.Bytes(), nil
}

// Funcs are the template functions every console's views have: translation, asset URLs, and
// dates and times as a city office writes them.
func (w *Core) Funcs() template.FuncMap {
	return template.FuncMap{
		"t": func(lang, key string, kv ...any) string {
			args := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				args[fmt.Sprint(kv[i])] = kv[i+1]
			}
			return w.Locales.T(lang, key, args)
		},
		"targs":     func(lang, key string, args map[string]any) string { return w.Locales.T(lang, key, args) },
		"asset":     w.Assets.URL,
		"date":      booking.FormatDate,
		"datelong":  FormatDateLong,
		"slottime":  FormatSlot,
		"timerange": FormatTimeRange,
		"code":      GroupCode,
		"dateof":    booking.DateOf,
		"dbdate":    booking.DateFromDB,
		"clock":     func(t time.Time) string { return t.In(booking.JST).Format("15:04") },
		"jstshort":  FormatJSTShort,
		"list":      func(xs ...string) []string { return xs },
		"args":      func(xs ...any) []any { return xs },
		"percent":   func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
		"ym":        func(t time.Time) string { return t.Format("2006-01") },
		"ymlabel": func(lang string, t time.Time) string {
			if lang == "en" {
				return t.Format("January 2006")
			}
			return fmt.Sprintf("%d年%d月", t.Year(), t.Month())
		},
		"weekdays": func(lang string) [][2]string {
			out := make([][2]string, 7)
			for i := range out {
				if lang == "en" {
					wd := time.Weekday(i).String()
					out[i] = [2]string{wd[:3], wd}
				} else {
					out[i] = [2]string{booking.WeekdayJA(time.Weekday(i)), booking.WeekdayJA(time.Weekday(i)) + "曜日"}
				}
			}
			return out
		},
	}
}

// Template returns one page's parsed template set (nil when there is none), for a console that
// renders outside a request (the status page renders its snapshot ahead of the requests).
func (v *Views) Template(page string) *template.Template { return v.pages[page] }

// FormatJSTShort writes a moment in JST with its date, as a notice gives it:
// 2026年12月5日（土）1:00, or Sat 5 Dec 2026 01:00 in English.
func FormatJSTShort(lang string, t time.Time) string {
	t = t.In(booking.JST)
	if lang == "en" {
		return t.Format("Mon 2 Jan 2006 15:04")
	}
	return fmt.Sprintf("%d年%d月%d日（%s）%d:%02d", t.Year(), t.Month(), t.Day(), booking.WeekdayJA(t.Weekday()), t.Hour(), t.Minute())
}
