package ui_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"golang.org/x/text/encoding/japanese"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
)

// staffBrowser creates a staff account that needs no password change and logs a browser in.
func staffBrowser(t *testing.T, e *env, addr, login string) *browser {
	t.Helper()
	ctx := context.Background()
	acc := e.accounts
	if _, err := acc.Create(ctx, e.city, login, "職員", tenant.RoleStaff, "x-initial-123", "test"); err != nil {
		t.Fatal(err)
	}
	pw := "a quiet staff password for " + login
	if err := acc.SetPasswordNoChange(ctx, e.city, login, pw); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, addr, e.city.Slug+".localhost")
	b.get("/admin/login")
	b.post("/admin/login", url.Values{"login_id": {login}, "password": {pw}})
	b.want(200, "本日と明日の予約")
	return b
}

func mustReserve(t *testing.T, e *env, tn *tenant.Tenant, slot *booking.Slot, ch tenant.Channel, email string, cards ...*booking.Card) *booking.Reservation {
	t.Helper()
	var ids []uuid.UUID
	for _, c := range cards {
		ids = append(ids, c.ID)
	}
	r, err := e.svc.Reserve(context.Background(), tn, booking.ReserveInput{SlotID: slot.ID, CardIDs: ids, Email: email,
		Actor: tenant.Actor{Channel: ch, Login: "op"}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// auditActions returns the tenant's audit rows as action → rows (after JSON, target).
func auditRows(t *testing.T, e *env, tn *tenant.Tenant) map[string][]auditRow {
	t.Helper()
	var rows []auditRow
	err := tenant.InTx(context.Background(), e.db.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		// The fixtures' own set-up (locations, schedules) is left out: these are the rows the app wrote.
		return tx.NewRaw("SELECT action, actor, target, coalesce(before::text, '') AS before, coalesce(after::text, '') AS after, ip FROM audit_log WHERE actor <> ? ORDER BY at",
			bookingtest.Admin.Login).Scan(ctx, &rows)
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]auditRow{}
	for _, r := range rows {
		out[r.Action] = append(out[r.Action], r)
	}
	return out
}

type auditRow struct {
	Action string `bun:"action"`
	Actor  string `bun:"actor"`
	Target string `bun:"target"`
	Before string `bun:"before"`
	After  string `bun:"after"`
	IP     string `bun:"ip"`
}

func (a auditRow) after(t *testing.T) map[string]any {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal([]byte(a.After), &m); err != nil {
		t.Fatalf("audit after %q: %v", a.After, err)
	}
	return m
}

func TestStaffBookingsHTTP(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	honcho := bookingtest.MustLocation(t, e.svc, e.city, "本庁舎", 5)
	ureshino := bookingtest.MustLocation(t, e.svc, e.city, "嬉野地域振興局", 5)
	slotA := bookingtest.FirstSlot(t, e.svc, e.city, honcho, e.clock.Now())
	slotB := bookingtest.FirstSlot(t, e.svc, e.city, ureshino, e.clock.Now())
	parent, child := bookingtest.MustCard(t, e.svc, e.city, "0312"), bookingtest.MustCard(t, e.svc, e.city, "1105")
	r1 := mustReserve(t, e, e.city, slotA, tenant.ChannelWeb, "family@example.jp", parent, child)
	r2 := mustReserve(t, e, e.city, slotB, tenant.ChannelCallCenter, "", bookingtest.MustCard(t, e.svc, e.city, "0101"))
	r3 := mustReserve(t, e, e.city, slotA, tenant.ChannelWeb, "", bookingtest.MustCard(t, e.svc, e.city, "0202"))
	if err := e.svc.Cancel(ctx, e.city, r3.ID, tenant.Citizen("")); err != nil {
		t.Fatal(err)
	}
	// Another city's reservation: its id must not be reachable from this city.
	other := tenanttestCity(t, e)
	otherLoc := bookingtest.MustLocation(t, e.svc, other, "よその庁舎", 5)
	rOther := mustReserve(t, e, other, bookingtest.FirstSlot(t, e.svc, other, otherLoc, e.clock.Now()), tenant.ChannelWeb, "",
		bookingtest.MustCard(t, e.svc, other, "0303"))

	addr := serve(t, e)
	anon := newBrowser(t, addr, e.city.Slug+".localhost")
	anon.get("/admin/bookings")
	anon.want(200, "職員ログイン") // staff only
	anon.get("/admin/export.csv")
	anon.want(200, "職員ログイン")

	b := staffBrowser(t, e, addr, "clerk1")
	code := func(c string) string { return c[:4] + " " + c[4:] }

	t.Run("list and filters", func(t *testing.T) {
		b.t = t
		b.get("/admin/bookings")
		b.want(200, "予約の検索", code(r1.Code), code(r2.Code), code(r3.Code), "/admin/bookings/"+r1.ID.String())
		if strings.Contains(b.last, code(rOther.Code)) {
			t.Fatal("another city's booking is listed")
		}
		if i, j := strings.Index(b.last, "嬉野地域振興局"), strings.Index(b.last, code(r2.Code)); i < 0 || j < 0 {
			t.Fatal("location or code missing")
		}
		cases := []struct {
			query     string
			in, notIn []string
		}{
			{"location=" + ureshino.ID.String(), []string{r2.Code}, []string{r1.Code, r3.Code}},
			{"status=cancelled", []string{r3.Code}, []string{r1.Code, r2.Code}},
			{"status=booked", []string{r1.Code, r2.Code}, []string{r3.Code}},
			{"channel=callcenter", []string{r2.Code}, []string{r1.Code, r3.Code}},
			{"card_no=" + url.QueryEscape(toFullWidth(child.CardNo[:3]+"-"+child.CardNo[3:])), []string{r1.Code}, []string{r2.Code, r3.Code}},
			{"code=" + url.QueryEscape(strings.ToLower(r2.Code[:4]+" "+r2.Code[4:])), []string{r2.Code}, []string{r1.Code, r3.Code}},
			{"time=" + url.QueryEscape(slotA.StartsAt.In(booking.JST).Format("15:04")) + "&location=" + honcho.ID.String(), []string{r1.Code, r3.Code}, []string{r2.Code}},
			{"from=" + booking.DateOf(slotA.StartsAt).AddDays(40).String(), []string{"条件に合う予約はありません"}, []string{r1.Code}},
			{"to=" + booking.DateOf(slotA.StartsAt).AddDays(-1).String() + "&from=", []string{"条件に合う予約はありません"}, []string{r1.Code}},
		}
		for _, tc := range cases {
			b.get("/admin/bookings?" + tc.query)
			b.want(200)
			for _, s := range tc.in {
				if s == r1.Code || s == r2.Code || s == r3.Code {
					s = code(s)
				}
				if !strings.Contains(b.last, s) {
					t.Errorf("%s: lacks %s", tc.query, s)
				}
			}
			for _, s := range tc.notIn {
				if strings.Contains(b.last, code(s)) {
					t.Errorf("%s: shows %s", tc.query, s)
				}
			}
		}
		b.get("/admin/bookings?from=2026-13-40&time=25:99")
		b.want(422, "エラー：", "年-月-日", "10:00", `aria-invalid="true"`)
		b.get("/admin/bookings?from=2026-06-10&to=2026-06-01")
		b.want(422, "「まで」の日付")
		b.get("/admin/bookings?location=" + otherLoc.ID.String())
		b.want(200, "条件に合う予約はありません")
	})

	t.Run("the language switch returns to the same filters", func(t *testing.T) {
		b.t = t
		b.get("/admin/bookings?status=cancelled")
		b.want(200, "next=%2fadmin%2fbookings%3fstatus%3dcancelled")
	})

	t.Run("pagination", func(t *testing.T) {
		b.t = t
		b.get("/admin/bookings?from=")
		b.want(200, "3件中 1～3件目")
		if strings.Contains(b.last, `rel="next"`) {
			t.Error("a single page has a next link")
		}
	})

	t.Run("detail, and another city's id is not found", func(t *testing.T) {
		b.t = t
		b.get("/admin/bookings/" + r1.ID.String())
		b.want(200, code(r1.Code), parent.CardNo, parent.StoragePos, child.CardNo, child.StoragePos, "予約済", "インターネット",
			"予約を取り消す", "日時を変更する", "登録あり")
		if strings.Contains(b.last, "family@example.jp") {
			t.Error("the detail page shows the full e-mail address")
		}
		b.get("/admin/bookings/" + rOther.ID.String())
		b.want(404)
		if strings.Contains(b.last, rOther.Code) {
			t.Error("404 page leaks the other city's code")
		}
		b.get("/admin/bookings/not-a-uuid")
		b.want(404)
		b.get("/admin/bookings/" + uuid.NewString() + "/cancel")
		b.want(404)
	})

	t.Run("cancel needs the check page and CSRF", func(t *testing.T) {
		b.t = t
		b.get("/admin/bookings/" + r1.ID.String() + "/cancel")
		b.want(200, "予約の取消の確認", code(r1.Code), parent.CardNo, "この予約を取り消す")
		page := b.last
		b.post("/admin/bookings/"+r1.ID.String()+"/cancel", url.Values{"_csrf": {"forged"}})
		b.want(403)
		if v, _ := e.svc.ReservationByID(ctx, e.city, r1.ID); v.Status != booking.Booked {
			t.Fatalf("cancelled without a valid CSRF token: %s", v.Status)
		}
		b.last = page
		b.post("/admin/bookings/"+r1.ID.String()+"/cancel", url.Values{})
		b.want(200, "予約を取り消しました", "取消済")
		if strings.Contains(b.last, "この予約の操作") {
			t.Error("a cancelled booking still offers actions")
		}
		v, _ := e.svc.ReservationByID(ctx, e.city, r1.ID)
		if v.Status != booking.Cancelled {
			t.Fatalf("status after staff cancel = %s", v.Status)
		}
		got, _ := e.svc.CardByID(ctx, e.city.ID, parent.ID)
		if got.Status != booking.CardNoticeSent {
			t.Errorf("card after cancel = %s, want notice_sent", got.Status)
		}
		b.post("/admin/bookings/"+r1.ID.String()+"/cancel", url.Values{})
		b.want(409, "すでに取り消されている")
		// Another city's reservation cannot be cancelled from here.
		b.get("/admin/bookings")
		b.post("/admin/bookings/"+rOther.ID.String()+"/cancel", url.Values{})
		b.want(404)
		if v, _ := e.svc.ReservationByID(ctx, other, rOther.ID); v.Status != booking.Booked {
			t.Fatal("another city's booking was cancelled")
		}
	})

	t.Run("change to another time at the same location", func(t *testing.T) {
		b.t = t
		b.get("/admin/bookings/" + r2.ID.String() + "/change")
		b.want(200, "日時の変更", "の空き時間")
		ids := regexp.MustCompile(`name="slot" value="([0-9a-f-]{36})"`).FindAllStringSubmatch(b.last, -1)
		if len(ids) == 0 {
			t.Fatalf("no free time offered: %.2000s", b.last)
		}
		newSlot := ids[0][1]
		if newSlot == slotB.ID.String() {
			t.Fatal("the current time is offered")
		}
		b.get("/admin/bookings/" + r2.ID.String() + "/change/confirm?slot=" + slotA.ID.String())
		b.want(422, "変更後の時間を選んでください") // another location's slot
		b.get("/admin/bookings/" + r2.ID.String() + "/change/confirm?slot=" + newSlot)
		b.want(200, "日時の変更の確認", "変更前", "変更後", "この日時に変更する")
		b.post("/admin/bookings/"+r2.ID.String()+"/change", url.Values{"slot": {newSlot}})
		b.want(200, "予約の日時を変更しました")
		v, _ := e.svc.ReservationByID(ctx, e.city, r2.ID)
		if v.SlotID.String() != newSlot {
			t.Fatalf("slot after change = %s, want %s", v.SlotID, newSlot)
		}
		b.get("/admin/bookings/" + r2.ID.String() + "/change?day=tomorrow")
		b.want(422, "年-月-日")
	})

	t.Run("print views", func(t *testing.T) {
		b.t = t
		day := booking.DateOf(slotB.StartsAt).String()
		b.get("/admin/print/day?date=" + day)
		b.want(200, "交付予約者一覧", "/admin/print/page.css?title=", "print.css", "嬉野地域振興局", code(r2.Code), "受付")
		b.get("/admin/print/day?date=" + day + "&location=" + otherLoc.ID.String())
		b.want(422, "交付場所は一覧から選んでください")
		b.get("/admin/print/picklist?date=" + day)
		b.want(200, "引抜きリスト", "data:image/png;base64,", code(r2.Code), "□")
		b.get("/admin/print/picklist?date=bad")
		b.want(422)
		b.get("/admin/print/summary?from=" + day + "&to=" + day)
		b.want(200, "状況集計", "カードの状態（現在）", "予約の状態", "嬉野地域振興局")
		b.get("/admin/print/summary?from=2026-06-10&to=2026-06-01")
		b.want(422)
		resp, err := b.c.Get(b.base + "/admin/print/page.css?title=" + url.QueryEscape(`交付 "x"; } body { color: red } <`))
		if err != nil {
			t.Fatal(err)
		}
		css, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
			t.Errorf("page.css content type %q", ct)
		}
		if !strings.Contains(string(css), `@top-left { content: "交付 \000022 x\000022 \00003b  \00007d  body \00007b  color: red \00007d  \00003c "; }`) {
			t.Errorf("margin css not escaped: %s", css)
		}
	})

	t.Run("english", func(t *testing.T) {
		b.t = t
		u, _ := url.Parse(b.base)
		b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "lang", Value: "en", Path: "/"}})
		defer b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "lang", Value: "ja", Path: "/"}})
		day := booking.DateOf(slotB.StartsAt).String()
		for _, path := range []string{"/admin/bookings?from=", "/admin/bookings/" + r1.ID.String(), "/admin/bookings/" + r2.ID.String() + "/change",
			"/admin/export", "/admin/print/day?date=" + day, "/admin/print/picklist?date=" + day, "/admin/print/summary"} {
			b.get(path)
			b.want(200, `lang="en"`)
			if m := regexp.MustCompile(`staff\.(bookings|export|print)\.[a-z_.]+`).FindString(b.last); m != "" {
				t.Errorf("%s shows the untranslated key %s", path, m)
			}
		}
	})

	t.Run("audit", func(t *testing.T) {
		b.t = t
		a := auditRows(t, e, e.city)
		for _, action := range []string{"reservation.search", "reservation.view", "reservation.cancel", "reservation.change", "print.day", "print.picklist"} {
			if len(a[action]) == 0 {
				t.Errorf("no audit row %q", action)
			}
		}
		for _, r := range a["reservation.view"] {
			if r.Actor != "clerk1" || r.IP == "" {
				t.Errorf("view audit without actor or ip: %+v", r)
			}
		}
		c := a["reservation.cancel"]
		if len(c) != 1 || c[0].Target != r1.Code || !strings.Contains(c[0].Before, `"booked"`) || !strings.Contains(c[0].After, `"cancelled"`) {
			t.Errorf("cancel audit = %+v", c)
		}
		ch := a["reservation.change"]
		if len(ch) != 1 || ch[0].Before == ch[0].After {
			t.Errorf("change audit = %+v", ch)
		}
		for _, r := range a["reservation.search"] {
			if strings.Contains(r.After, "@") {
				t.Errorf("search audit holds an e-mail: %s", r.After)
			}
		}
		if len(auditRows(t, e, other)) != 0 {
			t.Errorf("audit rows were written in the other city: %v", auditRows(t, e, other))
		}
	})
}

// csvGet downloads an export and returns the response and body.
func csvGet(t *testing.T, b *browser, query string) (*http.Response, []byte) {
	t.Helper()
	resp, err := b.c.Get(b.base + "/admin/export.csv?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func parseCSV(t *testing.T, body []byte) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = len(booking.ExportHeader)
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, body)
	}
	return rows
}

func TestStaffExportCSV(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	plain := bookingtest.MustLocation(t, e.svc, e.city, "本庁舎", 5)
	formula := bookingtest.MustLocation(t, e.svc, e.city, `=HYPERLINK("http://evil.example","開く")`, 5)
	odd := bookingtest.MustLocation(t, e.svc, e.city, "髙﨑〜出張所𠮷, \"北\"", 5)
	s1 := bookingtest.FirstSlot(t, e.svc, e.city, plain, e.clock.Now())
	s2 := bookingtest.FirstSlot(t, e.svc, e.city, formula, e.clock.Now())
	s3 := bookingtest.FirstSlot(t, e.svc, e.city, odd, e.clock.Now())
	c1, c2 := bookingtest.MustCard(t, e.svc, e.city, "0101"), bookingtest.MustCard(t, e.svc, e.city, "0202")
	r1 := mustReserve(t, e, e.city, s1, tenant.ChannelWeb, "", c1, c2)
	r2 := mustReserve(t, e, e.city, s2, tenant.ChannelCallCenter, "", bookingtest.MustCard(t, e.svc, e.city, "0303"))
	r3 := mustReserve(t, e, e.city, s3, tenant.ChannelStaff, "", bookingtest.MustCard(t, e.svc, e.city, "0404"))
	if err := e.svc.Cancel(ctx, e.city, r3.ID, tenant.Actor{Channel: tenant.ChannelStaff, Login: "x"}); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, e)
	b := staffBrowser(t, e, addr, "clerk2")
	b.get("/admin/export")
	b.want(200, "CSVの出力", "UTF-8（BOM付き", "Shift_JIS")

	from := booking.DateOf(e.clock.Now()).String()
	to := booking.DateOf(e.clock.Now()).AddDays(60).String()

	t.Run("utf8", func(t *testing.T) {
		b.t = t
		resp, body := csvGet(t, b, "from="+from+"&to="+to)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv; charset=utf-8") {
			t.Errorf("content type %q", ct)
		}
		cd := resp.Header.Get("Content-Disposition")
		if want := fmt.Sprintf(`attachment; filename="yoyaku_%s_%s_utf8.csv"`, from, to); !strings.HasPrefix(cd, want) {
			t.Errorf("content disposition %q, want prefix %q", cd, want)
		}
		if !bytes.HasPrefix(body, []byte{0xEF, 0xBB, 0xBF}) {
			t.Fatal("no BOM")
		}
		if bytes.Count(body, []byte("\r\n")) != bytes.Count(body, []byte("\n")) {
			t.Error("line ends are not all CRLF")
		}
		rows := parseCSV(t, body[3:])
		if strings.Join(rows[0], ",") != "予約番号,日付,曜日,開始,終了,交付場所,状態,受付経路,人数,製造管理番号,保管位置" {
			t.Errorf("header %v", rows[0])
		}
		if len(rows) != 1+4 {
			t.Fatalf("%d rows, want header + 4 (one per card): %v", len(rows), rows)
		}
		byCard := map[string][]string{}
		for _, r := range rows[1:] {
			byCard[r[9]] = r
		}
		got := byCard[c2.CardNo]
		d := booking.DateOf(s1.StartsAt)
		want := []string{r1.Code, d.String(), []string{"日", "月", "火", "水", "木", "金", "土"}[d.Weekday()],
			s1.StartsAt.In(booking.JST).Format("15:04"), s1.EndsAt.In(booking.JST).Format("15:04"),
			"本庁舎", "予約済", "インターネット", "2", c2.CardNo, c2.StoragePos}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("row\n got %v\nwant %v", got, want)
		}
		for _, r := range rows[1:] {
			switch r[0] {
			case r2.Code:
				if r[5] != `'=HYPERLINK("http://evil.example","開く")` || r[7] != "コールセンター" {
					t.Errorf("formula not escaped: %v", r)
				}
			case r3.Code:
				if r[5] != "髙﨑〜出張所𠮷, \"北\"" || r[6] != "取消済" || r[7] != "窓口（職員）" {
					t.Errorf("utf-8 row %v", r)
				}
			}
		}
		if !bytes.Contains(body, []byte(`"'=HYPERLINK(""http://evil.example"",""開く"")"`)) {
			t.Error("quotes are not doubled inside quoted fields")
		}
		// Filters: a location and a status.
		_, body = csvGet(t, b, "from="+from+"&to="+to+"&location="+plain.ID.String())
		if n := len(parseCSV(t, body[3:])); n != 3 {
			t.Errorf("location filter: %d rows, want 3", n)
		}
		_, body = csvGet(t, b, "from="+from+"&to="+to+"&status=cancelled")
		if rows := parseCSV(t, body[3:]); len(rows) != 2 || rows[1][0] != r3.Code {
			t.Errorf("status filter: %v", rows)
		}
	})

	t.Run("sjis", func(t *testing.T) {
		b.t = t
		resp, body := csvGet(t, b, "from="+from+"&to="+to+"&encoding=sjis")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "Shift_JIS") {
			t.Errorf("content type %q", ct)
		}
		if !strings.Contains(resp.Header.Get("Content-Disposition"), "_sjis.csv") {
			t.Errorf("file name does not say sjis: %q", resp.Header.Get("Content-Disposition"))
		}
		if bytes.HasPrefix(body, []byte{0xEF, 0xBB, 0xBF}) {
			t.Error("a BOM in CP932")
		}
		dec, err := japanese.ShiftJIS.NewDecoder().Bytes(body)
		if err != nil {
			t.Fatal(err)
		}
		rows := parseCSV(t, dec)
		if rows[0][0] != "予約番号" || len(rows) != 5 {
			t.Fatalf("rows %v", rows)
		}
		var found bool
		for _, r := range rows[1:] {
			if r[0] == r3.Code {
				found = true
				if r[5] != "髙﨑～出張所?, \"北\"" {
					t.Errorf("CP932 location = %q, want look-alike ～ and one ?", r[5])
				}
			}
			if r[0] == r2.Code && !strings.HasPrefix(r[5], "'=") {
				t.Errorf("formula not escaped in CP932: %q", r[5])
			}
		}
		if !found {
			t.Error("cancelled row missing")
		}
	})

	t.Run("bad input gets the form back", func(t *testing.T) {
		b.t = t
		resp, body := csvGet(t, b, "encoding=ebcdic&from=2026-99-01")
		if resp.StatusCode != 422 || !strings.Contains(string(body), "文字コードを選んでください") || !strings.Contains(string(body), "年-月-日") {
			t.Errorf("status %d: %.500s", resp.StatusCode, body)
		}
		resp, _ = csvGet(t, b, "location="+uuid.NewString())
		if resp.StatusCode != 422 {
			t.Errorf("unknown location: status %d", resp.StatusCode)
		}
	})

	t.Run("audit", func(t *testing.T) {
		b.t = t
		var sjis, utf []auditRow
		for _, r := range auditRows(t, e, e.city)["export.csv"] {
			if r.Actor != "clerk2" {
				t.Errorf("export audit actor %q", r.Actor)
			}
			switch r.after(t)["encoding"] {
			case "sjis":
				sjis = append(sjis, r)
			case "utf8":
				utf = append(utf, r)
			}
		}
		if len(utf) != 3 || len(sjis) != 1 {
			t.Fatalf("export audit rows: utf8 %d, sjis %d", len(utf), len(sjis))
		}
		a := sjis[0].after(t)
		if a["rows"] != float64(4) || a["replaced"] != float64(1) || a["result"] != "complete" || len(fmt.Sprint(a["sha256"])) != 64 {
			t.Errorf("sjis audit %v", a)
		}
		if f, _ := a["filter"].(map[string]any); f["from"] != from || f["to"] != to {
			t.Errorf("audit filter %v", a["filter"])
		}
	})
}

// TestStaffExportStreams exports 5,000 card rows: the response is chunked (no Content-Length,
// so it was never buffered whole) and complete.
func TestStaffExportStreams(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	loc := bookingtest.MustLocation(t, e.svc, e.city, "本庁舎", 5)
	slot := bookingtest.FirstSlot(t, e.svc, e.city, loc, e.clock.Now())
	const reservations, perParty = 1000, 5
	type resCard struct {
		bun.BaseModel `bun:"table:reservation_cards"`
		TenantID      uuid.UUID `bun:"tenant_id"`
		ReservationID uuid.UUID `bun:"reservation_id"`
		CardID        uuid.UUID `bun:"card_id"`
		Active        bool      `bun:"active"`
	}
	var cards []booking.Card
	var rs []booking.Reservation
	var links []resCard
	const alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	for i := range reservations {
		code := []byte("AAAAAAAA")
		for k, n := 7, i; k >= 0; k, n = k-1, n/32 {
			code[k] = alphabet[n%32]
		}
		r := booking.Reservation{TenantID: e.city.ID, ID: uuid.New(), Code: string(code), SlotID: slot.ID, LocationID: loc.ID,
			StartsAt: slot.StartsAt, Status: booking.Booked, Channel: tenant.ChannelWeb, Lang: "ja", PartySize: perParty}
		rs = append(rs, r)
		for j := range perParty {
			c := booking.Card{TenantID: e.city.ID, ID: uuid.New(), CardNo: fmt.Sprintf("%09d", 500000000+i*perParty+j),
				BirthHMAC: make([]byte, 32), StoragePos: fmt.Sprintf("B-%04d", i), Status: booking.CardReserved}
			cards = append(cards, c)
			links = append(links, resCard{TenantID: e.city.ID, ReservationID: r.ID, CardID: c.ID, Active: true})
		}
	}
	err := tenant.InTx(ctx, e.db.App, e.city.ID, func(ctx context.Context, tx bun.Tx) error {
		for i := 0; i < len(cards); i += 1000 {
			part := cards[i:min(i+1000, len(cards))]
			if _, err := tx.NewInsert().Model(&part).Exec(ctx); err != nil {
				return err
			}
			lp := links[i:min(i+1000, len(links))]
			if i == 0 {
				if _, err := tx.NewInsert().Model(&rs).Exec(ctx); err != nil {
					return err
				}
			}
			if _, err := tx.NewInsert().Model(&lp).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, e)
	b := staffBrowser(t, e, addr, "clerk3")
	resp, err := b.c.Get(b.base + "/admin/export.csv?from=&to=")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if resp.ContentLength != -1 || len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("not streamed: Content-Length %d, Transfer-Encoding %v", resp.ContentLength, resp.TransferEncoding)
	}
	br := bufio.NewReader(resp.Body)
	if bom, _ := br.Peek(3); !bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		t.Fatalf("no BOM: %q", bom)
	}
	_, _ = br.Discard(3)
	r := csv.NewReader(br)
	n, last := 0, ""
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			if key := rec[0] + rec[9]; key <= last {
				t.Fatalf("row %d out of order or repeated: %s after %s", n, key, last)
			} else {
				last = key
			}
		}
		n++
	}
	if n != 1+reservations*perParty {
		t.Fatalf("%d lines, want header + %d", n, reservations*perParty)
	}
	rows := auditRows(t, e, e.city)["export.csv"]
	if len(rows) != 1 || rows[0].after(t)["rows"] != float64(reservations*perParty) || rows[0].after(t)["result"] != "complete" {
		t.Errorf("audit %+v", rows)
	}
}
