package booking_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/text/encoding/japanese"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

func mustAddCards(t testing.TB, svc *booking.Service, tn *tenant.Tenant, nos ...string) []*booking.Card {
	t.Helper()
	var out []*booking.Card
	for _, no := range nos {
		c, err := svc.AddCard(context.Background(), tn, booking.CardInput{CardNo: no, Birth: "0312", Name: "松阪 花子", NameKana: "マツサカ ハナコ", StoragePos: "=A-" + no[6:]})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func TestExportAndPrintCards(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	f := newFixture(t, d, 3)
	other := newFixture(t, d, 3)
	cards := mustAddCards(t, f.svc, f.t, "700000001", "700000002", "710000003")
	mustAddCards(t, other.svc, other.t, "700000009")
	if err := f.svc.ChangeCardStatus(ctx, f.t, []uuid.UUID{cards[0].ID, cards[2].ID}, booking.CardNoticeSent, clerk); err != nil {
		t.Fatal(err)
	}

	// UTF-8 with a BOM, the screen's filter, formula-looking fields escaped, no other city's card.
	var buf bytes.Buffer
	res, err := f.svc.ExportCards(ctx, f.t, booking.CardFilter{No: "７０", Status: booking.CardNoticeSent}, booking.EncodingUTF8, &buf, nil, clerk)
	if err != nil {
		t.Fatal(err)
	}
	want := "\ufeff\"製造管理番号\",\"状態\",\"状態の変更日\",\"保管位置\",\"氏名\",\"氏名（カナ）\"\r\n\"700000001\",\"通知書送付済\",\"" +
		booking.DateOf(f.clock.Now()).String() + "\",\"'=A-001\",\"松阪 花子\",\"マツサカ ハナコ\"\r\n"
	if buf.String() != want || res.Rows != 1 {
		t.Errorf("ExportCards(70, notice_sent) = %d rows\n%q\nwant\n%q", res.Rows, buf.String(), want)
	}
	// CP932: the same words, encoded.
	buf.Reset()
	if _, err := f.svc.ExportCards(ctx, f.t, booking.CardFilter{}, booking.EncodingSJIS, &buf, nil, clerk); err != nil {
		t.Fatal(err)
	}
	text, err := japanese.ShiftJIS.NewDecoder().String(buf.String())
	if err != nil || strings.Count(text, "\r\n") != 4 || !strings.Contains(text, `"700000002","取込済（通知前）"`) || strings.Contains(text, "700000009") {
		t.Errorf("ExportCards(all, sjis) = %q, %v", text, err)
	}
	rows := auditRows(t, d.App, f.t, "card.export")
	if len(rows) != 2 || !strings.Contains(rows[0].After, `"q": "70"`) || !strings.Contains(rows[0].After, `"rows": 1`) || !strings.Contains(rows[0].After, `"result": "complete"`) {
		t.Errorf("card.export audit rows = %+v", rows)
	}

	// Bad input: invalid, nothing written or logged.
	for _, bad := range []struct {
		f   booking.CardFilter
		enc booking.Encoding
	}{{booking.CardFilter{No: "1234-5678-9012"}, booking.EncodingUTF8}, {booking.CardFilter{Status: "lost"}, booking.EncodingUTF8},
		{booking.CardFilter{No: "70%"}, booking.EncodingUTF8}, {booking.CardFilter{}, "latin1"}} {
		buf.Reset()
		if _, err := f.svc.ExportCards(ctx, f.t, bad.f, bad.enc, &buf, nil, clerk); tenant.ErrorCode(err) != tenant.Invalid || buf.Len() != 0 {
			t.Errorf("ExportCards(%+v, %q) = %v with %d bytes, want invalid and nothing", bad.f, bad.enc, err, buf.Len())
		}
	}
	if n := len(auditRows(t, d.App, f.t, "card.export")); n != 2 {
		t.Errorf("refused exports were logged: %d rows", n)
	}

	p, err := f.svc.PrintCards(ctx, f.t, booking.CardFilter{Status: booking.CardNoticeSent}, clerk)
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 2 || len(p.Cards) != 2 || p.Cards[0].CardNo != "700000001" || p.Cards[1].CardNo != "710000003" || p.Truncated() {
		t.Errorf("PrintCards(notice_sent) = %+v", p)
	}
	if rows := auditRows(t, d.App, f.t, "card.print"); len(rows) != 1 || !strings.Contains(rows[0].After, `"total": 2`) {
		t.Errorf("card.print audit rows = %+v", rows)
	}
}

func TestChangeCardStatusByFilter(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	f := newFixture(t, d, 3)
	other := newFixture(t, d, 3)
	cards := mustAddCards(t, f.svc, f.t, "800000001", "800000002", "810000003", "810000004")
	foreign := mustAddCards(t, other.svc, other.t, "800000009")[0]
	status := func(c *booking.Card) booking.CardStatus {
		t.Helper()
		got, err := f.svc.CardByID(ctx, c.TenantID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Status
	}
	imported := booking.CardFilter{No: "80", Status: booking.CardImported}

	n, err := f.svc.CountCardsForChange(ctx, f.t, imported, booking.CardNoticeSent)
	if err != nil || n != 2 {
		t.Fatalf("CountCardsForChange(80, imported → notice_sent) = %d, %v; want 2", n, err)
	}
	for _, bad := range []struct {
		name string
		f    booking.CardFilter
		to   booking.CardStatus
		code tenant.Code
		key  string
	}{
		{"no status", booking.CardFilter{No: "80"}, booking.CardNoticeSent, tenant.Invalid, "cards.filter.status_required"},
		{"unknown target", imported, "lost", tenant.Invalid, "cards.refused.no_status"},
		{"my number", booking.CardFilter{No: "123456789012", Status: booking.CardImported}, booking.CardNoticeSent, tenant.Invalid, "login.card_no.my_number"},
		{"reserved by hand", imported, booking.CardReserved, tenant.Conflict, "cards.filter.refused"},
		{"not a step", imported, booking.CardIssued, tenant.Conflict, "cards.filter.refused"},
		{"same", imported, booking.CardImported, tenant.Conflict, "cards.filter.refused"},
	} {
		_, err := f.svc.ChangeCardStatusByFilter(ctx, f.t, bad.f, bad.to, 2, clerk)
		e := tenant.AsError(err)
		if e == nil || e.Code != bad.code || (e.Key != bad.key && e.Fields["q"] != bad.key && e.Fields["status"] != bad.key && e.Fields["to"] != bad.key) {
			t.Errorf("%s: ChangeCardStatusByFilter = %v (%+v), want %s %s", bad.name, err, e, bad.code, bad.key)
		}
	}
	// The count the clerk confirmed no longer holds (a card moved meanwhile): nothing changes.
	if _, err := f.svc.ChangeCardStatusByFilter(ctx, f.t, imported, booking.CardNoticeSent, 3, clerk); tenant.ErrorCode(err) != tenant.Conflict {
		t.Fatalf("ChangeCardStatusByFilter(expect 3 of 2) = %v, want conflict", err)
	}
	for _, c := range cards {
		if status(c) != booking.CardImported || historyLen(t, d.App, f.t, c.ID) != 1 {
			t.Fatalf("card %s changed by a refused change", c.CardNo)
		}
	}
	if rows := auditRows(t, d.App, f.t, "card.status.filter"); len(rows) != 0 {
		t.Fatalf("refused changes were logged: %+v", rows)
	}

	n, err = f.svc.ChangeCardStatusByFilter(ctx, f.t, imported, booking.CardNoticeSent, 2, clerk)
	if err != nil || n != 2 {
		t.Fatalf("ChangeCardStatusByFilter = %d, %v; want 2", n, err)
	}
	for i, want := range []booking.CardStatus{booking.CardNoticeSent, booking.CardNoticeSent, booking.CardImported, booking.CardImported} {
		if got := status(cards[i]); got != want {
			t.Errorf("card %s is %s, want %s", cards[i].CardNo, got, want)
		}
	}
	rec, err := f.svc.CardRecord(ctx, f.t, cards[0].ID, clerk)
	if err != nil {
		t.Fatal(err)
	}
	if h := rec.History[len(rec.History)-1]; len(rec.History) != 2 || h.From != booking.CardImported || h.To != booking.CardNoticeSent ||
		h.Channel != tenant.ChannelStaff || h.Actor != "clerk1" || !h.ChangedAt.Equal(f.clock.Now()) {
		t.Errorf("history = %+v", rec.History)
	}
	rows := auditRows(t, d.App, f.t, "card.status.filter")
	if len(rows) != 1 || rows[0].Actor != "clerk1" || rows[0].IP != "192.0.2.20" || !strings.Contains(rows[0].Before, `"imported"`) ||
		!strings.Contains(rows[0].After, `"count": 2`) || !strings.Contains(rows[0].After, `"q": "80"`) {
		t.Errorf("card.status.filter audit rows = %+v", rows)
	}
	if got, _ := other.svc.CardByID(ctx, other.t.ID, foreign.ID); got.Status != booking.CardImported {
		t.Errorf("the other city's card became %s", got.Status)
	}
}

func TestAddCardByHand(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	f := newFixture(t, d, 3)
	mustAddCards(t, f.svc, f.t, "900000001")

	// The import's checks, the import's reasons, by column; nothing written.
	for _, bad := range []struct {
		row  booking.CardRow
		cols []string
	}{
		{booking.CardRow{}, []string{"製造管理番号", "生年月日"}},
		{booking.CardRow{CardNo: "1234-5678-9012", Birth: "1990-03-12"}, []string{"製造管理番号"}},
		{booking.CardRow{CardNo: "900000002", Birth: "1990-02-30"}, []string{"生年月日"}},
		{booking.CardRow{CardNo: "900000002", Birth: "19900312", Name: strings.Repeat("松", 101), StoragePos: "棚\n1"}, []string{"氏名", "保管位置"}},
		{booking.CardRow{CardNo: "900000002", Birth: "19900312", NameKana: "123456789012"}, []string{"氏名カナ"}},
	} {
		_, err := f.svc.AddCardByHand(ctx, f.t, bad.row, clerk)
		var re *booking.CardRowError
		if tenant.ErrorCode(err) != tenant.Invalid || !errors.As(err, &re) {
			t.Fatalf("AddCardByHand(%+v) = %v, want invalid with reasons", bad.row, err)
		}
		var cols []string
		for _, r := range re.Reasons {
			cols = append(cols, r.Column)
		}
		if !slices.Equal(cols, bad.cols) {
			t.Errorf("AddCardByHand(%+v) reasons %+v, want columns %v", bad.row, re.Reasons, bad.cols)
		}
		_, reasons := booking.CheckCardRow(f.t, bad.row)
		if !slices.Equal(reasons, re.Reasons) {
			t.Errorf("CheckCardRow and AddCardByHand disagree: %v vs %v", reasons, re.Reasons)
		}
	}
	if _, err := f.svc.AddCardByHand(ctx, f.t, booking.CardRow{CardNo: "９００-０００-００１", Birth: "1990/3/12"}, clerk); tenant.ErrorCode(err) != tenant.Conflict {
		t.Errorf("AddCardByHand(a known number) = %v, want conflict", err)
	}
	if rows := auditRows(t, d.App, f.t, "card.create"); len(rows) != 0 {
		t.Fatalf("refused entries were logged: %+v", rows)
	}

	c, err := f.svc.AddCardByHand(ctx, f.t, booking.CardRow{CardNo: "９００-０００-００２", Birth: "1990/3/12", Name: " 松阪 次郎 ", StoragePos: "棚C-2"}, clerk)
	if err != nil {
		t.Fatal(err)
	}
	if c.CardNo != "900000002" || c.Status != booking.CardImported || *c.Name != "松阪 次郎" || c.StoragePos != "棚C-2" {
		t.Errorf("AddCardByHand = %+v", c)
	}
	rec, err := f.svc.CardRecord(ctx, f.t, c.ID, clerk)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.History) != 1 || rec.History[0].Channel != tenant.ChannelStaff || rec.History[0].Actor != "clerk1" {
		t.Errorf("history = %+v", rec.History)
	}
	if rows := auditRows(t, d.App, f.t, "card.create"); len(rows) != 1 || rows[0].Target != booking.CardTarget(c.ID) {
		t.Errorf("card.create audit rows = %+v", rows)
	}
}
