package uitest

import (
	"context"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// harnessApp serves one clean page and one page for each problem the harness must notice, under
// the same Content-Security-Policy as the real app.
func harnessApp() *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(func(c *fiber.Ctx) error {
		c.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'")
		return c.Next()
	})
	page := func(title, body string) fiber.Handler {
		return func(c *fiber.Ctx) error {
			c.Type("html", "utf-8")
			return c.SendString(`<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">` +
				`<meta name="viewport" content="width=device-width, initial-scale=1"><title>` + title +
				`</title></head><body><main><h1>` + title + `</h1>` + body + `</main></body></html>`)
		}
	}
	app.Get("/", page("ok", `<p>Host: `+"<span id=host></span>"+`</p><script src="/host.js"></script>`))
	app.Get("/host.js", func(c *fiber.Ctx) error {
		c.Type("js")
		return c.SendString(`document.getElementById("host").textContent = location.host;`)
	})
	app.Get("/inline-script", page("inline script", `<script>document.title = "ran";</script>`))
	app.Get("/missing-css", page("missing css", `<link rel="stylesheet" href="/nope.css">`))
	app.Get("/throws", page("throws", `<script src="/throw.js"></script>`))
	app.Get("/throw.js", func(c *fiber.Ctx) error {
		c.Type("js")
		return c.SendString(`throw new Error("thrown by throw.js");`)
	})
	app.Get("/no-alt", page("no alt", `<img src="/pixel.gif">`))
	app.Get("/pixel.gif", func(c *fiber.Ctx) error {
		c.Type("gif")
		return c.Send([]byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"))
	})
	app.Get("/wide", page("wide", `<pre>`+strings.Repeat("x", 400)+`</pre>`))
	app.Get("/no-viewport", func(c *fiber.Ctx) error {
		c.Type("html", "utf-8")
		return c.SendString(`<!DOCTYPE html><html lang="ja"><head><title>no viewport</title></head><body><p>x</p></body></html>`)
	})
	return app
}

// TestHarness proves that lib.mjs notices what it is meant to notice (ui/e2e/selftest.mjs), and
// that Serve's *.localhost address reaches the app with the chosen host name.
func TestHarness(t *testing.T) {
	base := Serve(t, harnessApp())
	RunScript(t, "selftest.mjs", CityURL(base, "selftest"), map[string]string{"host": "selftest.localhost"})
}

// TestRunScriptFails proves that a failing scenario fails the Go test and says why.
func TestRunScriptFails(t *testing.T) {
	base := Serve(t, harnessApp())
	node, dir, path, err := locate("selftest.mjs")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	err = runNode(context.Background(), node, dir, path, CityURL(base, "selftest"), []byte(`{"host":"wrong.localhost"}`),
		func(line string) { out = append(out, line) })
	if err == nil {
		t.Fatalf("a failing scenario exited 0:\n%s", strings.Join(out, "\n"))
	}
	if all := strings.Join(out, "\n"); !strings.Contains(all, "FAIL selftest [phone 360x740]: step served at the chosen host name") {
		t.Errorf("the failure is not named:\n%s", all)
	}
}

func TestHostURL(t *testing.T) {
	for _, tc := range [][3]string{
		{"http://127.0.0.1:41234", "matsusaka", "http://matsusaka.localhost:41234"},
		{"http://127.0.0.1", "tsu", "http://tsu.localhost"},
	} {
		if got := CityURL(tc[0], tc[1]); got != tc[2] {
			t.Errorf("CityURL(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}
