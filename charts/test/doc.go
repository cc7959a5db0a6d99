// Package charttest checks the monitoring files the Helm chart ships (charts/madoguchi/files):
// the alert rules parse as Prometheus parses them, the dashboard's queries parse, and every
// metric either names is one madoguchi exports (testdata/metrics.txt, which the main module's
// TestMetricsInventory keeps equal to what serve and worker register).
//
// It is its own Go module because github.com/prometheus/prometheus — the real PromQL parser and
// rule-file validator — is a large module whose requirements would otherwise enter madoguchi's
// go.mod and move shared dependencies (prometheus/common, x/time) for the application too. Here
// it is a test-only dependency; `make test` runs it.
package charttest
