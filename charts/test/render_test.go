package charttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

const chartDir = "../madoguchi"

// required are the settings the chart refuses to render without; "defaults" is values.yaml
// plus only these.
var required = map[string]any{
	"config":  map[string]any{"baseDomain": "yoyaku.example.lg.jp"},
	"secrets": map[string]any{"existingSecret": "madoguchi"},
	"redis":   map[string]any{"url": "redis://redis.redis.svc.cluster.local:6379/0"},
	"smtp":    map[string]any{"url": "smtp://mail-relay.mail.svc.cluster.local:25"},
}

// object is one rendered document: its template, its decoded form (a k8s.io/api or
// prometheus-operator type, or a JSON tree checked against a CRD schema) and its raw tree.
type object struct {
	template   string
	apiVersion string
	kind       string
	name       string
	typed      runtime.Object
	raw        map[string]any
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// render renders the chart as `helm template` does (values.schema.json included) for the given
// user values and returns the manifests by template, NOTES.txt left out.
func render(ch *chart.Chart, vals map[string]any) (map[string]string, error) {
	caps := *chartutil.DefaultCapabilities
	caps.APIVersions = append(slices.Clone(caps.APIVersions), "monitoring.coreos.com/v1", "postgresql.cnpg.io/v1", "barmancloud.cnpg.io/v1")
	rv, err := chartutil.ToRenderValuesWithSchemaValidation(ch, vals, chartutil.ReleaseOptions{Name: "madoguchi", Namespace: "madoguchi", IsInstall: true, Revision: 1}, &caps, false)
	if err != nil {
		return nil, err
	}
	out, err := engine.Render(ch, rv)
	if err != nil {
		return nil, err
	}
	for k := range out {
		if strings.HasSuffix(k, "NOTES.txt") {
			delete(out, k)
		}
	}
	return out, nil
}

// renderings are the value sets every check runs on: the defaults (with the required settings)
// and every file in charts/madoguchi/ci.
func renderings(t *testing.T) map[string][]object {
	t.Helper()
	renderOnce.Do(func() { renderAll(t) })
	if renderErr != nil {
		t.Fatal(renderErr)
	}
	return rendered
}

var (
	renderOnce sync.Once
	rendered   map[string][]object
	renderErr  error
)

func renderAll(t *testing.T) {
	ch := loadChart(t)
	sets := map[string]map[string]any{"defaults": required}
	files, _ := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	if len(files) < 4 {
		renderErr = fmt.Errorf("ci/: %d value files", len(files))
		return
	}
	for _, f := range files {
		v, err := chartutil.ReadValuesFile(f)
		if err != nil {
			renderErr = err
			return
		}
		sets["ci/"+filepath.Base(f)] = v
	}
	rendered = map[string][]object{}
	for name, vals := range sets {
		out, err := render(ch, vals)
		if err != nil {
			renderErr = fmt.Errorf("%s: %w", name, err)
			return
		}
		objs, err := decodeAll(out)
		if err != nil {
			renderErr = fmt.Errorf("%s: %w", name, err)
			return
		}
		rendered[name] = objs
	}
}

var (
	scheme = func() *runtime.Scheme {
		s := runtime.NewScheme()
		if err := clientgoscheme.AddToScheme(s); err != nil {
			panic(err)
		}
		if err := monitoringv1.AddToScheme(s); err != nil {
			panic(err)
		}
		return s
	}()
	// strict rejects unknown and duplicate fields, as `kubectl apply --validate=strict` does.
	strict = serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
)

// crdSchemas maps apiVersion/kind of the custom resources the chart renders without Go types
// to the CRD file whose openAPIV3Schema checks them.
var crdSchemas = map[string]string{
	"postgresql.cnpg.io/v1/Cluster":         "testdata/crds/postgresql.cnpg.io_clusters.yaml",
	"postgresql.cnpg.io/v1/ScheduledBackup": "testdata/crds/postgresql.cnpg.io_scheduledbackups.yaml",
	"barmancloud.cnpg.io/v1/ObjectStore":    "testdata/crds/barmancloud.cnpg.io_objectstores.yaml",
}

// decodeAll splits the rendered templates into documents and decodes each one strictly: a kind
// with no Go type and no CRD schema here fails.
func decodeAll(out map[string]string) ([]object, error) {
	var objs []object
	names := make([]string, 0, len(out))
	for k := range out {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, tpl := range names {
		for _, doc := range releaseutil.SplitManifests(out[tpl]) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var raw map[string]any
			if err := yaml.UnmarshalStrict([]byte(doc), &raw); err != nil {
				return nil, fmt.Errorf("%s: %w", tpl, err)
			}
			if raw == nil {
				continue
			}
			o := object{template: tpl, raw: raw}
			o.apiVersion, _ = raw["apiVersion"].(string)
			o.kind, _ = raw["kind"].(string)
			if md, ok := raw["metadata"].(map[string]any); ok {
				o.name, _ = md["name"].(string)
			}
			if file, ok := crdSchemas[o.apiVersion+"/"+o.kind]; ok {
				if err := checkCustom(file, raw); err != nil {
					return nil, fmt.Errorf("%s: %s %s: %w", tpl, o.kind, o.name, err)
				}
			} else {
				typed, _, err := strict.Decode([]byte(doc), nil, nil)
				if err != nil {
					return nil, fmt.Errorf("%s: %s %s: %w", tpl, o.kind, o.name, err)
				}
				o.typed = typed
			}
			objs = append(objs, o)
		}
	}
	return objs, nil
}

var (
	schemaMu    sync.Mutex
	schemaCache = map[string]*jsonschema.Schema{}
)

// checkCustom validates a custom resource: metadata strictly as ObjectMeta, the rest against
// the CRD's openAPIV3Schema made strict (additionalProperties: false wherever the schema lists
// properties and does not preserve unknown fields), which is what the API server's strict field
// validation refuses.
func checkCustom(file string, raw map[string]any) error {
	md, err := json.Marshal(raw["metadata"])
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(md))
	dec.DisallowUnknownFields()
	var om metav1.ObjectMeta
	if err := dec.Decode(&om); err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	sch, err := crdSchema(file)
	if err != nil {
		return err
	}
	body, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

func crdSchema(file string) (*jsonschema.Schema, error) {
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s := schemaCache[file]; s != nil {
		return s, nil
	}
	y, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		return nil, err
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Name   string `json:"name"`
				Schema struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(j, &crd); err != nil {
		return nil, err
	}
	var root map[string]any
	for _, v := range crd.Spec.Versions {
		if v.Name == "v1" {
			root = v.Schema.OpenAPIV3Schema
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%s: no v1 schema", file)
	}
	// metadata is checked as ObjectMeta; the CRD only says "type: object".
	if props, ok := root["properties"].(map[string]any); ok {
		props["metadata"] = map[string]any{"type": "object"}
	}
	strictify(root)
	b, err := json.Marshal(root)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(file+".json", doc); err != nil {
		return nil, err
	}
	s, err := c.Compile(file + ".json")
	if err != nil {
		return nil, err
	}
	schemaCache[file] = s
	return s, nil
}

func strictify(n any) {
	switch v := n.(type) {
	case map[string]any:
		_, preserve := v["x-kubernetes-preserve-unknown-fields"]
		_, addl := v["additionalProperties"]
		if _, ok := v["properties"]; ok && !preserve && !addl {
			v["additionalProperties"] = false
		}
		for _, c := range v {
			strictify(c)
		}
	case []any:
		for _, c := range v {
			strictify(c)
		}
	}
}

// TestRenderDefaults: with nothing but values.yaml the chart refuses to render, naming what is
// missing; with the required settings it renders and names the image `make image` builds.
func TestRenderDefaults(t *testing.T) {
	ch := loadChart(t)
	if _, err := render(ch, map[string]any{}); err == nil || !strings.Contains(err.Error(), "is required") {
		t.Fatalf("defaults alone: %v", err)
	}
	objs := renderings(t)["defaults"]
	want := "madoguchi/madoguchi:" + ch.Metadata.AppVersion
	for _, d := range deployments(objs) {
		if img := d.Spec.Template.Spec.Containers[0].Image; img != want {
			t.Errorf("%s image %q, want %q (make image's name)", d.Name, img, want)
		}
	}
	// The Makefile and the chart agree on the image's name.
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^IMAGE_REPOSITORY \?= madoguchi/madoguchi$`).Match(mk) {
		t.Error("Makefile's IMAGE_REPOSITORY is not the chart's default image.repository")
	}
}

// TestRenderStrict renders every value set and decodes every document strictly (done by
// renderings); a misspelled value is refused by values.schema.json.
func TestRenderStrict(t *testing.T) {
	for name, objs := range renderings(t) {
		kinds := map[string]int{}
		for _, o := range objs {
			kinds[o.kind]++
		}
		t.Logf("%s: %d documents %v", name, len(objs), kinds)
		if kinds["Deployment"] != 2 {
			t.Errorf("%s: %d Deployments", name, kinds["Deployment"])
		}
	}
	ch := loadChart(t)
	bad := map[string]any{}
	for k, v := range required {
		bad[k] = v
	}
	bad["web"] = map[string]any{"replicsa": 3}
	if _, err := render(ch, bad); err == nil {
		t.Error("a misspelled key (web.replicsa) rendered")
	}
	// An unknown kind or field in a rendered document fails the decoding.
	if _, err := decodeAll(map[string]string{"x.yaml": "apiVersion: example.com/v1\nkind: Thing\nmetadata:\n  name: x\n"}); err == nil {
		t.Error("unknown kind decoded")
	}
	if _, err := decodeAll(map[string]string{"x.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  prots: []\n"}); err == nil {
		t.Error("unknown field decoded")
	}
	if _, err := decodeAll(map[string]string{"x.yaml": "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: x\nspec:\n  instances: 3\n  instancez: 3\n"}); err == nil {
		t.Error("unknown Cluster field validated")
	}
}

func deployments(objs []object) []*appsv1.Deployment {
	var out []*appsv1.Deployment
	for _, o := range objs {
		if d, ok := o.typed.(*appsv1.Deployment); ok {
			out = append(out, d)
		}
	}
	return out
}

// TestHARules asserts, for every value set, what running across zones needs: at least two
// replicas (or an HPA minimum of two), a zone spread that honours taints plus a node spread, a
// PDB with maxUnavailable 1 selecting the pods, readiness and liveness probes on web and worker,
// non-root pods with a read-only root filesystem, and no image without a fixed version.
func TestHARules(t *testing.T) {
	for name, objs := range renderings(t) {
		hpaMin := map[string]int32{}
		var pdbs []*policyv1.PodDisruptionBudget
		for _, o := range objs {
			switch v := o.typed.(type) {
			case *autoscalingv2.HorizontalPodAutoscaler:
				if v.Spec.MinReplicas != nil {
					hpaMin[v.Spec.ScaleTargetRef.Name] = *v.Spec.MinReplicas
				}
			case *policyv1.PodDisruptionBudget:
				pdbs = append(pdbs, v)
			}
		}
		for _, o := range objs {
			var pod *corev1.PodTemplateSpec
			switch v := o.typed.(type) {
			case *appsv1.Deployment:
				pod = &v.Spec.Template
			case *batchv1.Job:
				pod = &v.Spec.Template
			default:
				continue
			}
			where := name + ": " + o.kind + " " + o.name
			checkPodSecurity(t, where, pod.Spec)
			d, ok := o.typed.(*appsv1.Deployment)
			if !ok {
				continue
			}
			n := hpaMin[d.Name]
			if d.Spec.Replicas != nil {
				n = *d.Spec.Replicas
			}
			if n < 2 {
				t.Errorf("%s: %d replicas, want at least 2 (one per zone)", where, n)
			}
			checkSpread(t, where, pod)
			podLabels := labels.Set(pod.Labels)
			found := false
			for _, p := range pdbs {
				sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
				if err != nil || !sel.Matches(podLabels) {
					continue
				}
				found = true
				if p.Spec.MaxUnavailable == nil || p.Spec.MaxUnavailable.IntValue() != 1 || p.Spec.MinAvailable != nil {
					t.Errorf("%s: PDB %s: want maxUnavailable 1 (minAvailable blocks drains at the HPA minimum)", where, p.Name)
				}
				if p.Spec.UnhealthyPodEvictionPolicy == nil || *p.Spec.UnhealthyPodEvictionPolicy != policyv1.AlwaysAllow {
					t.Errorf("%s: PDB %s: want unhealthyPodEvictionPolicy AlwaysAllow", where, p.Name)
				}
			}
			if !found {
				t.Errorf("%s: no PDB selects its pods", where)
			}
			c := pod.Spec.Containers[0]
			if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
				t.Errorf("%s: readiness probe %+v, want GET /readyz", where, c.ReadinessProbe)
			}
			if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
				t.Errorf("%s: liveness probe %+v, want GET /healthz (process only)", where, c.LivenessProbe)
			}
			if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "internal" }) {
				t.Errorf("%s: no internal (metrics, probes) port", where)
			}
		}
	}
}

func checkSpread(t *testing.T, where string, pod *corev1.PodTemplateSpec) {
	t.Helper()
	var zone, host bool
	for _, c := range pod.Spec.TopologySpreadConstraints {
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
			t.Errorf("%s: spread on %s does not select its own pods", where, c.TopologyKey)
			continue
		}
		if c.MaxSkew != 1 {
			t.Errorf("%s: spread on %s: maxSkew %d", where, c.TopologyKey, c.MaxSkew)
		}
		switch c.TopologyKey {
		case "kubernetes.io/hostname":
			host = true
		default:
			zone = true
			// Without Honor, replacement pods stay Pending when a whole zone is lost.
			if c.NodeTaintsPolicy == nil || *c.NodeTaintsPolicy != corev1.NodeInclusionPolicyHonor {
				t.Errorf("%s: zone spread on %s without nodeTaintsPolicy Honor", where, c.TopologyKey)
			}
		}
	}
	if !zone || !host {
		t.Errorf("%s: spread over zones %v, over nodes %v; want both", where, zone, host)
	}
}

func checkPodSecurity(t *testing.T, where string, spec corev1.PodSpec) {
	t.Helper()
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("%s: pod security context %+v, want runAsNonRoot and a non-zero runAsUser", where, psc)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: the service account token is mounted", where)
	}
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: container %s: root filesystem not read-only", where, c.Name)
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: container %s: privilege escalation allowed", where, c.Name)
		}
		if sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s: container %s: capabilities not dropped", where, c.Name)
		}
		if !pinned(c.Image) {
			t.Errorf("%s: container %s: image %q has no fixed version", where, c.Name, c.Image)
		}
	}
}

// pinned: a digest, or a tag other than latest.
func pinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return false
	}
	tag := image[i+1:]
	return tag != "" && tag != "latest"
}
