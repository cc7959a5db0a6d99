package booking_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

var importAdmin = tenant.Staff(uuid.Nil, "imp.admin", "192.0.2.7")

// TestPreviewImportCounts checks the diff summary against existing cards and that a preview
// writes nothing.
func TestPreviewImportCounts(t *testing.T) {
	d := tenanttest.NewDB(t)
	svc := bookingtest.Service(d.App, nil)
	tn := tenanttest.MustCreateTenant(t, d.App)
	ctx := context.Background()
	if _, err := svc.ImportCards(ctx, tn, bytes.NewReader(csvLines("製造管理番号,生年月日,氏名",
		"700000001,1990-03-12,津 一", "700000002,1990-03-12,津 二")), nil); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, d.App, tn)
	file := csvLines("製造管理番号,生年月日,氏名",
		"700000001,1990-03-12,津 一", // unchanged
		"700000002,1990-03-13,津 二", // changed birth date
		"700000003,1990-03-12,津 三", // new
		"700000004,1990-13-12,津 四", // bad date
		"12345,1990-03-12,津 五",     // bad number
	)
	res, err := svc.PreviewImport(ctx, tn, booking.DefaultImportProfile(), bytes.NewReader(file), nil)
	if err != nil || res.Inserted != 1 || res.Updated != 1 || res.Unchanged != 1 || len(res.Rejected) != 2 {
		t.Fatalf("PreviewImport = %+v, %v; want 1 new, 1 changed, 1 unchanged, 2 rejected", res, err)
	}
	if res.Rejected[0].Line != 5 || !strings.Contains(res.Rejected[0].Reason, "生年月日") {
		t.Errorf("first rejected row = %+v, want line 5 about 生年月日", res.Rejected[0])
	}
	if after := snapshot(t, d.App, tn); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("PreviewImport wrote to the database")
	}
	got, err := svc.CommitImport(ctx, tn, booking.DefaultImportProfile(), bytes.NewReader(file), nil, nil)
	if err != nil || got.Inserted != 1 || got.Updated != 1 || got.Unchanged != 1 || len(got.Rejected) != 2 {
		t.Fatalf("CommitImport = %+v, %v; want the preview's counts", got, err)
	}
	snap := snapshot(t, d.App, tn)
	again, err := svc.CommitImport(ctx, tn, booking.DefaultImportProfile(), bytes.NewReader(file), nil, nil)
	if err != nil || again.Inserted != 0 || again.Updated != 0 || again.Unchanged != 3 {
		t.Fatalf("second CommitImport = %+v, %v; want 3 unchanged", again, err)
	}
	if after := snapshot(t, d.App, tn); strings.Join(after, "\n") != strings.Join(snap, "\n") {
		t.Fatalf("re-importing the same file changed the database")
	}
}

// TestImportProfileHonoured reads a file whose columns the city's profile names, drops the
// others (a 個人番号 column among them) and refuses a file with our default names.
func TestImportProfileHonoured(t *testing.T) {
	d := tenanttest.NewDB(t)
	svc := bookingtest.Service(d.App, nil)
	tn := tenanttest.MustCreateTenant(t, d.App)
	ctx := context.Background()
	prof := booking.ImportProfile{CardNo: "カード管理番号", Birth: "生年月日（西暦）", Name: "漢字氏名", NameKana: "カナ氏名", StoragePos: "箱番号"}
	if err := svc.SaveImportProfile(ctx, tn.ID, prof, importAdmin); err != nil {
		t.Fatal(err)
	}
	bad := prof
	bad.Name = prof.CardNo
	if err := svc.SaveImportProfile(ctx, tn.ID, bad, importAdmin); tenant.AsError(err) == nil || tenant.AsError(err).Fields["col_name"] != "import.profile.duplicate" {
		t.Fatalf("SaveImportProfile(two fields, one column) = %v, want a field error on col_name", err)
	}
	file := csvLines("個人番号,カード管理番号,漢字氏名,カナ氏名,生年月日（西暦）,箱番号",
		"123456789019,710000001,松阪 太郎,マツサカ タロウ,1990-03-12,B-1")
	res, err := svc.ImportCards(ctx, tn, bytes.NewReader(file), nil)
	if err != nil || res.Inserted != 1 {
		t.Fatalf("ImportCards(profile columns) = %+v, %v; want 1 new", res, err)
	}
	c := cardsOf(t, d.App, tn)["710000001"]
	if c.Name == nil || *c.Name != "松阪 太郎" || c.StoragePos != "B-1" {
		t.Errorf("card = %+v, want the name and box of the mapped columns", c)
	}
	_, err = svc.ImportCards(ctx, tn, bytes.NewReader(csvLines("製造管理番号,生年月日", "710000002,1990-03-12")), nil)
	if e := tenant.AsError(err); e == nil || e.Key != "import.header_missing" || !strings.Contains(e.Err.Error(), "カード管理番号") {
		t.Fatalf("ImportCards(default names under a profile) = %v, want header_missing naming カード管理番号", err)
	}
	got, err := svc.ImportProfile(ctx, tn.ID)
	if err != nil || got.CardNo != "カード管理番号" || got.UpdatedBy != "imp.admin" {
		t.Fatalf("ImportProfile = %+v, %v", got, err)
	}
}

// TestImportLinksReservations: a booked card whose status is still notice_sent becomes reserved
// when the file names it, with a history row; a second import links nothing.
func TestImportLinksReservations(t *testing.T) {
	d := tenanttest.NewDB(t)
	svc := bookingtest.Service(d.App, nil)
	tn := tenanttest.MustCreateTenant(t, d.App)
	ctx := context.Background()
	loc := bookingtest.MustLocation(t, svc, tn, "本庁", 3)
	card := bookingtest.MustCard(t, svc, tn, "0312")
	slot := bookingtest.FirstSlot(t, svc, tn, loc, svc.Now())
	if _, err := svc.HoldSlot(ctx, tn, slot.ID, 1, uuid.Nil, tenant.Citizen("")); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Reserve(ctx, tn, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{card.ID}, Actor: tenant.Citizen("")}); err != nil {
		t.Fatal(err)
	}
	// The status as a city's older data would leave it: booked, but still notice_sent.
	if err := tenant.InTx(ctx, d.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE cards SET status = 'notice_sent' WHERE id = ?", card.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	file := csvLines("製造管理番号,生年月日", card.CardNo+",1990-03-12", "720000001,1990-03-12")
	res, err := svc.ImportCards(ctx, tn, bytes.NewReader(file), nil)
	if err != nil || res.Linked != 1 || res.Inserted != 1 {
		t.Fatalf("ImportCards = %+v, %v; want 1 new and 1 linked", res, err)
	}
	if got := cardsOf(t, d.App, tn)[card.CardNo].Status; got != booking.CardReserved {
		t.Errorf("booked card is %s after the import, want reserved", got)
	}
	var n int
	if err := tenant.InTx(ctx, d.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT count(*) FROM card_status_history WHERE card_id = ? AND channel = 'import'
			AND from_status = 'notice_sent' AND to_status = 'reserved'`, card.ID).Scan(ctx, &n)
	}); err != nil || n != 1 {
		t.Fatalf("link history rows = %d, %v; want 1", n, err)
	}
	res, err = svc.ImportCards(ctx, tn, bytes.NewReader(file), nil)
	if err != nil || res.Linked != 0 || res.Inserted != 0 || res.Updated != 0 {
		t.Fatalf("second ImportCards = %+v, %v; want nothing to do", res, err)
	}
}

// TestImportStagingRLS: inside tenant A's scope the staged rows cannot reach B's cards, and an
// import of A with B's card numbers leaves B untouched.
func TestImportStagingRLS(t *testing.T) {
	d := tenanttest.NewDB(t)
	svc := bookingtest.Service(d.App, nil)
	ctx := context.Background()
	a := tenanttest.MustCreateTenant(t, d.App)
	b := tenanttest.MustCreateTenant(t, d.App)
	file := csvLines("製造管理番号,生年月日,氏名", "730000001,1990-03-12,B の人")
	if _, err := svc.ImportCards(ctx, b, bytes.NewReader(file), nil); err != nil {
		t.Fatal(err)
	}
	snapB := snapshot(t, d.App, b)
	res, err := svc.ImportCards(ctx, a, bytes.NewReader(csvLines("製造管理番号,生年月日,氏名", "730000001,1990-04-01,A の人")), nil)
	if err != nil || res.Inserted != 1 {
		t.Fatalf("ImportCards(A, B's number) = %+v, %v; want 1 new for A", res, err)
	}
	if got := snapshot(t, d.App, b); strings.Join(got, "\n") != strings.Join(snapB, "\n") {
		t.Fatal("A's import changed B's cards")
	}
	err = tenant.InPgxTx(ctx, d.App, a.ID, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "CREATE TEMP TABLE import_stage (card_no text) ON COMMIT DROP"); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_stage"}, []string{"card_no"}, pgx.CopyFromRows([][]any{{"730000009"}})); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO cards (tenant_id, card_no, birth_hmac) SELECT $1, card_no, sha256('x') FROM import_stage`, b.ID)
		return err
	})
	if tenant.ErrorCode(err) != tenant.Forbidden {
		t.Fatalf("staged insert of B's card under A's scope = %v, want forbidden", err)
	}
	var n int
	err = tenant.InPgxTx(ctx, d.App, a.ID, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE cards SET name = 'x' WHERE tenant_id = $1", b.ID)
		n = int(tag.RowsAffected())
		return err
	})
	if err != nil || n != 0 {
		t.Fatalf("update of B's cards under A's scope = %d rows, %v; want 0", n, err)
	}
}

// TestImportJobLifecycle walks a job through its states as the web and the worker drive it,
// including a double commit, a repeated task, and a malformed file.
func TestImportJobLifecycle(t *testing.T) {
	d := tenanttest.NewDB(t)
	svc := bookingtest.Service(d.App, nil)
	tn := tenanttest.MustCreateTenant(t, d.App)
	other := tenanttest.MustCreateTenant(t, d.App)
	ctx := context.Background()
	file := sjis(t, string(csvLines("個人番号,製造管理番号,生年月日,氏名",
		"123456789019,740000001,1990-03-12,髙橋 一郎",
		"987654321094,740000002,1990-02-30,松阪 花子",
		"111122223334,740000003,1990-03-12,松阪 次郎")))
	j, err := svc.CreateImportJob(ctx, tn.ID, importAdmin, `C:\Users\市役所\対象者.csv`, file)
	if err != nil || j.State != booking.ImportUploaded || j.FileName != "対象者.csv" || j.ProgressTotal != 3 {
		t.Fatalf("CreateImportJob = %+v, %v", j, err)
	}
	if _, err := svc.ImportJob(ctx, other.ID, j.ID); tenant.ErrorCode(err) != tenant.NotFound {
		t.Fatalf("ImportJob(other tenant) = %v, want not_found", err)
	}
	if err := svc.RequestImportCommit(ctx, tn.ID, j.ID, importAdmin); tenant.ErrorCode(err) != tenant.Conflict {
		t.Fatalf("commit before validation = %v, want conflict", err)
	}
	if err := svc.RunImportValidate(ctx, tn, j.ID); err != nil {
		t.Fatal(err)
	}
	j = mustJob(t, svc, tn, j.ID)
	if j.State != booking.ImportValidated || j.New != 2 || j.Rejected != 1 || len(j.RowErrors) != 1 || j.RowErrors[0].Line != 3 {
		t.Fatalf("after validation: %+v", j)
	}
	if len(cardsOf(t, d.App, tn)) != 0 {
		t.Fatal("validation wrote cards")
	}
	if err := svc.RunImportValidate(ctx, tn, j.ID); err != nil || mustJob(t, svc, tn, j.ID).State != booking.ImportValidated {
		t.Fatalf("repeated validate task = %v, want a no-op", err)
	}
	if err := svc.RequestImportCommit(ctx, tn.ID, j.ID, importAdmin); err != nil {
		t.Fatal(err)
	}
	if err := svc.RequestImportCommit(ctx, tn.ID, j.ID, importAdmin); tenant.ErrorCode(err) != tenant.Conflict {
		t.Fatalf("second commit = %v, want conflict", err)
	}
	if err := svc.RunImportCommit(ctx, tn, j.ID); err != nil {
		t.Fatal(err)
	}
	j = mustJob(t, svc, tn, j.ID)
	if j.State != booking.ImportDone || j.New != 2 || j.Rejected != 1 || j.FinishedAt.IsZero() || j.Percent() != 100 {
		t.Fatalf("after commit: %+v", j)
	}
	snap := snapshot(t, d.App, tn)
	if err := svc.RunImportCommit(ctx, tn, j.ID); err != nil {
		t.Fatalf("repeated commit task = %v, want a no-op", err)
	}
	if got := snapshot(t, d.App, tn); len(got) != len(snap) || len(snap) != 4 {
		t.Fatalf("cards+history rows = %d then %d, want 4 both times", len(snap), len(got))
	}
	if err := svc.CancelImport(ctx, tn.ID, j.ID, importAdmin); tenant.ErrorCode(err) != tenant.Conflict {
		t.Fatalf("cancel of a done import = %v, want conflict", err)
	}
	assertNoFileBytes(t, d, tn, j.ID)
	assertNoMyNumber(t, d, tn, "123456789019", "987654321094", "111122223334")

	// A malformed file: the job fails with the reason in Japanese; nothing is written.
	bad, err := svc.CreateImportJob(ctx, tn.ID, importAdmin, "bad.csv", append(sjis(t, "製造管理番号,生年月日\n740000009,1990-03-12\n"), 0x81, 0x20, '\n'))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.RunImportValidate(ctx, tn, bad.ID); err != nil {
		t.Fatal(err)
	}
	bad = mustJob(t, svc, tn, bad.ID)
	if bad.State != booking.ImportFailed || !strings.Contains(bad.ErrorMessage, "文字コード") {
		t.Fatalf("malformed file job = %+v, want failed with a Japanese reason", bad)
	}
	assertNoFileBytes(t, d, tn, bad.ID)

	// Cancel, and the upload limits.
	c, err := svc.CreateImportJob(ctx, tn.ID, importAdmin, "x.csv", file)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.CancelImport(ctx, tn.ID, c.ID, importAdmin); err != nil {
		t.Fatal(err)
	}
	if err := svc.RunImportValidate(ctx, tn, c.ID); err != nil || mustJob(t, svc, tn, c.ID).State != booking.ImportCancelled {
		t.Fatalf("validate task of a cancelled job = %v, want a no-op", err)
	}
	for _, data := range [][]byte{nil, make([]byte, booking.ImportMaxFileBytes+1)} {
		if _, err := svc.CreateImportJob(ctx, tn.ID, importAdmin, "x.csv", data); tenant.AsError(err) == nil || tenant.AsError(err).Fields["file"] == "" {
			t.Errorf("CreateImportJob(%d bytes) = %v, want a field error on file", len(data), err)
		}
	}
	js, err := svc.ImportJobs(ctx, tn.ID, 10)
	if err != nil || len(js) != 3 {
		t.Fatalf("ImportJobs = %d, %v; want 3", len(js), err)
	}
}

func mustJob(t *testing.T, svc *booking.Service, tn *tenant.Tenant, id uuid.UUID) *booking.ImportJob {
	t.Helper()
	j, err := svc.ImportJob(context.Background(), tn.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func assertNoFileBytes(t *testing.T, d *tenanttest.DB, tn *tenant.Tenant, id uuid.UUID) {
	t.Helper()
	var null bool
	err := tenant.InTx(context.Background(), d.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT file_bytes IS NULL FROM import_jobs WHERE id = ?", id).Scan(ctx, &null)
	})
	if err != nil || !null {
		t.Fatalf("file bytes of %s kept (%v)", id, err)
	}
}

// assertNoMyNumber searches every text and JSON column of the tenant's rows in every table for
// the given 個人番号.
func assertNoMyNumber(t *testing.T, d *tenanttest.DB, tn *tenant.Tenant, numbers ...string) {
	t.Helper()
	var tables []string
	if err := d.Owner.NewRaw(`SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'`).Scan(context.Background(), &tables); err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		var dump string
		q := fmt.Sprintf("SELECT coalesce(string_agg(row_to_json(x)::text, ''), '') FROM %s x WHERE tenant_id = ?", pgx.Identifier{table}.Sanitize())
		if err := tenant.InTx(context.Background(), d.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewRaw(q, tn.ID).Scan(ctx, &dump)
		}); err != nil {
			t.Fatal(err)
		}
		for _, n := range numbers {
			if strings.Contains(dump, n) {
				t.Errorf("table %s holds the 個人番号 %s", table, n)
			}
		}
	}
}

// TestImportIDsInFileOrder checks that imported cards and their history rows get time-ordered
// ids (UUIDv7) in file order, on a city's first import and on a later one with known and new
// numbers, so a big file appends to the primary keys instead of writing random index pages;
// and that each new card has exactly one import history row pointing at it.
func TestImportIDsInFileOrder(t *testing.T) {
	d := tenanttest.NewDB(t)
	svc := bookingtest.Service(d.App, nil)
	tn := tenanttest.MustCreateTenant(t, d.App)
	ctx := context.Background()
	// Numbers out of order, so the file's order is not the numbers' order.
	first := []string{"製造管理番号,生年月日"}
	var order []string
	for i := range 40 {
		no := fmt.Sprintf("7%08d", (i*17)%40)
		order = append(order, no)
		first = append(first, no+",1990-03-12")
	}
	if _, err := svc.ImportCards(ctx, tn, bytes.NewReader(csvLines(first...)), nil); err != nil {
		t.Fatal(err)
	}
	second := []string{"製造管理番号,生年月日", order[0] + ",1990-03-13"} // known, changed
	for i := range 10 {
		no := fmt.Sprintf("8%08d", 9-i)
		order = append(order, no)
		second = append(second, no+",1990-03-12")
	}
	if _, err := svc.ImportCards(ctx, tn, bytes.NewReader(csvLines(second...)), nil); err != nil {
		t.Fatal(err)
	}
	type row struct {
		CardNo string
		ID     uuid.UUID
		HistID uuid.UUID
	}
	var rows []row
	err := tenant.InTx(ctx, d.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT c.card_no, c.id, h.id AS hist_id FROM cards c
			JOIN card_status_history h ON h.card_id = c.id AND h.channel = 'import' AND h.to_status = 'imported'
			ORDER BY c.id`).Scan(ctx, &rows)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(order) {
		t.Fatalf("%d cards with an import history row, want %d", len(rows), len(order))
	}
	for i, r := range rows {
		if r.CardNo != order[i] || r.ID.Version() != 7 || r.HistID.Version() != 7 {
			t.Fatalf("card %d by id = %s (id v%d, history id v%d), want %s with UUIDv7 ids in file order",
				i, r.CardNo, r.ID.Version(), r.HistID.Version(), order[i])
		}
		if i > 0 && r.HistID.String() <= rows[i-1].HistID.String() {
			t.Fatalf("history ids not in file order at card %s", r.CardNo)
		}
	}
}
