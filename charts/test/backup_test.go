package charttest

import (
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
)

// TestBackupsEncrypted: every ObjectStore the examples render forces server-side encryption of
// WAL and base backups.
func TestBackupsEncrypted(t *testing.T) {
	n := 0
	for name, objs := range renderings(t) {
		for _, o := range objs {
			if o.kind != "ObjectStore" {
				continue
			}
			n++
			conf, _ := o.raw["spec"].(map[string]any)["configuration"].(map[string]any)
			for _, part := range []string{"wal", "data"} {
				p, _ := conf[part].(map[string]any)
				if p == nil {
					continue
				}
				if e, _ := p["encryption"].(string); e != "AES256" && e != "aws:kms" {
					t.Errorf("%s: ObjectStore %s: %s not encrypted", name, o.name, part)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no ObjectStore rendered")
	}
}

// TestRestoreCannotWriteProduction: the restore-drill values archive nowhere and read through a
// store of their own; turning archiving on into the bucket they recover from is refused.
func TestRestoreCannotWriteProduction(t *testing.T) {
	for _, o := range renderings(t)["ci/pitr-values.yaml"] {
		if o.kind == "Cluster" {
			if _, ok := o.raw["spec"].(map[string]any)["plugins"]; ok {
				t.Error("the restore drill's Cluster archives WAL")
			}
		}
		if o.kind == "ScheduledBackup" {
			t.Error("the restore drill takes backups")
		}
	}
	ch := loadChart(t)
	for _, tc := range []struct{ name, store, bucket string }{
		{"into the store it reads", "madoguchi-pg-dc1-store-readonly", "s3://other/"},
		{"into the bucket it reads", "madoguchi-pg-restore-store", "s3://madoguchi-pg-dc1/restore/"},
	} {
		vals, err := chartutil.ReadValuesFile("../madoguchi/ci/pitr-values.yaml")
		if err != nil {
			t.Fatal(err)
		}
		pg := vals["postgresql"].(map[string]any)["cnpg"].(map[string]any)
		pg["backup"] = map[string]any{"enabled": true, "objectStoreName": tc.store, "serverName": "madoguchi-pg-restore",
			"configuration": map[string]any{"destinationPath": tc.bucket}}
		_, err = render(ch, vals)
		t.Logf("%s: %v", tc.name, err)
		if err == nil || !strings.Contains(err.Error(), "recover") && !strings.Contains(err.Error(), "restore") {
			t.Errorf("archiving %s: %v", tc.name, err)
		}
	}
}
