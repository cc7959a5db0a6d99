package ui_test

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
)

// TestHelpGuide: the citizens' printable guide is each city's own: its name, its booking site's
// address and a QR code of exactly that address, its active places with their addresses and weekly
// hours (touching windows joined, days with the same hours together), its deadline as it counts
// it and its phone number; a city without a phone or places gets a note for staff instead, and
// the place names and addresses a city typed are escaped. Citizens cannot open it.
func TestHelpGuide(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	a, b := e.city, tenanttestCity(t, e)
	st := a.Settings
	two := 2
	st.CallCenterPhone, st.BookingDeadlineDays, st.DeadlineOpeningDays = "0598-53-4000", &two, true
	if err := tenant.NewService(e.db.App).UpdateSettings(ctx, a.ID, st); err != nil {
		t.Fatal(err)
	}
	a.Settings = st
	loc, err := e.svc.AddLocation(ctx, a, booking.Location{Name: `本庁 <b>&窓口`, Address: `殿町1340番地1 "2F"<script>x</script>`, Active: true, SortOrder: 1}, bookingtest.Admin)
	if err != nil {
		t.Fatal(err)
	}
	var ws []booking.Window
	for wd := time.Monday; wd <= time.Friday; wd++ {
		ws = append(ws, booking.Window{Weekday: wd, Start: 8*60 + 30, End: 12 * 60, SlotMinutes: 30, Capacity: 2},
			booking.Window{Weekday: wd, Start: 12 * 60, End: 17 * 60, SlotMinutes: 30, Capacity: 2})
		if wd == time.Thursday {
			ws = append(ws, booking.Window{Weekday: wd, Start: 17*60 + 15, End: 19 * 60, SlotMinutes: 15, Capacity: 1})
		}
	}
	ws = append(ws, booking.Window{Weekday: time.Sunday, Start: 9 * 60, End: 12 * 60, SlotMinutes: 30, Capacity: 1})
	if err := e.svc.SetWeeklySchedule(ctx, a, loc.ID, ws, bookingtest.Admin); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddLocation(ctx, a, booking.Location{Name: "閉鎖した出張所", Active: false}, bookingtest.Admin); err != nil {
		t.Fatal(err)
	}
	admAccount(t, e, a, "guide.clerk", tenant.RoleStaff, "guide clerk password")
	admAccount(t, e, b, "guide.admin", tenant.RoleAdmin, "guide admin password")
	addr := serve(t, e)
	_, port, _ := strings.Cut(addr, ":")

	t.Run("city with phone, opening-day deadline and a place", func(t *testing.T) {
		br := newBrowser(t, addr, a.Slug+".localhost:"+port)
		staffLogin(t, br, "guide.clerk", "guide clerk password")
		br.get("/admin/help/guide")
		site := "http://" + a.Slug + ".localhost:" + port + "/"
		br.want(200, html.EscapeString(a.Name), `id="guide-url">`+site+`<`, `<svg class="qr"`,
			"マイナンバーカードの受け取りは、インターネットで予約できます",
			"来庁日の開庁日で2日前まで", "土曜日・日曜日・祝日・年末年始（12月29日～1月3日）を除いて数えます",
			`<span id="guide-tel">0598-53-4000</span>`,
			"本庁 &lt;b&gt;&amp;窓口", "殿町1340番地1 &#34;2F&#34;&lt;script&gt;x&lt;/script&gt;",
			"月～水・金曜日　8:30～17:00", "木曜日　8:30～17:00、17:15～19:00", "日曜日　9:00～12:00",
			"「予約・予約の確認・変更・取消はこちら」", "「製造管理番号」と「誕生日（月と日）」を入力し、「次へ進む」",
			"「この時間で予約に進む」", "「この内容で予約する」", "交付通知書と本人確認書類")
		for _, not := range []string{"<script>x", "閉鎖した出張所", "個人番号カード", `id="guide-no-phone"`, `id="guide-no-places"`} {
			if strings.Contains(br.last, not) {
				t.Errorf("the guide contains %q", not)
			}
		}
		checkQR(t, br.last, site)
	})

	t.Run("city with defaults and no places", func(t *testing.T) {
		br := newBrowser(t, addr, b.Slug+".localhost:"+port)
		staffLogin(t, br, "guide.admin", "guide admin password")
		br.get("/admin/help/guide")
		br.want(200, html.EscapeString(b.Name), "来庁日の前日まで", `id="guide-no-phone"`, `id="guide-no-places"`,
			"交付場所の窓口にお問い合わせください")
		for _, not := range []string{html.EscapeString(a.Name), "0598-53-4000", "開庁日で", "本庁"} {
			if strings.Contains(br.last, not) {
				t.Errorf("city %s's guide contains %q", b.Slug, not)
			}
		}
		checkQR(t, br.last, "http://"+b.Slug+".localhost:"+port+"/")
	})

	t.Run("citizens cannot open it", func(t *testing.T) {
		br := newBrowser(t, addr, a.Slug+".localhost:"+port)
		br.get("/admin/help/guide")
		if strings.Contains(br.last, "guide-url") || !strings.Contains(br.last, `name="login_id"`) {
			t.Errorf("without a staff login: status %d, %.300s", br.status, br.last)
		}
	})
}

// checkQR redraws the QR code of the page's SVG (one rectangle per run of dark modules) and
// compares it module by module with the QR code of want.
func checkQR(t *testing.T, page, want string) {
	t.Helper()
	m := regexp.MustCompile(`<svg class="qr"[^>]*viewBox="0 0 (\d+) \d+"[^>]*>.*?<path fill="#000" d="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no QR code on the page")
	}
	q, err := qrcode.New(want, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	bits := q.Bitmap()
	n, _ := strconv.Atoi(m[1])
	if n != len(bits) {
		t.Fatalf("QR code of %d modules, want %d", n, len(bits))
	}
	got := make([][]bool, n)
	for y := range got {
		got[y] = make([]bool, n)
	}
	for _, r := range regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`).FindAllStringSubmatch(m[2], -1) {
		x, _ := strconv.Atoi(r[1])
		y, _ := strconv.Atoi(r[2])
		w, _ := strconv.Atoi(r[3])
		for i := range w {
			got[y][x+i] = true
		}
	}
	for y := range bits {
		if fmt.Sprint(got[y]) != fmt.Sprint(bits[y]) {
			t.Fatalf("QR code row %d differs from the code of %q", y, want)
		}
	}
}
