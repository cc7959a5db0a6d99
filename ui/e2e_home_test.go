package ui_test

import (
	"testing"

	"github.com/madoguchi/madoguchi/ui/uitest"
)

// TestE2EHome opens a city's top page in Chromium at phone and desktop size (ui/e2e/home.mjs):
// heading, city name, escaped location name, skip link, reflow at 360 px, axe WCAG 2.1 AA.
func TestE2EHome(t *testing.T) {
	e := newBrowserEnv(t, nil)
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "home.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{
		"cityName":     e.city.Name,
		"locationName": "本庁 <script>", // created by newEnv; must show as text
	})
}
