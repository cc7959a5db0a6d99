package ui_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestMethodNotAllowed sends, to every registered route of the city host and to the ops
// console, TRACE and a method the path has no route for: each answer is 405 with an Allow header
// naming the path's methods (RFC 9110 15.5.6), whatever the host; a path that exists for no
// method stays 404.
func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, nil)
	opsAllow(t, e, "0.0.0.0") // app.Test's client address; the ops console refuses others before routing
	cityHost := e.city.Slug + ".localhost"
	param := regexp.MustCompile(`:[a-z]+`)
	byPath := map[string][]string{}
	for _, r := range e.app.GetRoutes(true) {
		p := param.ReplaceAllString(r.Path, uuid.NewString())
		p = strings.NewReplacer("+", "x", "*", "x").Replace(p)
		if !slices.Contains(byPath[p], r.Method) {
			byPath[p] = append(byPath[p], r.Method)
		}
	}
	if len(byPath) < 50 {
		t.Fatalf("only %d routed paths", len(byPath))
	}
	type target struct {
		host, path string
		methods    []string
	}
	targets := []target{
		{"ops.localhost", "/login", []string{"GET", "HEAD", "POST"}},
		{"ops.localhost", "/logout", []string{"POST"}},
	}
	for p, ms := range byPath {
		targets = append(targets, target{cityHost, p, ms})
	}
	n := 0
	for _, tg := range targets {
		other := ""
		for _, m := range []string{"PUT", "PATCH", "DELETE", "POST", "GET"} {
			if !slices.Contains(tg.methods, m) {
				other = m
				break
			}
		}
		for _, m := range []string{"TRACE", other, "CONNECT"} {
			resp, body := e.do(t, m, tg.host, tg.path, nil)
			n++
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s%s = %d, want 405; body %.200s", m, tg.host, tg.path, resp.StatusCode, body)
				continue
			}
			allow := strings.Split(strings.ReplaceAll(resp.Header.Get("Allow"), " ", ""), ",")
			for _, want := range tg.methods {
				if !slices.Contains(allow, want) {
					t.Errorf("%s %s%s: Allow = %q, lacks %s", m, tg.host, tg.path, resp.Header.Get("Allow"), want)
				}
			}
			if slices.Contains(allow, m) {
				t.Errorf("%s %s%s: Allow = %q names the refused method", m, tg.host, tg.path, resp.Header.Get("Allow"))
			}
			if strings.HasPrefix(tg.path, "/api/") && !strings.Contains(body, `"code":"method_not_allowed"`) {
				t.Errorf("%s %s: body %.200s, want the JSON error method_not_allowed", m, tg.path, body)
			}
		}
	}
	t.Logf("%d requests to %d paths", n, len(targets))
	if resp, _ := e.do(t, "TRACE", cityHost, "/no/such/path", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("TRACE on an unknown path = %d, want 404", resp.StatusCode)
	}
}
