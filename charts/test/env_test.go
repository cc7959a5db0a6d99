package charttest

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// notInChart are the binary's settings the chart deliberately does not set, with the reason.
var notInChart = map[string]string{}

// TestEnvInStep keeps the chart's environment variables and the binary's configuration
// (cmd/madoguchi/config.go, the one table every MADOGUCHI_ variable is read from) in step: every
// MADOGUCHI_ variable a rendered pod gets is one the binary reads, and every variable the binary
// reads is settable through the chart's values (or listed in notInChart with its reason).
func TestEnvInStep(t *testing.T) {
	src, err := os.ReadFile("../../cmd/madoguchi/config.go")
	if err != nil {
		t.Fatal(err)
	}
	binary := map[string]bool{}
	for _, m := range regexp.MustCompile(`\{name: "(MADOGUCHI_[A-Z0-9_]+)"`).FindAllStringSubmatch(string(src), -1) {
		binary[m[1]] = true
	}
	if len(binary) < 20 {
		t.Fatalf("config.go: found %d variables; has the table's form changed?", len(binary))
	}
	chart := map[string]bool{}
	for name, objs := range renderings(t) {
		for _, o := range objs {
			var pod *corev1.PodSpec
			switch v := o.typed.(type) {
			case *appsv1.Deployment:
				pod = &v.Spec.Template.Spec
			case *batchv1.Job:
				pod = &v.Spec.Template.Spec
			default:
				continue
			}
			for _, c := range append(pod.InitContainers, pod.Containers...) {
				for _, e := range c.Env {
					if !strings.HasPrefix(e.Name, "MADOGUCHI_") {
						continue
					}
					chart[e.Name] = true
					if !binary[e.Name] {
						t.Errorf("%s: %s %s sets %s, which the binary does not read", name, o.kind, o.name, e.Name)
					}
				}
			}
		}
	}
	// Variables rendered only for some values (optional secrets) are named in the templates.
	tpl, err := os.ReadFile("../madoguchi/templates/_helpers.tpl")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`name: (MADOGUCHI_[A-Z0-9_]+)`).FindAllStringSubmatch(string(tpl), -1) {
		if !binary[m[1]] {
			t.Errorf("_helpers.tpl names %s, which the binary does not read", m[1])
		}
		chart[m[1]] = true
	}
	var missing []string
	for v := range binary {
		if !chart[v] && notInChart[v] == "" {
			missing = append(missing, v)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the chart cannot set %v: add them to values.yaml and the env template", missing)
	}
	for v := range notInChart {
		if chart[v] {
			t.Errorf("%s is in notInChart but the chart sets it", v)
		}
	}
}

// TestRedisSentinelValues: the production example reaches Redis through its sentinels (three,
// the URL built by the chart), never through a plain Service URL; a password comes from the
// Secret through Kubernetes' $(VAR) expansion, never as a literal.
func TestRedisSentinelValues(t *testing.T) {
	for _, o := range renderings(t)["ci/production-dc1-values.yaml"] {
		d, ok := o.typed.(*appsv1.Deployment)
		if !ok {
			continue
		}
		env := d.Spec.Template.Spec.Containers[0].Env
		var url string
		pw := -1
		for i, e := range env {
			switch e.Name {
			case "MADOGUCHI_REDIS_URL":
				url = e.Value
				if i < pw || pw < 0 {
					t.Errorf("%s: REDIS_PASSWORD must come before MADOGUCHI_REDIS_URL for $(…) to expand", d.Name)
				}
			case "REDIS_PASSWORD":
				pw = i
				if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					t.Errorf("%s: REDIS_PASSWORD not from the Secret", d.Name)
				}
			}
		}
		if !strings.HasPrefix(url, "redis-sentinel://:$(REDIS_PASSWORD)@") || strings.Count(url, ":26379") != 3 || !strings.Contains(url, "?master=madoguchi") {
			t.Errorf("%s: MADOGUCHI_REDIS_URL %q, want the three sentinels", d.Name, url)
		}
	}
	ch := loadChart(t)
	vals := map[string]any{}
	for k, v := range required {
		vals[k] = v
	}
	vals["redis"] = map[string]any{"url": "redis://r:6379/0", "sentinel": map[string]any{"enabled": true, "addresses": []any{"s:26379"}}}
	if _, err := render(ch, vals); err == nil || !strings.Contains(err.Error(), "leave redis.url") {
		t.Errorf("url and sentinel together: %v", err)
	}
}
