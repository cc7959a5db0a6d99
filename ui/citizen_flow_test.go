package ui_test

import (
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
)

// browser is a cookie-keeping HTTP client that sends every request to one server, whatever the
// host name, so city hosts work without DNS.
type browser struct {
	t      *testing.T
	c      *http.Client
	base   string
	last   string
	status int
	header http.Header // the last answer's headers
}

func newBrowser(t *testing.T, addr, host string) *browser {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	// 60 s: the 50 MB card uploads of the import tests on a loaded 2-CPU machine; a hung server still fails.
	return &browser{t: t, base: "http://" + host, c: &http.Client{Jar: jar, Transport: tr, Timeout: 60 * time.Second}}
}

func (b *browser) get(path string) string {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	buf := new(strings.Builder)
	_, _ = io_Copy(buf, resp)
	b.last, b.status, b.header = buf.String(), resp.StatusCode, resp.Header
	return b.last
}

func (b *browser) post(path string, form url.Values) string {
	b.t.Helper()
	if form.Get("_csrf") == "" && form.Get("_nocsrf") == "" {
		form.Set("_csrf", csrfOf(b.last))
	}
	form.Del("_nocsrf")
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	buf := new(strings.Builder)
	_, _ = io_Copy(buf, resp)
	b.last, b.status, b.header = buf.String(), resp.StatusCode, resp.Header
	return b.last
}

func (b *browser) want(status int, contains ...string) {
	b.t.Helper()
	if b.status != status {
		b.t.Fatalf("status %d, want %d; body: %.600s", b.status, status, b.last)
	}
	for _, s := range contains {
		if !strings.Contains(b.last, s) {
			b.t.Fatalf("page lacks %q: %.1500s", s, b.last)
		}
	}
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func csrfOf(page string) string {
	if m := csrfRE.FindStringSubmatch(page); m != nil {
		return m[1]
	}
	return ""
}

func firstMatch(t *testing.T, re, page string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no match for %s in %.1500s", re, page)
	}
	return m[1]
}

func TestCitizenFlowHTTP(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	loc := bookingtest.MustLocation(t, e.svc, e.city, "嬉野地域振興局", 2)
	me := bookingtest.MustCard(t, e.svc, e.city, "0312")
	kid := bookingtest.MustCard(t, e.svc, e.city, "1105")
	addr := serve(t, e)
	host := e.city.Slug + ".localhost"
	b := newBrowser(t, addr, host)

	// Without a CSRF token nothing is accepted.
	b.get("/login")
	b.want(200, "製造管理番号")
	b.post("/login", url.Values{"card_no": {me.CardNo}, "month": {"3"}, "day": {"12"}, "_csrf": {"forged"}})
	b.want(403)

	b.get("/login")
	b.post("/login", url.Values{"card_no": {me.CardNo}, "month": {"3"}, "day": {"13"}})
	b.want(401, "製造管理番号または誕生日が正しくありません")
	b.post("/login", url.Values{"card_no": {"1234-5678-9012"}, "month": {"3"}, "day": {"12"}})
	b.want(422, "12桁の個人番号")
	b.post("/login", url.Values{"card_no": {toFullWidth(me.CardNo)}, "month": {"３"}, "day": {"１２"}})
	b.want(200, "受け取る人") // redirected to /menu

	b.get("/family")
	b.post("/family", url.Values{"card_no": {kid.CardNo}, "month": {"11"}, "day": {"5"}})
	b.want(200, "家族を追加しました", "2人")

	b.get("/locations")
	b.want(200, "嬉野地域振興局")
	// The calendar opens on this month; the first day citizens may book (past the deadline, the
	// holidays and the year-end closure) may be in the next one.
	first := booking.DateFromDB(bookingtest.FirstSlot(t, e.svc, e.city, loc, e.clock.Now()).Day)
	calendar := func() {
		t.Helper()
		b.get("/calendar?location=" + loc.ID.String())
		b.want(200, "<table class=\"cal\"")
		if month := first.String()[:7]; month != booking.DateOf(e.clock.Now()).String()[:7] {
			b.get("/calendar?location=" + loc.ID.String() + "&month=" + month)
		}
		b.want(200, "<table class=\"cal\"", "残り")
	}
	calendar()
	dayLink := firstMatch(t, `href="(/times\?location=[^"]+)"`, b.last)
	if !strings.Contains(dayLink, "day="+first.String()) {
		t.Fatalf("the calendar's first bookable day is %s, want %s", dayLink, first)
	}
	b.get(strings.ReplaceAll(dayLink, "&amp;", "&"))
	b.want(200, "この時間で予約に進む")
	slotID := firstMatch(t, `name="slot" value="([^"]+)"`, b.last)
	b.post("/hold", url.Values{"slot": {slotID}, "location": {loc.ID.String()}})
	b.want(200, "予約内容を確認してください", "まで確保しています")
	// Keeping the time longer: without the token nothing happens; with it the page comes back
	// with the address typed so far.
	b.post("/hold/extend", url.Values{"email": {"taro@example.jp"}, "_csrf": {"forged"}})
	b.want(403)
	b.get("/confirm")
	b.post("/hold/extend", url.Values{"email": {"taro@example.jp"}})
	b.want(200, "予約内容を確認してください", "まで確保しています", `value="taro@example.jp"`)
	b.post("/reserve", url.Values{"email": {"taro@example.jp"}, "email2": {"tar0@example.jp"}})
	b.want(422, "確認のメールアドレスが一致しません", `value="taro@example.jp"`)
	b.post("/reserve", url.Values{"email": {"taro@example.jp\r\nBcc: x@evil.example"}, "email2": {"taro@example.jp\r\nBcc: x@evil.example"}})
	b.want(422, "1件だけ入力してください")
	b.post("/reserve", url.Values{"email": {"taro@example.jp"}, "email2": {"taro@example.jp"}})
	b.want(200, "予約が完了しました", "予約番号", `<img class="qr" src="data:image/png;base64,`)

	v, err := e.svc.CurrentReservation(ctx, e.city, kid.ID)
	if err != nil || v.PartySize != 2 {
		t.Fatalf("reservation for the family = %+v, %v", v, err)
	}
	if !strings.Contains(b.last, v.Code[:4]+" "+v.Code[4:]) {
		t.Errorf("done page does not show the code %s", v.Code)
	}

	// The session cookie is worthless on another city's host.
	other := tenanttestCity(t, e)
	b2 := &browser{t: t, c: b.c, base: "http://" + other.Slug + ".localhost"}
	b2.get("/menu")
	b2.want(200, "交付通知書の番号と誕生日を入力してください")

	// Change to another time, then cancel.
	b.get("/reservation")
	b.want(200, "日時・場所を変更する")
	b.post("/reservation/change", url.Values{})
	calendar()
	dayLink = firstMatch(t, `href="(/times\?location=[^"]+)"`, b.last)
	b.get(strings.ReplaceAll(dayLink, "&amp;", "&"))
	slots := regexp.MustCompile(`name="slot" value="([^"]+)"`).FindAllStringSubmatch(b.last, -1)
	var newSlot string
	for _, m := range slots {
		if m[1] != v.SlotID.String() {
			newSlot = m[1]
			break
		}
	}
	b.post("/hold", url.Values{"slot": {newSlot}})
	b.want(200, "変更前の日時")
	b.post("/reserve", url.Values{})
	b.want(200, "予約が完了しました")
	v2, _ := e.svc.CurrentReservation(ctx, e.city, me.ID)
	if v2.SlotID.String() != newSlot || v2.ID != v.ID {
		t.Errorf("after change: slot %s, want %s (same reservation)", v2.SlotID, newSlot)
	}
	b.get("/reservation/cancel")
	b.want(200, "予約を取り消しますか")
	b.post("/reservation/cancel", url.Values{})
	b.want(200, "予約を取り消しました")
	if _, err := e.svc.CurrentReservation(ctx, e.city, me.ID); tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("after cancel: %v, want not_found", err)
	}
	b.post("/logout", url.Values{})
	b.get("/menu")
	b.want(200, "交付通知書の番号と誕生日を入力してください")
	_ = uuid.Nil
	_ = booking.MaxParty
}
