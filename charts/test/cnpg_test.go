package charttest

import (
	"fmt"
	"strings"
	"testing"
)

// get walks a decoded document: get(raw, "spec", "instances").
func get(n any, path ...string) any {
	for _, p := range path {
		m, ok := n.(map[string]any)
		if !ok {
			return nil
		}
		n = m[p]
	}
	return n
}

// TestCNPGTopology: the production example's CloudNativePG cluster survives an instance or a
// node inside DC1 by itself (three instances, a synchronous standby, PDBs, switchover on
// updates, WAL archived by the plugin, a six-field backup schedule), and the DC2 example is a
// replica cluster that follows DC1 and names both sides.
func TestCNPGTopology(t *testing.T) {
	r := renderings(t)
	find := func(set, kind string) map[string]any {
		for _, o := range r[set] {
			if o.kind == kind {
				return o.raw
			}
		}
		t.Fatalf("%s renders no %s", set, kind)
		return nil
	}
	prod := find("ci/production-dc1-values.yaml", "Cluster")
	for path, want := range map[string]string{
		"spec.instances":                             "3",
		"spec.postgresql.synchronous.method":         "any",
		"spec.postgresql.synchronous.number":         "1",
		"spec.postgresql.synchronous.dataDurability": "required",
		"spec.primaryUpdateMethod":                   "switchover",
		"spec.enablePDB":                             "true",
	} {
		if got := fmt.Sprint(get(prod, strings.Split(path, ".")...)); got != want {
			t.Errorf("production Cluster %s = %s, want %s", path, got, want)
		}
	}
	plugins, _ := get(prod, "spec", "plugins").([]any)
	if len(plugins) != 1 || get(plugins[0], "isWALArchiver") != true {
		t.Errorf("production Cluster plugins %v, want the Barman Cloud plugin as WAL archiver", plugins)
	}
	sched := fmt.Sprint(get(find("ci/production-dc1-values.yaml", "ScheduledBackup"), "spec", "schedule"))
	if len(strings.Fields(sched)) != 6 {
		t.Errorf("ScheduledBackup schedule %q: six fields (seconds first)", sched)
	}

	dc2 := find("ci/dc2-replica-values.yaml", "Cluster")
	self := fmt.Sprint(get(dc2, "metadata", "name"))
	if p := fmt.Sprint(get(dc2, "spec", "replica", "primary")); p == self || p == "<nil>" {
		t.Errorf("DC2 replica.primary = %s, want DC1's cluster", p)
	}
	names := map[string]bool{}
	ext, _ := get(dc2, "spec", "externalClusters").([]any)
	for _, e := range ext {
		names[fmt.Sprint(get(e, "name"))] = true
	}
	if !names[self] || !names[fmt.Sprint(get(dc2, "spec", "replica", "primary"))] {
		t.Errorf("DC2 externalClusters %v: want both sides (%s and the primary)", names, self)
	}

	// The app's DSN is the runtime role's, never the operator's owner secret <cluster>-app.
	for set, objs := range r {
		for _, d := range deployments(objs) {
			for _, e := range d.Spec.Template.Spec.Containers[0].Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && strings.HasSuffix(e.ValueFrom.SecretKeyRef.Name, "-app") {
					t.Errorf("%s: %s reads %s from %s (the owner's secret)", set, d.Name, e.Name, e.ValueFrom.SecretKeyRef.Name)
				}
			}
		}
	}
}
