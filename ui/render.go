package ui

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

//go:embed templates
var templatesFS embed.FS

// BasePage is embedded in every page's data: language, tenant and the asset URLs.
type BasePage struct {
	Lang       string
	Path       string
	LoggedIn   bool
	StaffRole  string            // "admin" or "staff" on /admin pages
	Errors     map[string]string // field → message key, for the error summary
	CityName   string
	TenantSlug string
	CSRF       string
	Flash      string
	CSS        string
	JS         string
}

// views holds one parsed template set per page: layouts and partials plus the page itself.
type views struct {
	pages map[string]*template.Template
}

// loadViews parses every page under templates/ (except layouts and partials) at start; a broken
// template fails the boot.
func loadViews(funcs template.FuncMap) (*views, error) {
	shared, err := template.New("").Funcs(funcs).ParseFS(templatesFS, "templates/layouts/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse layouts: %w", err)
	}
	if matches, _ := fs.Glob(templatesFS, "templates/partials/*.html"); len(matches) > 0 {
		if shared, err = shared.ParseFS(templatesFS, "templates/partials/*.html"); err != nil {
			return nil, fmt.Errorf("parse partials: %w", err)
		}
	}
	v := &views{pages: map[string]*template.Template{}}
	err = fs.WalkDir(templatesFS, "templates", func(path string, d fs.DirEntry, err error) error {
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
		if _, err := t.ParseFS(templatesFS, path); err != nil {
			return fmt.Errorf("parse %s: %w", path, err)
		}
		if t.Lookup("content") == nil || t.Lookup("title") == nil {
			return fmt.Errorf("%s must define \"title\" and \"content\"", path)
		}
		v.pages[name] = t
		return nil
	})
	return v, err
}

// render executes page into a buffer first, so a template error never sends half a page.
func (u *UI) render(c *fiber.Ctx, page string, data any) error {
	t, ok := u.views.pages[page]
	if !ok {
		return fmt.Errorf("no template %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "base", data); err != nil {
		return fmt.Errorf("render %s: %w", page, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(buf.Bytes())
}

// renderPartial executes one named block of page (a fragment swapped in by the page's script).
func (u *UI) renderPartial(c *fiber.Ctx, page, block string, data any) error {
	t, ok := u.views.pages[page]
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

func (u *UI) funcs() template.FuncMap {
	return template.FuncMap{
		"t": func(lang, key string, kv ...any) string {
			args := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				args[fmt.Sprint(kv[i])] = kv[i+1]
			}
			return u.locales.T(lang, key, args)
		},
		"targs":     func(lang, key string, args map[string]any) string { return u.locales.T(lang, key, args) },
		"asset":     func(name string) string { return u.assets.url(name) },
		"date":      booking.FormatDate,
		"datelong":  formatDateLong,
		"slottime":  formatSlot,
		"timerange": formatTimeRange,
		"code":      groupCode,
		"dateof":    booking.DateOf,
		"dbdate":    booking.DateFromDB,
		"clock":     func(t time.Time) string { return t.In(booking.JST).Format("15:04") },
		"list":      func(xs ...string) []string { return xs },
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

// base fills the common page data from the request.
func (u *UI) base(c *fiber.Ctx) BasePage {
	b := BasePage{Lang: langOf(c), CSS: u.assets.url("app.css"), JS: u.assets.url("app.js"), Path: c.Path()}
	if s, ok := c.Locals(localSession).(*Session); ok {
		b.CSRF, b.LoggedIn, b.StaffRole = s.CSRF, s.LoggedIn(), s.StaffRole
	}
	if t := tenantOf(c); t != nil {
		b.CityName, b.TenantSlug = t.Name, t.Slug
	}
	return b
}

// langOf returns "en" when the visitor chose English (cookie), else Japanese.
func langOf(c *fiber.Ctx) string {
	if c.Cookies("lang") == "en" {
		return "en"
	}
	return "ja"
}
