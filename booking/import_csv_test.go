package booking_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/uptrace/bun"
	"golang.org/x/text/encoding/japanese"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// cardsCSV is a J-LIS-like export: a 個人番号 column (fake numbers with a wrong check digit) and
// an address column that must both be dropped, header names with spaces around them, the three
// date forms, a full-width card number and CP932-only characters (髙, ①). Every birthday is
// March 12. testdata/cards_sjis.csv is the same file in Shift_JIS with CRLF line ends.
const cardsCSV = "個人番号, 製造管理番号 ,氏名,氏名カナ,生年月日,保管位置,住所\n" +
	"123456789019,100000001,松阪 太郎,マツサカ タロウ,1990-03-12,A-001,三重県松阪市殿町1340番地1\n" +
	"987654321094,100000002,松阪 花子,マツサカ ハナコ,19850312,A-002,三重県松阪市\n" +
	"111122223334,１００ー０００ー００３,髙橋 一郎,タカハシ イチロウ,1970/3/12,①棚-010,\"三重県松阪市, 嬉野\"\n"

type wantCard struct {
	no, name, kana, pos string
}

var cardsCSVWant = []wantCard{
	{"100000001", "松阪 太郎", "マツサカ タロウ", "A-001"},
	{"100000002", "松阪 花子", "マツサカ ハナコ", "A-002"},
	{"100000003", "髙橋 一郎", "タカハシ イチロウ", "①棚-010"},
}

func sjis(t testing.TB, s string) []byte {
	t.Helper()
	b, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encode Shift_JIS: %v", err)
	}
	return b
}

func csvLines(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }

// cardsOf returns the tenant's cards by number.
func cardsOf(t *testing.T, db bun.IDB, tn *tenant.Tenant) map[string]booking.Card {
	t.Helper()
	var cs []booking.Card
	err := tenant.InTx(context.Background(), db, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&cs).Order("card_no").Scan(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]booking.Card{}
	for _, c := range cs {
		m[c.CardNo] = c
	}
	return m
}

// snapshot returns every card and history row of the tenant as JSON text, to prove that a
// refused import wrote nothing.
func snapshot(t *testing.T, db bun.IDB, tn *tenant.Tenant) []string {
	t.Helper()
	var rows []string
	err := tenant.InTx(context.Background(), db, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT row_to_json(c)::text FROM cards c
			UNION ALL SELECT row_to_json(h)::text FROM card_status_history h ORDER BY 1`).Scan(ctx, &rows)
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// historyCount counts the tenant's history rows written by imports.
func historyCount(t *testing.T, db bun.IDB, tn *tenant.Tenant) int {
	t.Helper()
	var n int
	err := tenant.InTx(context.Background(), db, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT count(*) FROM card_status_history
			WHERE channel = 'import' AND to_status = 'imported' AND coalesce(from_status, '') = ''`).Scan(ctx, &n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func sameResult(got *booking.ImportResult, want booking.ImportResult) bool {
	if got == nil {
		return false
	}
	g, w := *got, want
	if len(g.Rejected) == 0 && len(w.Rejected) == 0 {
		g.Rejected, w.Rejected = nil, nil
	}
	return reflect.DeepEqual(g, w)
}

func TestImportCardsEncodings(t *testing.T) {
	d := tenanttest.NewDB(t)
	svc := bookingtest.Service(d.App, nil)
	fixture, err := os.ReadFile("testdata/cards_sjis.csv")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(fixture, []byte(strings.ReplaceAll(cardsCSV, "\n", "\r\n"))) {
		t.Fatal("testdata/cards_sjis.csv is not Shift_JIS")
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"UTF-8", []byte(cardsCSV)},
		{"UTF-8 with BOM", append([]byte("\uFEFF"), cardsCSV...)},
		{"UTF-8 CRLF", []byte(strings.ReplaceAll(cardsCSV, "\n", "\r\n"))},
		{"Shift_JIS", sjis(t, cardsCSV)},
		{"Shift_JIS fixture", fixture},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := tenanttest.MustCreateTenant(t, d.App)
			res, err := svc.ImportCards(context.Background(), tn, bytes.NewReader(tc.data), nil)
			if want := (booking.ImportResult{Inserted: 3}); err != nil || !sameResult(res, want) {
				t.Fatalf("ImportCards(%s) = %+v, %v; want %+v", tc.name, res, err, want)
			}
			got := cardsOf(t, d.App, tn)
			if len(got) != len(cardsCSVWant) {
				t.Fatalf("after ImportCards(%s): %d cards, want %d", tc.name, len(got), len(cardsCSVWant))
			}
			for _, w := range cardsCSVWant {
				c, ok := got[w.no]
				if !ok {
					t.Errorf("after ImportCards(%s): card %s missing", tc.name, w.no)
					continue
				}
				if c.Name == nil || *c.Name != w.name || c.NameKana == nil || *c.NameKana != w.kana || c.StoragePos != w.pos || c.Status != booking.CardImported {
					t.Errorf("card %s = %v/%v/%q/%s, want %q/%q/%q/imported", w.no, c.Name, c.NameKana, c.StoragePos, c.Status, w.name, w.kana, w.pos)
				}
				if want := booking.BirthHMAC(bookingtest.Key, tn.ID, w.no, "0312"); !bytes.Equal(c.BirthHMAC, want) {
					t.Errorf("card %s birth_hmac = %x, want BirthHMAC(key, tenant, %s, 0312) = %x", w.no, c.BirthHMAC, w.no, want)
				}
			}
			if n := historyCount(t, d.App, tn); n != 3 {
				t.Errorf("after ImportCards(%s): %d import history rows, want 3", tc.name, n)
			}
		})
	}
}

func TestImportCardsReimport(t *testing.T) {
	d := tenanttest.NewDB(t)
	svc := bookingtest.Service(d.App, nil)
	tn := tenanttest.MustCreateTenant(t, d.App)
	ctx := context.Background()
	base := []string{"製造管理番号,生年月日,氏名,氏名カナ,保管位置",
		"300000001,1990-03-12,伊勢 一,イセ ハジメ,A-1",
		"300000002,1990-04-01,伊勢 二,イセ ジ,A-2",
		"300000003,1990-05-05,,,A-3",
	}
	with := func(i int, line string) []byte {
		ls := append([]string(nil), base...)
		ls[i] = line
		return csvLines(ls...)
	}
	steps := []struct {
		name  string
		data  []byte
		want  booking.ImportResult
		check func(t *testing.T, c map[string]booking.Card)
	}{
		{name: "first import", data: csvLines(base...), want: booking.ImportResult{Inserted: 3}},
		{name: "same file again", data: csvLines(base...), want: booking.ImportResult{Unchanged: 3}},
		{name: "same data in Shift_JIS", data: sjis(t, string(csvLines(base...))), want: booking.ImportResult{Unchanged: 3}},
		{name: "storage position changed", data: with(1, "300000001,1990-03-12,伊勢 一,イセ ハジメ,B-9"),
			want: booking.ImportResult{Updated: 1, Unchanged: 2},
			check: func(t *testing.T, c map[string]booking.Card) {
				if c["300000001"].StoragePos != "B-9" {
					t.Errorf("storage_pos = %q, want B-9", c["300000001"].StoragePos)
				}
			}},
		{name: "birthday changed", data: with(2, "300000002,1990-04-02,伊勢 二,イセ ジ,A-2"),
			want: booking.ImportResult{Updated: 2, Unchanged: 1}, // row 1 is back to A-1 too
			check: func(t *testing.T, c map[string]booking.Card) {
				if want := booking.BirthHMAC(bookingtest.Key, tn.ID, "300000002", "0402"); !bytes.Equal(c["300000002"].BirthHMAC, want) {
					t.Errorf("birth_hmac = %x, want the HMAC of 0402", c["300000002"].BirthHMAC)
				}
			}},
		{name: "name added, kana removed", data: with(3, "300000003,1990-05-05,伊勢 三,,A-3"),
			want: booking.ImportResult{Updated: 2, Unchanged: 1}, // row 2 is back to 0401
			check: func(t *testing.T, c map[string]booking.Card) {
				if n := c["300000003"].Name; n == nil || *n != "伊勢 三" || c["300000003"].NameKana != nil {
					t.Errorf("name, kana = %v, %v; want 伊勢 三, NULL", n, c["300000003"].NameKana)
				}
			}},
		{name: "kana removed from an existing card", data: with(1, "300000001,1990-03-12,伊勢 一,,A-1"),
			want: booking.ImportResult{Updated: 2, Unchanged: 1},
			check: func(t *testing.T, c map[string]booking.Card) {
				if c["300000001"].NameKana != nil {
					t.Errorf("name_kana = %q, want NULL", *c["300000001"].NameKana)
				}
			}},
		{name: "a new card among known ones", data: csvLines(append(base, "300000004,2000-01-01,,,")...),
			want: booking.ImportResult{Inserted: 1, Updated: 1, Unchanged: 2}}, // row 1 gets its kana back
	}
	for i, s := range steps {
		res, err := svc.ImportCards(ctx, tn, bytes.NewReader(s.data), nil)
		if err != nil || !sameResult(res, s.want) {
			t.Fatalf("step %d %s: ImportCards(...) = %+v, %v; want %+v", i, s.name, res, err, s.want)
		}
		cards := cardsOf(t, d.App, tn)
		if s.check != nil {
			s.check(t, cards)
		}
		if i == 1 { // a card that moved on keeps its status when the file is imported again
			if err := tenant.InTx(ctx, d.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
				_, err := tx.ExecContext(ctx, "UPDATE cards SET status = 'notice_sent' WHERE card_no = '300000001'")
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cards := cardsOf(t, d.App, tn)
	if st := cards["300000001"].Status; st != booking.CardNoticeSent {
		t.Errorf("status of an updated card = %s, want notice_sent (imports never change status)", st)
	}
	if n := historyCount(t, d.App, tn); n != 4 {
		t.Errorf("import history rows = %d, want 4 (one per new card)", n)
	}
}

// TestImportCardsStoresValuesVerbatim sends values that mean something to SQL or to array
// literals and expects them back unchanged, and unchanged on a second import.
func TestImportCardsStoresValuesVerbatim(t *testing.T) {
	d := tenanttest.NewDB(t)
	svc := bookingtest.Service(d.App, nil)
	tn := tenanttest.MustCreateTenant(t, d.App)
	values := []wantCard{
		{"900000001", `O'Brien "ジョン"`, `\N`, `{a,b}`},
		{"900000002", "NULL", `\`, `'); DROP TABLE cards; --`},
		{"900000003", `\x00`, "null", ""},
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"製造管理番号", "生年月日", "氏名", "氏名カナ", "保管位置"})
	for _, v := range values {
		w.Write([]string{v.no, "1990-03-12", v.name, v.kana, v.pos})
	}
	w.Flush()
	for i, want := range []booking.ImportResult{{Inserted: 3}, {Unchanged: 3}} {
		res, err := svc.ImportCards(context.Background(), tn, bytes.NewReader(b.Bytes()), nil)
		if err != nil || !sameResult(res, want) {
			t.Fatalf("ImportCards #%d = %+v, %v; want %+v", i+1, res, err, want)
		}
	}
	got := cardsOf(t, d.App, tn)
	for _, v := range values {
		c := got[v.no]
		if c.Name == nil || *c.Name != v.name || c.NameKana == nil || *c.NameKana != v.kana || c.StoragePos != v.pos {
			t.Errorf("card %s = %v/%v/%q, want %q/%q/%q", v.no, c.Name, c.NameKana, c.StoragePos, v.name, v.kana, v.pos)
		}
	}
}

// TestImportCardsDropsMyNumber checks that no 12-digit number reaches the database, whether it
// is in a dropped column, in the card number column or in a kept column.
func TestImportCardsDropsMyNumber(t *testing.T) {
	d := tenanttest.NewDB(t)
	svc := bookingtest.Service(d.App, nil)
	tn := tenanttest.MustCreateTenant(t, d.App)
	data := csvLines(
		"製造管理番号,個人番号,生年月日,氏名,氏名カナ,保管位置,備考",
		"400000001,123456789019,1990-03-12,津 一,ツ ハジメ,A-1,987654321094",
		"123456789019,,1990-03-12,津 二,ツ ジ,A-2,",
		"1234-5678-9019,,1990-03-12,津 三,ツ ゾウ,A-3,",
		"400000004,,1990-03-12,津 123456789019,ツ ヨン,A-4,",
		"400000005,,1990-03-12,津 五,ツ ゴ,１２３４５６７８９０１９,",
		"400000006,,1990-03-12,津 六,ツ ロク,棚12345678901,",
	)
	res, err := svc.ImportCards(context.Background(), tn, bytes.NewReader(data), nil)
	want := booking.ImportResult{Inserted: 2, Rejected: []booking.RowError{
		{Line: 3, Reason: "製造管理番号の列に12桁の数字があります（個人番号は取り込めません）"},
		{Line: 4, Reason: "製造管理番号の列に12桁の数字があります（個人番号は取り込めません）"},
		{Line: 5, Reason: "氏名に12桁の数字があります（個人番号は取り込めません）"},
		{Line: 6, Reason: "保管位置に12桁の数字があります（個人番号は取り込めません）"},
	}}
	if err != nil || !sameResult(res, want) {
		t.Fatalf("ImportCards(...) = %+v, %v; want %+v", res, err, want)
	}
	// Every column as JSON, less the hex ones (UUIDs, the HMAC), where twelve digits in a row
	// happen by chance; the row count proves the query sees the rows.
	for _, table := range []string{"cards", "card_status_history"} {
		var n, total int
		err := tenant.InTx(context.Background(), d.Owner, tn.ID, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewRaw(fmt.Sprintf(`SELECT count(*) FILTER (WHERE (to_jsonb(%[1]s) - 'tenant_id' - 'id' - 'card_id' - 'birth_hmac')::text ~ '[0-9０-９]{12}'),
				count(*) FROM %[1]s`, table)).Scan(ctx, &n, &total)
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 || total != 2 {
			t.Errorf("%d of %d rows of %s hold a 12-digit number, want 0 of 2", n, total, table)
		}
	}
}

func TestImportCardsRejectsBadRows(t *testing.T) {
	d := tenanttest.NewDB(t)
	svc := bookingtest.Service(d.App, nil)
	tn := tenanttest.MustCreateTenant(t, d.App)
	long := func(n int) string { return strings.Repeat("あ", n) }
	data := csvLines(
		"製造管理番号,生年月日,氏名,氏名カナ,保管位置",             // 1
		"500000001,1990-03-12,四日市 一,,A-1",      // 2 good
		"500000002,1990-13-12,,,",              // 3 month 13
		"500000003,2001-02-29,,,",              // 4 not a leap year
		"500000004,3月12日,,,",                   // 5 no year
		"12345,1990-03-12,,,",                  // 6 too short
		",1990-03-12,,,",                       // 7 no number
		"500000001,1990-03-12,,,",              // 8 same as line 2
		"500000009,1990-03-12,"+long(101)+",,", // 9
		"500000010,1990-03-12,,"+long(101)+",", // 10
		"500000011,1990-03-12,,,"+long(51),     // 11
		"",                                     // 12 empty line: skipped
		",,,,",                                 // 13 blank row: skipped
		"500000014,2000/2/29,\"二行の", "名前\",,",  // 14–15: a quoted field with a line break
		"500000016,20000229,"+long(100)+","+long(100)+","+long(50), // 16 good: at the limits
		"500000017,,,,",     // 17 no birthday
		"500000018",         // 18 missing columns
		"ABC,1990-99-99,,,", // 19 two problems
		"５００ー０００ー０２０,２０００－０１－０２,,,", // 20 good: full width
	)
	res, err := svc.ImportCards(context.Background(), tn, bytes.NewReader(data), nil)
	badDate := "生年月日の形式が正しくありません (YYYY-MM-DD または YYYYMMDD)"
	want := booking.ImportResult{Inserted: 3, Rejected: []booking.RowError{
		{Line: 3, Reason: badDate},
		{Line: 4, Reason: badDate},
		{Line: 5, Reason: badDate},
		{Line: 6, Reason: "製造管理番号の形式が正しくありません"},
		{Line: 7, Reason: "製造管理番号が空です"},
		{Line: 8, Reason: "製造管理番号が重複しています（2行目と同じ番号）"},
		{Line: 9, Reason: "氏名が長すぎます（100文字まで）"},
		{Line: 10, Reason: "氏名カナが長すぎます（100文字まで）"},
		{Line: 11, Reason: "保管位置が長すぎます（50文字まで）"},
		{Line: 14, Reason: "氏名に改行や制御文字が含まれています"},
		{Line: 17, Reason: "生年月日が空です"},
		{Line: 18, Reason: "生年月日が空です"},
		{Line: 19, Reason: "製造管理番号の形式が正しくありません、" + badDate},
	}}
	if err != nil || !sameResult(res, want) {
		t.Fatalf("ImportCards(...) = %+v, %v;\nwant %+v", res, err, want)
	}
	cards := cardsOf(t, d.App, tn)
	for _, no := range []string{"500000001", "500000016", "500000020"} {
		if _, ok := cards[no]; !ok {
			t.Errorf("good row's card %s was not imported", no)
		}
	}
	if len(cards) != 3 {
		t.Errorf("%d cards imported, want 3", len(cards))
	}
	if c := cards["500000001"]; c.Name == nil || *c.Name != "四日市 一" {
		t.Errorf("the first of two rows with one number was not the one kept: name = %v", c.Name)
	}
}

func TestImportCardsRefusesFile(t *testing.T) {
	d := tenanttest.NewDB(t)
	// A small row limit: the file over it is refused the same way as one over the real limit
	// (ImportMaxRows), without staging a million rows first.
	const maxRows = 3000
	svc := booking.NewService(d.App, booking.Config{Now: tenanttest.NewClock().Now, SecretKey: bookingtest.Key, ImportMaxRows: maxRows})
	ctx := context.Background()
	goodRow := "600000001,1990-03-12,新しい名前,,Z-9" // would update the existing card
	hugeLine := func(n int) string { return goodRow + strings.Repeat("x", n) }
	manyRows := func(n int) []byte {
		var b bytes.Buffer
		b.WriteString("製造管理番号,生年月日\n")
		for i := range n {
			fmt.Fprintf(&b, "%09d,19900312\n", i)
		}
		return b.Bytes()
	}
	manyUTF8Rows := func(n int) []byte {
		var b bytes.Buffer
		b.WriteString("製造管理番号,生年月日,氏名\n")
		for i := range n {
			fmt.Fprintf(&b, "6%08d,1990-03-12,松阪 太郎\n", i)
		}
		return b.Bytes()
	}
	tests := []struct {
		name string
		data []byte
		key  string
	}{
		{"empty file", nil, "import.header_missing"},
		{"no 生年月日 column", csvLines("製造管理番号,氏名,保管位置", "600000001,名前,Z-9"), "import.header_missing"},
		{"no 製造管理番号 column", csvLines("番号,生年月日", "600000001,1990-03-12"), "import.header_missing"},
		{"header is a data row", csvLines(goodRow), "import.header_missing"},
		{"column twice", csvLines("製造管理番号,生年月日,保管位置,保管位置", goodRow+",X"), "import.header_duplicate"},
		{"invalid Shift_JIS", append(sjis(t, string(csvLines("製造管理番号,生年月日,氏名,氏名カナ,保管位置", goodRow))),
			0x81, 0x20, 0xff, 0xfd, '\n'), "import.encoding"},
		{"Shift_JIS lead byte at the end", append(sjis(t, "製造管理番号,生年月日,氏名\n600000001,1990-03-12,"), 0x88), "import.encoding"},
		{"UTF-8 header, Shift_JIS row", append(csvLines("製造管理番号,生年月日,氏名,氏名カナ,保管位置", goodRow),
			sjis(t, "600000002,1990-03-12,松阪 太郎,,\n")...), ""}, // read as Shift_JIS: the header is not found
		{"UTF-8, Shift_JIS row after 64 KiB", append(manyUTF8Rows(2000),
			sjis(t, "600000002,1990-03-12,松阪 太郎,,\n")...), "import.encoding"},
		{"not text", []byte{0xff, 0xfe, 0x00, 0x01, 0x02, 0x80, 0x81, 0x82}, "import.encoding"},
		{"10 MB line", csvLines("製造管理番号,生年月日,氏名,氏名カナ,保管位置", goodRow, hugeLine(10<<20)), "import.line_too_long"},
		{"10 MB header", csvLines(hugeLine(10<<20), goodRow), "import.line_too_long"},
		{"10 MB quoted field over many lines", csvLines("製造管理番号,生年月日,氏名,氏名カナ,保管位置", goodRow,
			"600000002,1990-03-12,\""+strings.Repeat("あ\n", 4<<20)+"\",,"), "import.line_too_long"},
		{"line of 64 KiB + 1", csvLines("製造管理番号,生年月日,氏名,氏名カナ,保管位置", goodRow,
			hugeLine(booking.ImportMaxLineBytes+1-len(goodRow))), "import.line_too_long"},
		{"unterminated quote", csvLines("製造管理番号,生年月日,氏名,氏名カナ,保管位置", goodRow, `600000002,1990-03-12,"名前,,`), "import.csv_syntax"},
		{"bare quote", csvLines("製造管理番号,生年月日,氏名,氏名カナ,保管位置", goodRow, `600000002,1990-03-12,名"前,,`), "import.csv_syntax"},
		{"too many rows", manyRows(maxRows + 1), "import.too_many_rows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := tenanttest.MustCreateTenant(t, d.App)
			if _, err := svc.ImportCards(ctx, tn, bytes.NewReader(csvLines("製造管理番号,生年月日,氏名,氏名カナ,保管位置",
				"600000001,1980-01-01,前の名前,,A-1")), nil); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, d.App, tn)
			res, err := svc.ImportCards(ctx, tn, bytes.NewReader(tc.data), nil)
			if e := tenant.AsError(err); e == nil || e.Code != tenant.Invalid || !strings.HasPrefix(e.Key, "import.") ||
				(tc.key != "" && e.Key != tc.key) || e.Err == nil {
				t.Fatalf("ImportCards(%s) = %+v, %v; want an invalid error with key %q and a message", tc.name, res, err, tc.key)
			}
			if after := snapshot(t, d.App, tn); !reflect.DeepEqual(before, after) {
				t.Errorf("ImportCards(%s) refused the file but changed the tenant's data:\nbefore %v\nafter  %v", tc.name, before, after)
			}
		})
	}
	t.Run("a file of exactly the row limit is accepted", func(t *testing.T) {
		tn := tenanttest.MustCreateTenant(t, d.App)
		res, err := svc.ImportCards(ctx, tn, bytes.NewReader(manyRows(maxRows)), nil)
		if want := (booking.ImportResult{Inserted: maxRows}); err != nil || !sameResult(res, want) {
			t.Errorf("ImportCards(%d rows) = %+v, %v; want %+v", maxRows, res, err, want)
		}
		_, err = svc.ImportCards(ctx, tn, bytes.NewReader(manyRows(maxRows+1)), nil)
		if e := tenant.AsError(err); e == nil || e.Key != "import.too_many_rows" || e.Args["max"] != maxRows {
			t.Errorf("ImportCards(%d rows) = %v; want import.too_many_rows naming the limit %d", maxRows+1, err, maxRows)
		}
	})
	t.Run("a line of exactly 64 KiB is accepted", func(t *testing.T) {
		tn := tenanttest.MustCreateTenant(t, d.App)
		row := "600000001,1990-03-12,,,"
		data := csvLines("製造管理番号,生年月日,氏名,氏名カナ,保管位置", row+strings.Repeat(",", booking.ImportMaxLineBytes-len(row)))
		res, err := svc.ImportCards(ctx, tn, bytes.NewReader(data), nil)
		if want := (booking.ImportResult{Inserted: 1}); err != nil || !sameResult(res, want) {
			t.Errorf("ImportCards(64 KiB line) = %+v, %v; want %+v", res, err, want)
		}
	})
}

// TestImportCardsAllOrNothing cancels the import once rows were staged and expects nothing to
// remain; then checks the progress calls of a whole import.
func TestImportCardsAllOrNothing(t *testing.T) {
	d := tenanttest.NewDB(t)
	svc := bookingtest.Service(d.App, nil)
	tn := tenanttest.MustCreateTenant(t, d.App)
	lines := []string{"製造管理番号,生年月日"}
	for i := range 10000 {
		lines = append(lines, fmt.Sprintf("7%08d,1990-03-12", i))
	}
	data := csvLines(lines...)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := svc.ImportCards(ctx, tn, bytes.NewReader(data), func(done int) {
		cancel() // staging goes on no further: nothing may be written
	})
	if err == nil {
		t.Fatalf("ImportCards(cancelled while staging) = %+v, nil; want an error", res)
	}
	if s := snapshot(t, d.App, tn); len(s) != 0 {
		t.Fatalf("a failed import left %d rows, want 0", len(s))
	}

	var calls []int
	res, err = svc.ImportCards(context.Background(), tn, bytes.NewReader(data), func(done int) {
		calls = append(calls, done)
	})
	if want := (booking.ImportResult{Inserted: 10000}); err != nil || !sameResult(res, want) {
		t.Fatalf("ImportCards(10000 rows) = %+v, %v; want %+v", res, err, want)
	}
	if len(calls) < 2 || calls[len(calls)-1] != 10000 || !sort.IntsAreSorted(calls) {
		t.Errorf("progress calls = %v, want increasing, ending at 10000", calls)
	}
	if n := historyCount(t, d.App, tn); n != 10000 {
		t.Errorf("import history rows = %d, want 10000", n)
	}
}

// TestImportCardsTenantIsolation imports the same card numbers into two tenants: they are
// separate cards, and importing into one leaves the other as it was.
func TestImportCardsTenantIsolation(t *testing.T) {
	d := tenanttest.NewDB(t)
	svc := bookingtest.Service(d.App, nil)
	ctx := context.Background()
	a, b := tenanttest.MustCreateTenant(t, d.App), tenanttest.MustCreateTenant(t, d.App)
	fileB := csvLines("製造管理番号,生年月日,氏名,保管位置", "800000001,1990-03-12,B市 一,B-1", "800000002,1990-03-12,B市 二,B-2")
	if res, err := svc.ImportCards(ctx, b, bytes.NewReader(fileB), nil); err != nil || res.Inserted != 2 {
		t.Fatalf("ImportCards(B) = %+v, %v; want 2 inserted", res, err)
	}
	beforeB := snapshot(t, d.App, b)
	fileA := csvLines("製造管理番号,生年月日,氏名,保管位置", "800000001,1991-04-01,A市 一,A-1", "800000002,1990-03-12,B市 二,B-2",
		"800000003,1990-03-12,A市 三,A-3")
	for i, want := range []booking.ImportResult{{Inserted: 3}, {Unchanged: 3}} {
		res, err := svc.ImportCards(ctx, a, bytes.NewReader(fileA), nil)
		if err != nil || !sameResult(res, want) {
			t.Fatalf("ImportCards(A) #%d = %+v, %v; want %+v", i+1, res, err, want)
		}
	}
	if afterB := snapshot(t, d.App, b); !reflect.DeepEqual(beforeB, afterB) {
		t.Errorf("importing into A changed B:\nbefore %v\nafter  %v", beforeB, afterB)
	}
	ca, cb := cardsOf(t, d.App, a), cardsOf(t, d.App, b)
	if len(ca) != 3 || len(cb) != 2 {
		t.Fatalf("A has %d cards, B has %d; want 3 and 2", len(ca), len(cb))
	}
	if ca["800000002"].ID == cb["800000002"].ID || bytes.Equal(ca["800000002"].BirthHMAC, cb["800000002"].BirthHMAC) {
		t.Error("the same number and birthday in two tenants share an ID or an HMAC")
	}
	if *cb["800000001"].Name != "B市 一" {
		t.Errorf("B's card 800000001 name = %q, want B市 一", *cb["800000001"].Name)
	}
}

func TestParseCardCSV(t *testing.T) {
	tenPattern := &tenant.Tenant{Settings: tenant.Settings{CardNumberPattern: `^[0-9]{5}[A-Z]{5}$`}}
	twelve := &tenant.Tenant{Settings: tenant.Settings{CardNumberPattern: `^[0-9]{12}$`}}
	lower := &tenant.Tenant{Settings: tenant.Settings{CardNumberPattern: `^[0-9a-z]{9}$`}}
	tests := []struct {
		name     string
		t        *tenant.Tenant
		data     string
		want     []booking.CardInput
		rejected []booking.RowError
	}{
		{name: "header with BOM, spaces and any column order", data: "\uFEFF 保管位置 ,\t生年月日\t,氏名カナ, 製造管理番号 ,氏名\n棚 1 ,1990/3/12, カナ ,100000001, 名前 \n",
			want: []booking.CardInput{{CardNo: "100000001", Birth: "0312", Name: "名前", NameKana: "カナ", StoragePos: "棚 1"}}},
		{name: "date forms", data: "製造管理番号,生年月日\n100000001,1990-03-12\n100000002,19900312\n100000003,1990/03/12\n100000004,1990.3.1\n100000005,２０００／１２／３１\n",
			want: []booking.CardInput{{CardNo: "100000001", Birth: "0312"}, {CardNo: "100000002", Birth: "0312"},
				{CardNo: "100000003", Birth: "0312"}, {CardNo: "100000004", Birth: "0301"}, {CardNo: "100000005", Birth: "1231"}}},
		{name: "tenant pattern", t: tenPattern, data: "製造管理番号,生年月日\n12345abcde,1990-03-12\n123456789,1990-03-12\n",
			want:     []booking.CardInput{{CardNo: "12345ABCDE", Birth: "0312"}},
			rejected: []booking.RowError{{Line: 3, Reason: "製造管理番号の形式が正しくありません"}}},
		{name: "a pattern cannot let a 個人番号 in", t: twelve, data: "製造管理番号,生年月日\n123456789019,1990-03-12\n",
			rejected: []booking.RowError{{Line: 2, Reason: "製造管理番号の列に12桁の数字があります（個人番号は取り込めません）"}}},
		{name: "numbers are upper-cased before the pattern", t: lower, data: "製造管理番号,生年月日\n12345678a,1990-03-12\n",
			rejected: []booking.RowError{{Line: 2, Reason: "製造管理番号の形式が正しくありません"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rejected, err := booking.ParseCardCSV(strings.NewReader(tc.data), tc.t)
			if err != nil || !reflect.DeepEqual(got, tc.want) || !reflect.DeepEqual(rejected, tc.rejected) {
				t.Errorf("ParseCardCSV(%q) = %+v, %+v, %v;\nwant %+v, %+v", tc.data, got, rejected, err, tc.want, tc.rejected)
			}
		})
	}
	if _, _, err := booking.ParseCardCSV(iotestErrReader{}, nil); err == nil || !errors.Is(err, errBroken) {
		t.Errorf("ParseCardCSV(failing reader) err = %v, want the read error", err)
	}
}

var errBroken = errors.New("disk on fire")

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errBroken }

// BenchmarkImportCards imports 100,000 new cards (run with -bench ImportCards -benchtime 1x).
func BenchmarkImportCards(b *testing.B) {
	d := tenanttest.NewDB(b)
	svc := bookingtest.Service(d.App, nil)
	const rows = 100_000
	var buf bytes.Buffer
	buf.WriteString("個人番号,製造管理番号,氏名,氏名カナ,生年月日,保管位置\n")
	for i := range rows {
		fmt.Fprintf(&buf, "%012d,%09d,松阪 太郎%d,マツサカ タロウ,1990-%02d-%02d,棚%03d\n", 0, i, i, i%12+1, i%28+1, i%1000)
	}
	data := buf.Bytes()
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		tn := tenanttest.MustCreateTenant(b, d.App)
		b.StartTimer()
		res, err := svc.ImportCards(ctx, tn, bytes.NewReader(data), nil)
		if err != nil || res.Inserted != rows {
			b.Fatalf("ImportCards(%d rows) = %+v, %v", rows, res, err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
