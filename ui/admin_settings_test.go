package ui_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/booking/jpholiday"
	"github.com/madoguchi/madoguchi/tenant"
)

// mustStaffAccount creates an account that can log in with pw without a forced change.
func mustStaffAccount(t *testing.T, e *env, login string, role tenant.Role, pw string) {
	t.Helper()
	ctx := context.Background()
	acc := e.accounts
	if _, err := acc.Create(ctx, e.city, login, login, role, "x-initial-123456", "test"); err != nil {
		t.Fatal(err)
	}
	if err := acc.SetPasswordNoChange(ctx, e.city, login, pw); err != nil {
		t.Fatal(err)
	}
}

// staffLogin logs b in through the login form.
func staffLogin(t *testing.T, b *browser, login, pw string) {
	t.Helper()
	b.get("/admin/login")
	b.post("/admin/login", url.Values{"login_id": {login}, "password": {pw}})
	b.want(200, "本日と明日の予約")
}

// openDay returns the first day of weekday wd at least 7 days after now that is neither a
// public holiday nor in the year-end closure.
func openDay(now time.Time, wd time.Weekday) booking.Date {
	d := booking.DateOf(now).AddDays(7)
	for d.Weekday() != wd || jpholiday.IsHoliday(d.StdTime()) || jpholiday.IsYearEndClosure(d.StdTime()) {
		d = d.AddDays(1)
	}
	return d
}

func freshCity(t *testing.T, e *env) *tenant.Tenant {
	t.Helper()
	c, err := tenant.NewService(e.db.App).BySlug(context.Background(), e.city.Slug)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func auditActions(t *testing.T, e *env, actor string) []string {
	t.Helper()
	var actions []string
	err := tenant.InTx(context.Background(), e.db.App, e.city.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT action FROM audit_log WHERE actor = ? ORDER BY at", actor).Scan(ctx, &actions)
	})
	if err != nil {
		t.Fatal(err)
	}
	return actions
}

func TestAdminSettingsAccess(t *testing.T) {
	e := newEnv(t, nil)
	mustStaffAccount(t, e, "tanaka", tenant.RoleStaff, "counter password one")
	locs, err := e.svc.Locations(context.Background(), e.city.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	loc := locs[0].ID.String()
	addr := serve(t, e)

	anon := newBrowser(t, addr, e.city.Slug+".localhost")
	anon.get("/admin/settings")
	anon.want(200, "職員ログイン") // sent to the login page
	anon.get("/admin/help")
	anon.want(200, "職員ログイン")

	b := newBrowser(t, addr, e.city.Slug+".localhost")
	staffLogin(t, b, "tanaka", "counter password one")
	for _, p := range []string{"/admin/settings", "/admin/locations", "/admin/locations/new", "/admin/locations/" + loc + "/edit",
		"/admin/locations/" + loc + "/schedule"} {
		b.get(p)
		b.want(403, "権限がありません")
	}
	b.get("/admin/help")
	b.want(200, "操作マニュアル", "来庁受付（バーコードリーダー）", "半角／全角")
	csrf := csrfOf(b.last)
	b.post("/admin/settings", url.Values{"_csrf": {csrf}, "booking_deadline_days": {"0"}, "horizon_days": {"90"}, "reminder_hour": {"9"}})
	b.want(403)
	b.post("/admin/locations", url.Values{"_csrf": {csrf}, "name": {"勝手な場所"}, "sort_order": {"1"}})
	b.want(403)
	b.post("/admin/locations/"+loc+"/schedule", url.Values{"_csrf": {csrf}, "w1_0_start": {"9:00"}})
	b.want(403)
	b.get("/admin/help/operations")
	b.want(200, "運用マニュアル", "システムが使えないとき", "連絡先")
	b.get("/lang?to=en&next=/admin/help")
	b.want(200, "Operating manual (staff)", "available in Japanese only", `<div lang="ja">`)
	if got := freshCity(t, e); got.Settings.BookingDeadlineDays != nil {
		t.Errorf("a 職員 changed the settings: %+v", got.Settings)
	}
}

func TestAdminSettingsForm(t *testing.T) {
	e := newEnv(t, nil)
	mustStaffAccount(t, e, "kanri", tenant.RoleAdmin, "admin password one")
	b := newBrowser(t, serve(t, e), e.city.Slug+".localhost")
	staffLogin(t, b, "kanri", "admin password one")

	b.get("/admin/settings")
	b.want(200, "システム設定", "10秒ほどで反映", `value="1"`, `value="90"`, `value="9"`, "※任意", "novalidate")

	// Every field wrong: 422, the error summary, each message at its field, the values kept.
	b.post("/admin/settings", url.Values{"booking_deadline_days": {"31"}, "horizon_days": {"7"}, "reminder_hour": {"24"},
		"call_center_phone": {"12345"}, "mail_from": {"city hall <a@b.jp>"}, "card_number_pattern": {"[0-9"}})
	b.want(422, "<title>エラー：システム設定", "入力内容を確認してください", `href="#f-horizon_days"`,
		"0から30までの数字", "14から365までの数字", "0から23までの数字", "10桁または11桁", "1つだけ入力",
		"正規表現として読み取れません", `value="31"`, `aria-invalid="true"`, `aria-describedby="h-reminder_hour e-reminder_hour"`)
	b.post("/admin/settings", url.Values{"booking_deadline_days": {"1"}, "horizon_days": {"90"}, "reminder_hour": {"9"},
		"card_number_pattern": {"[0-9]{9}"}})
	b.want(422, "^ で始めて $ で終えて")
	b.post("/admin/settings", url.Values{"booking_deadline_days": {"1"}, "horizon_days": {"90"}, "reminder_hour": {"9"},
		"card_number_pattern": {"^[0-9]*$"}})
	b.want(422, "空欄でも一致")
	if got := freshCity(t, e); got.Settings.HorizonDays != 0 {
		t.Fatalf("invalid settings were saved: %+v", got.Settings)
	}

	// CSRF: a forged token changes nothing.
	b.get("/admin/settings")
	b.post("/admin/settings", url.Values{"_csrf": {"forged"}, "booking_deadline_days": {"5"}, "horizon_days": {"90"}, "reminder_hour": {"9"}})
	b.want(403)

	// The sender address must be on a domain the vendor registered for the city (none yet): refused
	// beside the field, nothing saved.
	b.get("/admin/settings")
	b.post("/admin/settings", url.Values{"booking_deadline_days": {"5"}, "horizon_days": {"90"}, "reminder_hour": {"9"},
		"mail_from": {"yoyaku@city.example.lg.jp"}})
	b.want(422, "このドメインのアドレスからは送信できません", `href="#f-mail_from"`)
	if st := freshCity(t, e).Settings; st.MailFrom != "" {
		t.Errorf("a sender on a domain not registered was saved: %q", st.MailFrom)
	}
	// Full-width digits and dashes, as typed with the IME on, are accepted (the sender's domain is
	// one the vendor allowed the city).
	if _, err := tenant.NewService(e.db.App).SetMailDomains(context.Background(), e.city.Slug, []string{"city.example.lg.jp"}, tenant.System("test")); err != nil {
		t.Fatal(err)
	}
	b.get("/admin/settings")
	b.post("/admin/settings", url.Values{"booking_deadline_days": {"２"}, "horizon_days": {"１２０"}, "reminder_hour": {"８"},
		"call_center_phone": {"０５９８－５３－４０００"}, "mail_from": {"yoyaku@city.example.lg.jp"}, "card_number_pattern": {"^[0-9]{9}$"}})
	b.want(200, "設定を保存しました", `value="2"`, `value="120"`, `value="0598-53-4000"`)
	st := freshCity(t, e).Settings
	if st.BookingDeadlineDays == nil || *st.BookingDeadlineDays != 2 || st.HorizonDays != 120 || st.ReminderHour == nil || *st.ReminderHour != 8 ||
		st.CallCenterPhone != "0598-53-4000" || st.MailFrom != "yoyaku@city.example.lg.jp" || st.CardNumberPattern != "^[0-9]{9}$" {
		t.Errorf("saved settings = %+v", st)
	}
	// The help pages show the city's values.
	b.get("/admin/help/operations")
	b.want(200, "2日前まで", "120日", "0598-53-4000")

	var before, after string
	err := tenant.InTx(context.Background(), e.db.App, e.city.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT coalesce(before->>'horizon_days', ''), after->>'horizon_days' FROM audit_log
			WHERE action = 'settings.update' AND actor = 'kanri'`).Scan(ctx, &before, &after)
	})
	if err != nil || before != "" || after != "120" {
		t.Errorf("audit settings.update horizon: before %q after %q (%v)", before, after, err)
	}
}

func TestAdminLocationsAndSchedule(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	mustStaffAccount(t, e, "kanri", tenant.RoleAdmin, "admin password one")
	other := tenanttestCity(t, e)
	otherLoc := bookingtest.MustLocation(t, e.svc, other, "よその本庁", 3)
	b := newBrowser(t, serve(t, e), e.city.Slug+".localhost")
	staffLogin(t, b, "kanri", "admin password one")

	b.get("/admin/locations")
	b.want(200, "交付場所の設定", "本庁 &lt;script&gt;", "受付中")
	b.get("/admin/locations/new")
	b.want(200, "交付場所を追加", `value="1"`) // the next display order
	b.post("/admin/locations", url.Values{"name": {"  "}, "sort_order": {"abc"}, "active": {"1"}})
	b.want(422, "<title>エラー：", "交付場所の名称を100文字以内で", "0から999までの数字")
	b.post("/admin/locations", url.Values{"name": {"本庁 <script>"}, "sort_order": {"1"}})
	b.want(422, "同じ名称の交付場所がすでにあります")
	b.post("/admin/locations", url.Values{"name": {"嬉野地域振興局"}, "address": {"松阪市嬉野町"}, "guidance": {"本人確認書類\r\n交付通知書"},
		"sort_order": {"５"}, "active": {"1"}})
	b.want(200, "交付場所を追加しました", "受付時間の設定：嬉野地域振興局", "月曜日", "w1_0_start")
	var loc *booking.Location
	locs, _ := e.svc.Locations(ctx, e.city.ID, false)
	for i := range locs {
		if locs[i].Name == "嬉野地域振興局" {
			loc = &locs[i]
		}
	}
	if loc == nil || loc.SortOrder != 5 || loc.Guidance != "本人確認書類\n交付通知書" || !loc.Active {
		t.Fatalf("created location = %+v", loc)
	}
	base := "/admin/locations/" + loc.ID.String()

	b.get(base + "/edit")
	b.want(200, "交付場所の編集：嬉野地域振興局", "松阪市嬉野町", "checked")
	b.post(base+"/edit", url.Values{"name": {"嬉野地域振興局 市民窓口"}, "address": {"松阪市嬉野町"}, "sort_order": {"5"}})
	b.want(200, "交付場所を保存しました", "嬉野地域振興局 市民窓口", "停止中")
	b.get(base + "/edit")
	b.post(base+"/edit", url.Values{"name": {"嬉野地域振興局"}, "sort_order": {"5"}, "active": {"1"}})
	b.want(200, "交付場所を保存しました")

	// Weekly hours: rows with errors come back at their row, nothing is saved.
	monday, tuesday := openDay(e.clock.Now(), time.Monday), openDay(e.clock.Now(), time.Tuesday)
	b.get(base + "/schedule")
	b.want(200, "毎週の受付時間", "特別な日の設定", "今日以降の特別な日の設定はありません")
	b.post(base+"/schedule", url.Values{
		"w1_0_start": {"9:00"}, "w1_0_end": {"8:00"}, "w1_0_slot": {"30"}, "w1_0_capacity": {"2"},
		"w2_0_start": {"9:00"}, "w2_0_end": {"12:00"}, "w2_0_slot": {"30"}, "w2_0_capacity": {"2"},
		"w2_1_start": {"11:00"}, "w2_1_end": {"13:00"}, "w2_1_slot": {"30"}, "w2_1_capacity": {"2"},
		"w3_0_start": {"25:00"}, "w3_0_end": {"12:00"}, "w3_0_slot": {"30"}, "w3_0_capacity": {"多い"},
	})
	b.want(422, "<title>エラー：", "月曜日・1行目：終了の時刻は、開始の時刻より後", "火曜日・2行目：ほかの時間帯と重なっています",
		"水曜日・1行目：開始の時刻を 9:00 のように", "水曜日・1行目：定員は、0から200までの数字", `href="#f-w1_0_end"`, `value="25:00"`)
	if ws, _ := e.svc.WeeklyWindows(ctx, e.city, loc.ID); len(ws) != 0 {
		t.Fatalf("invalid rows were saved: %v", ws)
	}

	// Valid rows (full-width and "1300"-style times too) regenerate the slots; blank rows are ignored.
	b.get(base + "/schedule")
	b.post(base+"/schedule", url.Values{
		"w1_0_start": {"9:00"}, "w1_0_end": {"12:00"}, "w1_0_slot": {"30"}, "w1_0_capacity": {"2"},
		"w1_1_start": {"1300"}, "w1_1_end": {"１５：００"}, "w1_1_slot": {"60"}, "w1_1_capacity": {"1"},
		"w1_2_start": {""}, "w1_2_end": {""}, "w1_2_slot": {"30"}, "w1_2_capacity": {""},
		"w2_0_start": {"9時"}, "w2_0_end": {"10時30分"}, "w2_0_slot": {"15"}, "w2_0_capacity": {"1"},
	})
	b.want(200, "毎週の受付時間を保存し", `value="13:00"`, "この行を削除")
	city := freshCity(t, e)
	if n := slotCount(t, e, city, loc.ID, monday); n != 8 {
		t.Errorf("slots on %s = %d, want 8", monday, n)
	}
	if n := slotCount(t, e, city, loc.ID, tuesday); n != 6 {
		t.Errorf("slots on %s = %d, want 6", tuesday, n)
	}

	// A booking in a slot whose capacity is then cut to 0 stays, and the slot is shown prominently.
	slots, _ := e.svc.SlotsOn(ctx, city, loc.ID, monday, bookingtest.Citizen)
	card := bookingtest.MustCard(t, e.svc, e.city, "0101")
	if _, err := e.svc.Reserve(ctx, city, booking.ReserveInput{SlotID: slots[0].ID, CardIDs: []uuid.UUID{card.ID},
		Actor: tenant.Actor{Channel: tenant.ChannelStaff, Login: "kanri"}}); err != nil {
		t.Fatal(err)
	}
	b.post(base+"/schedule", url.Values{
		"w1_0_start": {"9:00"}, "w1_0_end": {"12:00"}, "w1_0_slot": {"30"}, "w1_0_capacity": {"0"},
		"w1_1_start": {"13:00"}, "w1_1_end": {"15:00"}, "w1_1_slot": {"60"}, "w1_1_capacity": {"1"}, "w1_1_delete": {"1"},
		"w2_0_start": {"9:00"}, "w2_0_end": {"10:30"}, "w2_0_slot": {"15"}, "w2_0_capacity": {"1"},
	})
	b.want(200, "要確認：定員を上回る予約が入っている時間が1件あります", "1 / 1")
	if n := slotCount(t, e, city, loc.ID, monday); n != 1 { // the booked slot keeps its one place (taken)
		t.Errorf("slots on %s after cutting capacity = %d, want 1", monday, n)
	}

	// 夜間窓口: an extra evening window on one day; an overlapping or past one is refused.
	b.post(base+"/overrides", url.Values{"o_day": {monday.String()}, "o_kind": {"open"}, "o_start": {"9:30"}, "o_end": {"10:30"},
		"o_slot": {"15"}, "o_capacity": {"1"}})
	b.want(422, "ほかの時間帯と重なっています", `href="#f-o_start"`)
	b.post(base+"/overrides", url.Values{"o_day": {"2001-01-01"}, "o_kind": {"close"}})
	b.want(422, "今日以降の日付")
	b.post(base+"/overrides", url.Values{"o_day": {"6月"}, "o_kind": {"holiday"}})
	b.want(422, "年・月・日で入力", "内容を選んでください")
	day := strings.ReplaceAll(monday.String(), "-", "/")
	b.post(base+"/overrides", url.Values{"o_day": {day}, "o_kind": {"open"}, "o_start": {"17:15"}, "o_end": {"19:00"},
		"o_slot": {"15"}, "o_capacity": {"1"}, "o_note": {"夜間窓口"}})
	b.want(200, "特別な日の設定を追加し", "夜間窓口", "17:15～19:00（15分ごと、1枠1人）")
	if n := slotCount(t, e, city, loc.ID, monday); n != 8 {
		t.Errorf("slots on %s with the evening counter = %d, want 8", monday, n)
	}
	b.post(base+"/overrides", url.Values{"o_day": {tuesday.String()}, "o_kind": {"close"}, "o_note": {"選挙事務"}})
	b.want(200, "閉庁（終日受付なし）", "選挙事務")
	if n := slotCount(t, e, city, loc.ID, tuesday); n != 0 {
		t.Errorf("slots on the closed %s = %d, want 0", tuesday, n)
	}

	// Deleting the evening counter: a check page first, then the day is back to the weekly hours.
	mondayJA := fmt.Sprintf("%d年%d月%d日（月）", monday.Year, monday.Month, monday.Day)
	m := regexp.MustCompile(`href="(` + base + `/overrides/[0-9a-f-]{36}/delete)">削除<span class="vh">（` + mondayJA).FindStringSubmatch(b.last)
	if m == nil {
		t.Fatalf("no delete link for the evening counter in %.3000s", b.last)
	}
	b.get(m[1])
	b.want(200, "特別な日の設定を削除しますか", "夜間窓口", "削除しないで戻る")
	b.post(m[1], url.Values{})
	b.want(200, "特別な日の設定を削除しました")
	if n := slotCount(t, e, city, loc.ID, monday); n != 1 {
		t.Errorf("slots on %s after deleting the evening counter = %d, want 1", monday, n)
	}
	b.post(m[1], url.Values{})
	b.want(404)

	b.get("/lang?to=en&next=" + base + "/schedule")
	b.want(200, "Opening hours: 嬉野地域振興局", "Monday, row 1", "Special days")
	b.get("/lang?to=ja&next=" + base + "/schedule")
	b.want(200, "受付時間の設定")

	// Another city's location, or a malformed id, is not found; nothing of it shows.
	for _, p := range []string{"/admin/locations/" + otherLoc.ID.String() + "/schedule", "/admin/locations/" + otherLoc.ID.String() + "/edit",
		"/admin/locations/nope/schedule", base + "/overrides/" + uuid.NewString() + "/delete"} {
		b.get(p)
		b.want(404)
		if strings.Contains(b.last, "よその本庁") {
			t.Errorf("%s shows another city's location", p)
		}
	}
	b.get(base + "/schedule")
	b.post("/admin/locations/"+otherLoc.ID.String()+"/schedule", url.Values{"w1_0_start": {"9:00"}, "w1_0_end": {"10:00"}, "w1_0_slot": {"30"}, "w1_0_capacity": {"9"}})
	b.want(404)
	b.get(base + "/schedule")
	b.post("/admin/locations/"+otherLoc.ID.String()+"/overrides", url.Values{"o_day": {monday.String()}, "o_kind": {"close"}})
	b.want(404)
	if n := slotCount(t, e, other, otherLoc.ID, monday); n != 6 {
		t.Errorf("another city's slots changed: %d, want 6", n)
	}

	// CSRF is enforced on every form.
	b.post(base+"/schedule", url.Values{"_csrf": {"forged"}, "w1_0_start": {"9:00"}, "w1_0_end": {"10:00"}, "w1_0_slot": {"30"}, "w1_0_capacity": {"9"}})
	b.want(403)
	b.post(base+"/overrides", url.Values{"_csrf": {"forged"}, "o_day": {monday.String()}, "o_kind": {"close"}})
	b.want(403)
	b.post(base+"/edit", url.Values{"_nocsrf": {"1"}, "name": {"x"}, "sort_order": {"1"}})
	b.want(403)

	want := []string{"location.create", "location.update", "location.update", "schedule.weekly", "schedule.weekly",
		"schedule.override.add", "schedule.override.add", "schedule.override.delete"}
	got := auditActions(t, e, "kanri")
	var mine []string
	for _, a := range got {
		if strings.HasPrefix(a, "location.") || strings.HasPrefix(a, "schedule.") {
			mine = append(mine, a)
		}
	}
	if strings.Join(mine, " ") != strings.Join(want, " ") {
		t.Errorf("audit actions = %v, want %v", mine, want)
	}
}

func slotCount(t *testing.T, e *env, city *tenant.Tenant, loc uuid.UUID, day booking.Date) int {
	t.Helper()
	return len(slotsOn(t, e, city, loc, day))
}

func slotsOn(t *testing.T, e *env, city *tenant.Tenant, loc uuid.UUID, day booking.Date) []booking.Slot {
	t.Helper()
	slots, err := e.svc.SlotsOn(context.Background(), city, loc, day, bookingtest.Citizen)
	if err != nil {
		t.Fatal(err)
	}
	return slots
}
