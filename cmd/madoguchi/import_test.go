package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/japanese"

	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

func TestImportCommand(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	getenv := testEnv(t, d, ":0")
	if err := run(ctx, []string{"tenant", "create", "tsu", "津市", "--code", "242012", "--admin", "tsu.admin"}, getenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const cards = "個人番号,製造管理番号,生年月日,氏名,保管位置\n" +
		"123456789019,100000001,1990-03-12,津 一,A-1\n" +
		"987654321094,100000002,1990-13-12,津 二,A-2\n" +
		"111122223334,100000003,19900312,津 三,A-3\n"
	utf8File := write("cards.csv", []byte(cards))
	sjisData, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(strings.Replace(cards, "A-3", "B-3", 1)))
	if err != nil {
		t.Fatal(err)
	}
	sjisFile := write("cards-sjis.csv", sjisData)
	noHeader := write("no-header.csv", []byte("製造管理番号,氏名\n100000001,津 一\n"))

	steps := []struct {
		args []string
		want []string // lines the output must contain
		err  string
	}{
		{args: []string{"import", "--tenant", "tsu", utf8File}, want: []string{
			"取込: 新規 2件 / 更新 0件 / 変更なし 0件 / エラー 1件 / 予約と紐付け 0件",
			"imported: 2 new / 0 updated / 0 unchanged / 1 rejected / 0 linked to bookings",
			"  3行目: 生年月日の形式が正しくありません (YYYY-MM-DD または YYYYMMDD)"}},
		{args: []string{"import", utf8File, "--tenant", "tsu"}, want: []string{"取込: 新規 0件 / 更新 0件 / 変更なし 2件 / エラー 1件 / 予約と紐付け 0件"}},
		{args: []string{"import", "-tenant=tsu", sjisFile}, want: []string{"取込: 新規 0件 / 更新 1件 / 変更なし 1件 / エラー 1件 / 予約と紐付け 0件"}},
		{args: []string{"import", "--tenant", "tsu", noHeader}, err: "必須の列「生年月日」"},
		{args: []string{"import", "--tenant", "nosuch", utf8File}, err: `no tenant "nosuch"`},
		{args: []string{"import", utf8File}, err: "usage: madoguchi import --tenant SLUG FILE.csv"},
		{args: []string{"import", "--tenant", "tsu"}, err: "usage"},
		{args: []string{"import", "--tenant", "tsu", utf8File, sjisFile}, err: "usage"},
		{args: []string{"import", "--tenant", "tsu", filepath.Join(dir, "missing.csv")}, err: "no such file"},
	}
	for _, s := range steps {
		var out, errOut bytes.Buffer
		err := run(ctx, s.args, getenv, &out, &errOut)
		if s.err != "" {
			if err == nil || !strings.Contains(err.Error(), s.err) {
				t.Errorf("run(%v) err = %v, want one containing %q", s.args, err, s.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("run(%v) = %v, want success", s.args, err)
			continue
		}
		for _, w := range s.want {
			if !strings.Contains(out.String(), w+"\n") {
				t.Errorf("run(%v) printed %q, want a line %q", s.args, out.String(), w)
			}
		}
		if !strings.Contains(errOut.String(), "2 行\n") {
			t.Errorf("run(%v) stderr = %q, want the progress line 2 行", s.args, errOut.String())
		}
		for _, secret := range []string{"123456789019", "987654321094", "111122223334", "津 一"} {
			if strings.Contains(out.String()+errOut.String(), secret) {
				t.Errorf("run(%v) output contains %q (a 個人番号 or a name)", s.args, secret)
			}
		}
	}
}
