package ui_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/jobs/jobstest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/uitest"
)

// TestE2EAdminImport drives ui/e2e/admin-import.mjs in Chromium at phone and desktop size, with
// the real worker running in-process: each viewport uploads its own Shift_JIS file of J-LIS rows
// (with a 個人番号 column and one bad date), watches validation and commit, and the cards land
// in the database without the 個人番号.
func TestE2EAdminImport(t *testing.T) {
	rdb := jobstest.StartRedis(t).Client(t)
	e := newBrowserEnv(t, rdb)
	startWorker(t, e, rdb)
	mustStaffAccount(t, e, "e2e.import", tenant.RoleAdmin, "admin password for import e2e")
	dir := t.TempDir()
	rows := map[string]int{"phone": 40000, "desktop": 40000}
	files := map[string]string{}
	for i, vp := range []string{"phone", "desktop"} {
		var b strings.Builder
		b.WriteString("個人番号,製造管理番号,氏名,氏名カナ,生年月日,保管位置,住所\r\n")
		b.WriteString("123456789019,999999999,誤り 日付,アヤマリ ヒヅケ,1990-02-30,Z-1,三重県\r\n")
		for r := range rows[vp] {
			fmt.Fprintf(&b, "123456789019,9%d%07d,髙橋 一郎,タカハシ イチロウ,1990-%02d-%02d,棚%03d,三重県松阪市殿町1340番地1\r\n", i+1, r, r%12+1, r%28+1, r%1000)
		}
		files[vp] = filepath.Join(dir, "taishosha-"+vp+".csv")
		if err := os.WriteFile(files[vp], sjisBytes(t, b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	waiting, err := e.svc.CreateImportJob(context.Background(), e.city.ID, tenant.Staff(uuid.Nil, "seed", ""), "waiting.csv", []byte("製造管理番号,生年月日\n"))
	if err != nil {
		t.Fatal(err)
	}
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "admin-import.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{
		"login": "e2e.import", "password": "admin password for import e2e", "files": files, "rows": rows, "badLine": 2,
		"waiting": "/admin/imports/" + waiting.ID.String(),
	})
	var n, leaked int
	err = tenant.InTx(context.Background(), e.db.App, e.city.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewRaw("SELECT count(*) FROM cards WHERE card_no LIKE '9%'").Scan(ctx, &n); err != nil {
			return err
		}
		return tx.NewRaw(`SELECT (SELECT count(*) FROM cards c WHERE row_to_json(c)::text LIKE '%123456789019%')
			+ (SELECT count(*) FROM import_jobs j WHERE row_to_json(j)::text LIKE '%123456789019%')`).Scan(ctx, &leaked)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != rows["phone"]+rows["desktop"] || leaked != 0 {
		t.Fatalf("cards imported = %d (want %d), rows holding the 個人番号 = %d (want 0)", n, rows["phone"]+rows["desktop"], leaked)
	}
	for _, a := range []string{"import.upload", "import.commit"} {
		if got := strings.Count(strings.Join(auditActions(t, e, "e2e.import"), " "), a); got != 2 {
			t.Errorf("audit %s entries = %d, want 2", a, got)
		}
	}
}
