package booking_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"golang.org/x/text/encoding/japanese"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

func TestCSVWriterUTF8(t *testing.T) {
	var buf bytes.Buffer
	w, err := booking.NewCSVWriter(&buf, "")
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]string{
		{"予約番号", "名前"},
		{"=1+2", `say "hi"`},
		{"+81", "-5"},
		{"@SUM(A1)", "\tTAB"},
		{"\rCR", "line1\r\nline2\nline3"},
		{"012345678", ""},
		{"a,b", "ok"},
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	b := buf.Bytes()
	if !bytes.HasPrefix(b, []byte("\xEF\xBB\xBF\"予約番号\",\"名前\"\r\n")) {
		t.Fatalf("start %q", b[:30])
	}
	if bytes.Count(b, []byte("\n")) != len(rows) || bytes.Count(b, []byte("\r\n")) != len(rows) {
		t.Errorf("want exactly one CRLF per row: %q", b)
	}
	got, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"予約番号", "名前"},
		{"'=1+2", `say "hi"`},
		{"'+81", "'-5"},
		{"'@SUM(A1)", "'\tTAB"},
		{"' CR", "line1 line2 line3"},
		{"012345678", ""},
		{"a,b", "ok"},
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i, got[i], want[i])
		}
	}
	if !bytes.Contains(b, []byte(`"say ""hi"""`)) {
		t.Error("inner quotes not doubled")
	}
	res := w.Result()
	if res.Bytes != int64(len(b)) || len(res.SHA256) != 64 || res.Replaced != 0 {
		t.Errorf("result %+v (len %d)", res, len(b))
	}
}

// TestCSVWriterNullableAndLineBreaks: for files a program reads back (the handover archive), a
// NULL is an unquoted empty field and an empty string a quoted one (as PostgreSQL's COPY … CSV
// reads them), and line breaks inside a field are kept; formula escaping stays.
func TestCSVWriterNullableAndLineBreaks(t *testing.T) {
	var buf bytes.Buffer
	w, err := booking.NewCSVWriter(&buf, booking.EncodingUTF8)
	if err != nil {
		t.Fatal(err)
	}
	w.PreserveLineBreaks()
	s := func(v string) *string { return &v }
	if err := w.WriteNullable([]*string{s("id"), s("body"), s("note")}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteNullable([]*string{s("1"), s("line1\nline2"), nil}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteNullable([]*string{nil, s(""), s("=cmd")}); err != nil {
		t.Fatal(err)
	}
	want := "\xEF\xBB\xBF\"id\",\"body\",\"note\"\r\n\"1\",\"line1\nline2\",\r\n,\"\",\"'=cmd\"\r\n"
	if got := buf.String(); got != want {
		t.Errorf("written %q, want %q", got, want)
	}
	if res := w.Result(); res.Bytes != int64(buf.Len()) {
		t.Errorf("Result().Bytes = %d, want %d", res.Bytes, buf.Len())
	}
}

func TestCSVWriterSJIS(t *testing.T) {
	var buf bytes.Buffer
	w, err := booking.NewCSVWriter(&buf, booking.EncodingSJIS)
	if err != nil {
		t.Fatal(err)
	}
	in := []string{"髙﨑①㈱ｱ", "〜−—‖¥‾", "吉野𠮷家", "😀x😀"}
	if err := w.Write(in); err != nil {
		t.Fatal(err)
	}
	if bytes.HasPrefix(buf.Bytes(), []byte{0xEF, 0xBB, 0xBF}) {
		t.Error("BOM in CP932")
	}
	dec, err := japanese.ShiftJIS.NewDecoder().Bytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got, err := csv.NewReader(bytes.NewReader(dec)).Read()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"髙﨑①㈱ｱ", "～－―∥￥￣", "吉野?家", "?x?"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("decoded %q, want %q", got, want)
	}
	if r := w.Result().Replaced; r != 3 {
		t.Errorf("replaced %d, want 3", r)
	}
	if _, err := booking.NewCSVWriter(&buf, "latin1"); tenant.ErrorCode(err) != tenant.Invalid {
		t.Errorf("unknown encoding: %v", err)
	}
}

func TestNaturalCompareAndClock(t *testing.T) {
	in := []string{"A-10", "A-2", "B-1", "A-02a", "A-1", "10", "9"}
	for i := 1; i < len(in); i++ {
		for j := i; j > 0 && booking.NaturalCompare(in[j], in[j-1]) < 0; j-- {
			in[j], in[j-1] = in[j-1], in[j]
		}
	}
	if got := strings.Join(in, " "); got != "9 10 A-1 A-2 A-02a A-10 B-1" {
		t.Errorf("natural order %s", got)
	}
	for s, want := range map[string]string{"10:00": "10:00", "1000": "10:00", "９：３０": "09:30", "930": "09:30", "10時": "10:00",
		"13時15分": "13:15", "9": "09:00", "25:00": "", "10:60": "", "ab": "", "": ""} {
		got, ok := booking.NormalizeClock(s)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeClock(%q) = %q, %v; want %q", s, got, ok, want)
		}
	}
}

// failAfter is a writer whose writes fail after n bytes, like a client that went away.
type failAfter struct {
	n int
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n < len(p) {
		return 0, errors.New("connection reset")
	}
	f.n -= len(p)
	return len(p), nil
}

func TestExportCSVChunksAndAudit(t *testing.T) {
	d := tenanttest.NewDB(t)
	f := newFixture(t, d, 60)
	ctx := context.Background()
	other := newFixture(t, d, 6)
	slots, err := f.svc.SlotsBetween(ctx, f.t, f.loc.ID, booking.DateOf(tenanttest.Now()).AddDays(1), booking.DateOf(tenanttest.Now()).AddDays(30))
	if err != nil {
		t.Fatal(err)
	}
	// Enough cards in several slots to need two chunks of 1000 rows, through the real service.
	want := 0
	for i := 0; want < 1002; i++ {
		var ids []uuid.UUID
		for range 6 {
			ids = append(ids, bookingtest.MustCard(t, f.svc, f.t, "0101").ID)
		}
		if _, err := f.svc.Reserve(ctx, f.t, booking.ReserveInput{SlotID: slots[i/10].ID, CardIDs: ids, Actor: staff}); err != nil {
			t.Fatal(err)
		}
		want += 6
	}
	oc := bookingtest.MustCard(t, other.svc, other.t, "0101")
	oslot := bookingtest.FirstSlot(t, other.svc, other.t, other.loc, tenanttest.Now())
	if _, err := other.svc.Reserve(ctx, other.t, booking.ReserveInput{SlotID: oslot.ID, CardIDs: []uuid.UUID{oc.ID}, Actor: web}); err != nil {
		t.Fatal(err)
	}
	v := tenant.Actor{Channel: staff.Channel, Login: staff.Login, IP: "192.0.2.1"}
	var buf bytes.Buffer
	flushes := 0
	res, err := f.svc.ExportCSV(ctx, f.t, booking.ExportFilter{}, booking.EncodingUTF8, &buf, func() error { flushes++; return nil }, v)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(buf.Bytes()[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows)-1 != want || res.Rows != want || flushes != 2 {
		t.Fatalf("rows %d (result %d, flushes %d), want %d in 2 chunks", len(rows)-1, res.Rows, flushes, want)
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		if seen[r[9]] {
			t.Fatalf("card %s exported twice", r[9])
		}
		seen[r[9]] = true
		if r[9] == oc.CardNo {
			t.Fatal("another tenant's card exported")
		}
	}

	// A client that goes away half-way: the error comes back, and the audit says incomplete.
	_, err = f.svc.ExportCSV(ctx, f.t, booking.ExportFilter{}, booking.EncodingSJIS, &failAfter{n: 5000}, nil, v)
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("write error = %v", err)
	}
	if _, err := f.svc.ExportCSV(ctx, f.t, booking.ExportFilter{From: booking.DateOf(tenanttest.Now()), To: booking.DateOf(tenanttest.Now()).AddDays(-1)},
		booking.EncodingUTF8, &buf, nil, v); tenant.ErrorCode(err) != tenant.Invalid {
		t.Errorf("reversed range: %v", err)
	}
	var audits []struct {
		Actor  string `bun:"actor"`
		After  string `bun:"after"`
		IP     string `bun:"ip"`
		Action string `bun:"action"`
	}
	if err := tenant.InTx(ctx, d.App, f.t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT actor, after::text AS after, ip, action FROM audit_log WHERE action = 'export.csv' ORDER BY at").Scan(ctx, &audits)
	}); err != nil {
		t.Fatal(err)
	}
	if len(audits) != 2 || !strings.Contains(audits[0].After, `"result": "complete"`) || !strings.Contains(audits[1].After, `"result": "incomplete"`) ||
		audits[0].Actor != "staff-1" || audits[0].IP != "192.0.2.1" || !strings.Contains(audits[0].After, res.SHA256) {
		t.Errorf("audit %+v", audits)
	}
}
