package charttest

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// uploadBytes is the largest card CSV (booking.ImportMaxFileBytes, 50 MiB); the upload path
// must accept it with room for the form.
const uploadBytes = 50 << 20

// TestIngressPaths: only POST /admin/imports may carry a large body (its own Ingress, Exact
// path, a body limit above 50 MiB); every other Ingress keeps the controller's default. With
// the LGWAN Ingress, /admin is served on its class only and closed on the public one.
func TestIngressPaths(t *testing.T) {
	seen := 0
	for name, objs := range renderings(t) {
		var ings []*networkingv1.Ingress
		for _, o := range objs {
			if ing, ok := o.typed.(*networkingv1.Ingress); ok {
				ings = append(ings, ing)
			}
		}
		if len(ings) == 0 {
			continue
		}
		seen++
		var upload, lgwan, public *networkingv1.Ingress
		for _, ing := range ings {
			switch {
			case strings.HasSuffix(ing.Name, "-upload"):
				upload = ing
			case strings.HasSuffix(ing.Name, "-lgwan"):
				lgwan = ing
			default:
				public = ing
			}
		}
		if upload == nil || public == nil {
			t.Fatalf("%s: Ingresses %d, want the public one and the upload one", name, len(ings))
		}
		for _, ing := range ings {
			size, ok := ing.Annotations["nginx.ingress.kubernetes.io/proxy-body-size"]
			if ing != upload {
				if ok {
					t.Errorf("%s: %s sets a body size (%s): only the upload path may", name, ing.Name, size)
				}
				continue
			}
			q, err := resource.ParseQuantity(strings.TrimSuffix(strings.ToUpper(size), "M") + "Mi")
			if err != nil || q.Value() <= uploadBytes {
				t.Errorf("%s: upload body size %q, want more than 50 MiB", name, size)
			}
			for _, r := range ing.Spec.Rules {
				if p := r.HTTP.Paths; len(p) != 1 || p[0].Path != "/admin/imports" || *p[0].PathType != networkingv1.PathTypeExact {
					t.Errorf("%s: upload Ingress paths %+v, want exactly /admin/imports", name, p)
				}
			}
		}
		if lgwan == nil {
			continue
		}
		if upload.Spec.IngressClassName == nil || lgwan.Spec.IngressClassName == nil || *upload.Spec.IngressClassName != *lgwan.Spec.IngressClassName {
			t.Errorf("%s: the upload path is not on the LGWAN class", name)
		}
		if public.Spec.IngressClassName != nil && *public.Spec.IngressClassName == *lgwan.Spec.IngressClassName {
			t.Errorf("%s: public and LGWAN Ingresses share the class %s", name, *lgwan.Spec.IngressClassName)
		}
		for _, r := range public.Spec.Rules {
			closed := false
			for _, p := range r.HTTP.Paths {
				if p.Path == "/admin" && strings.HasSuffix(p.Backend.Service.Name, "-closed") {
					closed = true
				}
			}
			if !closed {
				t.Errorf("%s: host %s of the public Ingress still routes /admin", name, r.Host)
			}
		}
	}
	if seen == 0 {
		t.Fatal("no value set renders an Ingress")
	}
}
