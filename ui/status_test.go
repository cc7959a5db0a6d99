package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/status"
)

const statusHost = "status.localhost"

// opsStatusMember is a logged-in ops member on an env served at addr.
func opsStatusMember(t *testing.T, e *env, addr string) *browser {
	t.Helper()
	opsAllow(t, e, "127.0.0.0/8")
	b, _ := opsMember(t, e, addr, "ops.status")
	return b
}

// postIncident posts an incident through the ops console and returns its id.
func postIncident(t *testing.T, b *browser, title, body string) string {
	t.Helper()
	b.get("/status/incidents/new")
	b.want(200, "障害を掲載する")
	b.post("/status/incidents", url.Values{"title_ja": {title}, "title_en": {"Booking pages unavailable"}, "impact": {"major"},
		"state_citizen": {"major_outage"}, "state_api": {"partial_outage"}, "scope": {"all"},
		"status": {"investigating"}, "body_ja": {body}, "body_en": {"We are investigating."}})
	b.want(200, "障害を掲載しました")
	return firstMatch(t, `action="/status/incidents/([0-9a-f-]{36})"`, b.last)
}

// TestStatusPageFromOpsConsole: an incident posted in the ops console shows at once on the
// status host, in Japanese and English, with its timeline; an update and the resolution follow;
// bad input is refused field by field with nothing posted.
func TestStatusPageFromOpsConsole(t *testing.T) {
	e := newEnv(t, nil)
	addr := serve(t, e)
	b := opsStatusMember(t, e, addr)
	pub := newBrowser(t, addr, statusHost)

	pub.get("/")
	pub.want(200, "稼働状況", "最終更新", "住民予約", "職員管理", "コールセンター", "メール送信", "API", "稼働率の計算方法", "0.3", "データなし")
	if strings.Contains(pub.last, "最新の情報を取得できていません") {
		t.Errorf("a fresh snapshot shows the stale notice")
	}

	b.get("/status/incidents/new")
	b.post("/status/incidents", url.Values{"impact": {"major"}, "scope": {"some"}, "cities": {"nowhere"}, "status": {"investigating"}})
	b.want(422, "入力してください。", "対象のサービスを1つ以上選んでください。", "登録されていない自治体が含まれています。")

	id := postIncident(t, b, "予約画面がつながりにくくなっています", "原因を調査しています。")
	pub.get("/")
	pub.want(200, "発生中の障害", "予約画面がつながりにくくなっています", "原因を調査しています。", "調査中", "サービスに大きな障害が発生しています", `<time datetime="`)
	if !regexp.MustCompile(`住民予約</h3>\s*<p class="st-state st-s-major_outage">停止`).MatchString(pub.last) {
		t.Errorf("the citizen component is not shown as 停止 while the incident is open")
	}
	pub.get("/?lang=en")
	pub.want(200, `lang="en"`, "Current incidents", "Booking pages unavailable", "We are investigating.", "Major outage")

	b.get("/status/incidents/" + id)
	b.post("/status/incidents/"+id, url.Values{"status": {"identified"}, "body_ja": {"原因を特定しました。"}, "body_en": {"Identified."}, "state_citizen": {"partial_outage"}})
	b.want(200, "経過を掲載しました")
	pub.get("/")
	pub.want(200, "原因特定", "原因を特定しました。", "原因を調査しています。")
	b.post("/status/incidents/"+id, url.Values{"status": {"resolved"}, "body_ja": {"復旧しました。"}, "body_en": {"Resolved."}})
	b.want(200, "障害を解決済みにしました")
	pub.get("/")
	pub.want(200, "過去の障害", "復旧しました。")
	if strings.Contains(pub.last, "発生中の障害") {
		t.Errorf("a resolved incident is still listed as current")
	}
}

// TestStatusFeedAndSummaryDecode is OPS §2.3 requirement 6: the Atom feed parses into an Atom
// struct with its required elements, and the JSON summary decodes strictly into a typed struct
// shaped like the common status-page API.
func TestStatusFeedAndSummaryDecode(t *testing.T) {
	e := newEnv(t, nil)
	addr := serve(t, e)
	b := opsStatusMember(t, e, addr)
	id := postIncident(t, b, "メールの送信が遅れています", "送信が遅れています。")
	pub := newBrowser(t, addr, statusHost)

	pub.get("/feed.atom")
	pub.want(200)
	var feed struct {
		XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
		ID      string   `xml:"id"`
		Title   string   `xml:"title"`
		Updated string   `xml:"updated"`
		Author  struct {
			Name string `xml:"name"`
		} `xml:"author"`
		Links []struct {
			Rel  string `xml:"rel,attr"`
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Entries []struct {
			ID      string `xml:"id"`
			Title   string `xml:"title"`
			Updated string `xml:"updated"`
			Content string `xml:"content"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal([]byte(pub.last), &feed); err != nil {
		t.Fatalf("feed does not parse: %v\n%s", err, pub.last)
	}
	if feed.ID == "" || feed.Title == "" || feed.Author.Name == "" || len(feed.Links) == 0 {
		t.Errorf("feed lacks a required element: %+v", feed)
	}
	if _, err := time.Parse(time.RFC3339, feed.Updated); err != nil {
		t.Errorf("feed updated %q: %v", feed.Updated, err)
	}
	if len(feed.Entries) != 1 || feed.Entries[0].ID != "urn:uuid:"+id || !strings.Contains(feed.Entries[0].Content, "送信が遅れています。") {
		t.Fatalf("entries %+v, want the incident with the stable id urn:uuid:%s", feed.Entries, id)
	}
	if _, err := time.Parse(time.RFC3339, feed.Entries[0].Updated); err != nil {
		t.Errorf("entry updated %q: %v", feed.Entries[0].Updated, err)
	}

	pub.get("/api/v2/summary.json?lang=en")
	pub.want(200)
	dec := json.NewDecoder(bytes.NewReader([]byte(pub.last)))
	dec.DisallowUnknownFields()
	var sum status.Summary
	if err := dec.Decode(&sum); err != nil {
		t.Fatalf("summary does not decode strictly: %v\n%s", err, pub.last)
	}
	if sum.Page.TimeZone != "Asia/Tokyo" || sum.Status.Indicator != "major" || len(sum.Components) != 5 || len(sum.Incidents) != 1 {
		t.Fatalf("summary = %+v", sum)
	}
	if c := sum.Components[0]; c.ID != "citizen" || c.Name != "Citizen booking" || c.Status != "major_outage" {
		t.Errorf("first component = %+v", c)
	}
	if inc := sum.Incidents[0]; inc.ID != id || inc.Status != "investigating" || len(inc.IncidentUpdates) != 1 || inc.IncidentUpdates[0].Body != "We are investigating." {
		t.Errorf("incident = %+v", inc)
	}
	if sum.ScheduledMaintenances == nil {
		t.Errorf("scheduled_maintenances is null, want []")
	}
}

// TestStatusNoPersonalDataAndEscaped is OPS §2.3 requirement 7: incident text is escaped (a
// <script> shows as text; the text is plain, not Markdown, so nothing needs sanitizing), and the
// page names no one: not the ops account that posted, no e-mail address.
func TestStatusNoPersonalDataAndEscaped(t *testing.T) {
	e := newEnv(t, nil)
	addr := serve(t, e)
	b := opsStatusMember(t, e, addr)
	postIncident(t, b, `<script>alert(1)</script>障害`, "<img src=x onerror=alert(1)>\n二行目")
	pub := newBrowser(t, addr, statusHost)
	for _, path := range []string{"/", "/?lang=en", "/feed.atom", "/api/v2/summary.json"} {
		pub.get(path)
		pub.want(200)
		if strings.Contains(pub.last, "<script>alert") || strings.Contains(pub.last, "<img src=x") {
			t.Errorf("%s: incident text is not escaped", path)
		}
		if strings.Contains(pub.last, "ops.status") {
			t.Errorf("%s: names the ops account that posted", path)
		}
		if regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[a-z]{2,}`).MatchString(pub.last) {
			t.Errorf("%s: shows an e-mail address", path)
		}
	}
	pub.get("/")
	pub.want(200, "&lt;script&gt;alert(1)&lt;/script&gt;障害", "<p>二行目</p>")
	t.Logf("status page: %d bytes of HTML", len(pub.last))
	if len(pub.last) > 50_000 {
		t.Errorf("page is %d bytes, want < 50 KB", len(pub.last))
	}
}

// TestStatusMaintenanceNotices: a maintenance planned in the ops console for one city shows on
// that city's citizen and staff pages from its announcement (times in JST, the counter stands,
// online change and cancel stop), not on another city's; the citizens' confirmation page warns
// when the chosen time falls inside it; a cancelled one leaves at once.
func TestStatusMaintenanceNotices(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	loc := bookingtest.MustLocation(t, e.svc, e.city, "本庁舎", 2)
	card := bookingtest.MustCard(t, e.svc, e.city, "0312")
	slot := bookingtest.FirstSlot(t, e.svc, e.city, loc, e.clock.Now())
	other := tenanttestCity(t, e)
	addr := serve(t, e)
	b := opsStatusMember(t, e, addr)

	// Announced 40 days before the slot's day: the clock goes back, the console plans it, and
	// the clock comes forward again.
	now := e.clock.Now()
	e.clock.Set(slot.StartsAt.Add(-40 * 24 * time.Hour))
	start := slot.StartsAt.Add(-30 * time.Minute).In(booking.JST)
	b.get("/status/maintenance/new")
	b.post("/status/maintenance", url.Values{"title_ja": {"システム更新"}, "title_en": {"System update"}, "comp_citizen": {"on"}, "comp_api": {"on"},
		"scope": {"some"}, "cities": {e.city.Slug}, "starts_at": {start.Add(-20 * 24 * time.Hour).Format("2006-01-02T15:04")},
		"ends_at": {start.Add(-20*24*time.Hour + 2*time.Hour).Format("2006-01-02T15:04")}})
	b.want(422, "30日以上前にお知らせする必要があります")
	b.post("/status/maintenance", url.Values{"title_ja": {"システム更新"}, "title_en": {"System update"}, "comp_citizen": {"on"}, "comp_api": {"on"},
		"scope": {"some"}, "cities": {e.city.Slug}, "starts_at": {start.Format("2006-01-02T15:04")}, "ends_at": {start.Add(3 * time.Hour).Format("2006-01-02T15:04")}})
	b.want(200, "メンテナンスを予定しました")
	mid := firstMatch(t, `action="/status/maintenance/([0-9a-f-]{36})/cancel"`, b.last)
	e.clock.Set(now)

	when := regexp.MustCompile(`\d{4}年\d{1,2}月\d{1,2}日（.）\d{1,2}:\d{2} から`)
	cit := newBrowser(t, addr, e.city.Slug+".localhost")
	cit.get("/")
	cit.want(200, "システムメンテナンスのお知らせ", "システム更新", "窓口でのお手続き", "予約・予約の変更・取消しができません")
	if !when.MatchString(cit.last) {
		t.Errorf("the notice gives no time in JST")
	}
	admAccount(t, e, e.city, "kanri", tenant.RoleAdmin, "admin password one")
	staff := newBrowser(t, addr, e.city.Slug+".localhost")
	admLogin(t, staff, "kanri", "admin password one")
	staff.get("/admin")
	staff.want(200, "システムメンテナンスのお知らせ")
	oth := newBrowser(t, addr, other.Slug+".localhost")
	oth.get("/")
	oth.want(200)
	if strings.Contains(oth.last, "システムメンテナンスのお知らせ") {
		t.Errorf("another city shows the notice")
	}
	pub := newBrowser(t, addr, statusHost)
	pub.get("/")
	pub.want(200, "メンテナンスの予定", "システム更新", "予定")

	// The confirmation page of a time inside the window warns.
	cit.get("/login")
	cit.post("/login", url.Values{"card_no": {card.CardNo}, "month": {"3"}, "day": {"12"}})
	cit.want(200, "受け取る人")
	cit.post("/hold", url.Values{"slot": {slot.ID.String()}, "location": {loc.ID.String()}})
	cit.want(200, "予約内容を確認してください", "メンテナンスの時間", "ご予約済みの来庁はそのままご利用いただけます")

	b.get("/status/maintenance/" + mid)
	b.post("/status/maintenance/"+mid+"/cancel", url.Values{})
	b.want(200, "メンテナンスを中止しました")
	cit.get("/menu")
	if strings.Contains(cit.last, "システムメンテナンスのお知らせ") {
		t.Errorf("a cancelled maintenance is still announced")
	}
	_ = ctx
}
