package charttest

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

const (
	rulesFile     = "../madoguchi/files/alerts.yaml"
	dashboardFile = "../madoguchi/files/dashboard.json"
	inventoryFile = "testdata/metrics.txt"
)

// builtin are series Prometheus makes itself.
var builtin = map[string]bool{"up": true, "scrape_duration_seconds": true, "ALERTS": true}

// inventory reads the metric families madoguchi registers, one "name type" per line.
func inventory(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(inventoryFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, typ, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			t.Fatalf("%s: bad line %q", inventoryFile, sc.Text())
		}
		out[name] = typ
	}
	if len(out) < 20 {
		t.Fatalf("%s lists %d metrics; regenerate it (go test ./cmd/madoguchi -run TestMetricsInventory -update)", inventoryFile, len(out))
	}
	return out
}

// known reports whether a selector's metric name is exported: a family, or a histogram's or
// summary's _bucket/_sum/_count series.
func known(inv map[string]string, name string) bool {
	if builtin[name] || inv[name] != "" {
		return true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suf); ok {
			if typ := inv[base]; typ == "HISTOGRAM" || (typ == "SUMMARY" && suf != "_bucket") {
				return true
			}
		}
	}
	return false
}

// names returns the metric names an expression selects.
func names(t *testing.T, expr parser.Expr) []string {
	t.Helper()
	var out []string
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			t.Errorf("selector %s has no metric name", vs)
		}
		out = append(out, name)
		return nil
	})
	return out
}

// TestAlertRules: the rule file validates as Prometheus validates it (YAML fields, PromQL,
// durations, annotation templates), every alert has a severity, summary and description, and
// every metric the rules name is one madoguchi exports.
func TestAlertRules(t *testing.T) {
	inv := inventory(t)
	p := parser.NewParser(parser.Options{})
	groups, errs := rulefmt.ParseFile(rulesFile, false, model.UTF8Validation, p, slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Errorf("%v", err)
	}
	if groups == nil {
		t.FailNow()
	}
	alerts := map[string]bool{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts[r.Alert] = true
			expr, err := p.ParseExpr(r.Expr)
			if err != nil {
				t.Errorf("%s: %v", r.Alert, err)
				continue
			}
			for _, n := range names(t, expr) {
				if !known(inv, n) {
					t.Errorf("alert %s names %s, which madoguchi does not export", r.Alert, n)
				}
			}
			switch r.Labels["severity"] {
			case "critical", "warning", "info", "none":
			default:
				t.Errorf("alert %s: severity %q, want critical, warning, info or none", r.Alert, r.Labels["severity"])
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s lacks a summary or description", r.Alert)
			}
		}
	}
	// The alerts the operations manual and the escalation engine rely on.
	for _, a := range []string{"Watchdog", "MadoguchiPostgresUnreachable", "MadoguchiRedisUnreachable", "MadoguchiOutboxStale",
		"MadoguchiMailFailing", "MadoguchiQueueLatency", "MadoguchiHighErrorRate", "MadoguchiLoginAttack"} {
		if !alerts[a] {
			t.Errorf("no alert %s", a)
		}
	}
}

// TestDashboard: the dashboard is JSON Grafana imports (a title, a uid, panels) and every
// panel's queries parse and name exported metrics.
func TestDashboard(t *testing.T) {
	inv := inventory(t)
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string `json:"uid"`
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || d.Title == "" || len(d.Panels) < 6 {
		t.Fatalf("dashboard uid %q title %q with %d panels", d.UID, d.Title, len(d.Panels))
	}
	p := parser.NewParser(parser.Options{})
	seen := map[string]bool{}
	for _, pn := range d.Panels {
		if pn.Type == "row" {
			continue
		}
		if len(pn.Targets) == 0 {
			t.Errorf("panel %q has no query", pn.Title)
		}
		for _, tg := range pn.Targets {
			// Grafana's interval variables are not PromQL; the dashboard uses $__rate_interval only.
			expr, err := p.ParseExpr(strings.ReplaceAll(tg.Expr, "$__rate_interval", "5m"))
			if err != nil {
				t.Errorf("panel %q: %v", pn.Title, err)
				continue
			}
			for _, n := range names(t, expr) {
				seen[n] = true
				if !known(inv, n) {
					t.Errorf("panel %q names %s, which madoguchi does not export", pn.Title, n)
				}
			}
		}
	}
	var list []string
	for n := range seen {
		list = append(list, n)
	}
	sort.Strings(list)
	t.Logf("dashboard reads %d metrics: %s", len(list), strings.Join(list, " "))
}
