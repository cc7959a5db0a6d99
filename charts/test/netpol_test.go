package charttest

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestNetworkPolicies: the production values enable them; where rendered, every madoguchi pod
// is under a policy restricting both ingress and egress, and the only ports opened are web's
// HTTP port and the internal port.
func TestNetworkPolicies(t *testing.T) {
	for name, objs := range renderings(t) {
		var pols []*networkingv1.NetworkPolicy
		for _, o := range objs {
			if p, ok := o.typed.(*networkingv1.NetworkPolicy); ok {
				pols = append(pols, p)
			}
		}
		if len(pols) == 0 {
			if name == "ci/production-dc1-values.yaml" {
				t.Errorf("%s: no NetworkPolicy", name)
			}
			continue
		}
		for _, o := range objs {
			var podLabels map[string]string
			switch v := o.typed.(type) {
			case *appsv1.Deployment:
				podLabels = v.Spec.Template.Labels
			case *batchv1.Job:
				podLabels = v.Spec.Template.Labels
			default:
				continue
			}
			var in, out bool
			var ports []string
			for _, p := range pols {
				sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
				if err != nil || !sel.Matches(labels.Set(podLabels)) {
					continue
				}
				in = in || slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
				out = out || slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
				for _, r := range p.Spec.Ingress {
					if len(r.Ports) == 0 {
						t.Errorf("%s: %s opens every port of %s", name, p.Name, o.name)
					}
					for _, pp := range r.Ports {
						ports = append(ports, pp.Port.String())
					}
				}
			}
			if !in || !out {
				t.Errorf("%s: %s %s: ingress restricted %v, egress restricted %v", name, o.kind, o.name, in, out)
			}
			for _, p := range ports {
				if p != "internal" && (p != "http" || podLabels["app.kubernetes.io/component"] != "web") {
					t.Errorf("%s: %s %s: port %s open", name, o.kind, o.name, p)
				}
			}
		}
	}
}
