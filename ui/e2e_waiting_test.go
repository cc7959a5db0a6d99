package ui_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/madoguchi/madoguchi/ui/uitest"
)

// TestE2EWaitingRoom shows the queue page in Chromium at phone and desktop size
// (ui/e2e/waiting.mjs): place in line and wait in a status region, the refresh stated and able to
// be stopped, the language switch; axe on each state.
func TestE2EWaitingRoom(t *testing.T) {
	t.Parallel()
	e, gate := newWaitingEnv(t, 1, newBrowserEnv)
	base := uitest.Serve(t, e.app)
	host := e.city.Slug + ".localhost"
	gate.hold(t, strings.TrimPrefix(base, "http://"), host, "/login")
	defer close(gate.open)
	// Queue others first, so that this browser's place is far enough back for its page to
	// refresh after several seconds, not during a check.
	const ahead = 60
	for range ahead {
		req := httptest.NewRequest("GET", "/login", nil)
		req.Host = host
		resp, err := e.app.Test(req, 10000)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	uitest.RunScript(t, "waiting.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{"ahead": ahead})
}
