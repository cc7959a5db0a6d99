// Package charttest checks the Helm chart offline, with nothing but the repository.
//
// render_test.go renders charts/madoguchi in-process with the Helm SDK (helm.sh/helm/v3; the
// chart's values.schema.json applies) for the default values plus the required settings and for
// every file in charts/madoguchi/ci, and decodes every document strictly: Kubernetes kinds into
// k8s.io/api types and the monitoring ones into prometheus-operator's types (an unknown field or
// a duplicate fails), CloudNativePG and Barman Cloud resources against their CRDs' OpenAPI
// schemas (testdata/crds, made strict) with santhosh-tekuri/jsonschema; any other kind fails.
// It then asserts the rules for running across zones (spread, PDBs, replicas, probes, non-root,
// read-only root filesystem, pinned images), that the chart's environment variables are the
// binary's (env_test.go), the Ingress split (ingress_test.go), the NetworkPolicies
// (netpol_test.go), encrypted backups and a restore that cannot write production's bucket
// (backup_test.go) and the CloudNativePG topology of the two-DC examples (cnpg_test.go).
//
// rules_test.go checks the monitoring files the chart ships (charts/madoguchi/files):
// the alert rules parse as Prometheus parses them, the dashboard's queries parse, and every
// metric either names is one madoguchi exports (testdata/metrics.txt, which the main module's
// TestMetricsInventory keeps equal to what serve and worker register).
//
// It is its own Go module because github.com/prometheus/prometheus — the real PromQL parser and
// rule-file validator — and the Helm SDK with k8s.io/client-go are large modules whose
// requirements would otherwise enter madoguchi's go.mod and move shared dependencies
// (prometheus/common, x/time) for the application too. Here they are test-only dependencies;
// `make test` runs it.
package charttest
