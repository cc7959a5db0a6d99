package ui_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
)

// TestOpsTrainingHTTP: the vendor opens a city's training copy from the city's page, behind a
// check page (its admin's password once, no-store), cannot open a second one, resets it now, and
// cannot reset a real city. The copy says 研修用 on the citizens' and the staff's pages, names its
// downloads kensyu_…, and is marked in the city list; the real city's pages are not marked.
func TestOpsTrainingHTTP(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	opsAllow(t, e, "127.0.0.1")
	addr := serve(t, e)
	b, _ := opsMember(t, e, addr, "ops.yamada")
	tsu, _, err := e.cities.Onboard(ctx, tenant.OnboardInput{Slug: "tsu", Name: "津市", Code: "242012", AdminLogin: "tsu.admin"}, tenant.VendorCLI())
	if err != nil {
		t.Fatal(err)
	}
	loc := bookingtest.MustLocation(t, e.svc, tsu, "津市役所本庁舎", 3)
	card := bookingtest.MustCard(t, e.svc, tsu, "0312")
	slot := bookingtest.FirstSlot(t, e.svc, tsu, loc, e.now())
	if _, err := e.svc.Reserve(ctx, tsu, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{card.ID}, Email: "citizen@example.jp", Actor: bookingtest.Citizen}); err != nil {
		t.Fatal(err)
	}

	b.get("/cities/tsu")
	b.want(200, `href="/cities/tsu/training"`)
	b.get("/cities/tsu/training")
	b.want(200, "津市の研修用環境を作成する", "tsu-kensyu", "写さないもの", "kensyu.admin")
	resp, body := rawDo(t, addr, "POST", opsHost, "/cities/tsu/training", map[string]string{"mdg_ops": cookieOf(b, "mdg_ops")},
		url.Values{"_csrf": {csrfOf(b.last)}})
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(body, "研修用環境「津市（研修用）」を作成しました") {
		t.Fatalf("open training: %d, Cache-Control %q: %.1500s", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
	pw := firstMatch(t, `id="initial-password">([^<]+)<`, body)
	kensyu, err := e.cities.BySlug(ctx, "tsu-kensyu")
	if err != nil || !kensyu.Training() {
		t.Fatalf("training city: %+v, %v", kensyu, err)
	}
	admAuditHas(t, e, tsu, "vendor:ops.yamada vendor.training.create tsu-kensyu")
	admAuditHas(t, e, kensyu, "vendor:ops.yamada vendor.training.create tsu-kensyu")

	// One copy per city; the city page links to it, and the list marks it.
	b.get("/cities/tsu")
	b.want(200, `href="/cities/tsu-kensyu"`, "津市（研修用）")
	if strings.Contains(b.last, `href="/cities/tsu/training"`) {
		t.Error("the city page still offers a second copy")
	}
	b.get("/cities/tsu/training")
	b.want(200, "この自治体には研修用環境「津市（研修用）」があります")
	b.post("/cities/tsu/training", url.Values{})
	b.want(422, "この自治体の研修用環境はすでにあります", `href="#f-training"`)
	b.get("/cities?q=tsu")
	b.want(200, `<strong class="training-tag">研修用</strong>`)

	// A real city is never reset.
	b.get("/cities/tsu/training/reset")
	b.want(200, "研修用環境ではないため")
	b.post("/cities/tsu/training/reset", url.Values{})
	b.want(422, "研修用環境ではないため")

	// The banner: on the copy's citizen and staff pages, not on the city's.
	const banner = "研修用の環境です。実際の予約は受け付けていません。"
	citizen := newBrowser(t, addr, "tsu-kensyu.localhost")
	citizen.get("/")
	citizen.want(200, banner, `class="training-banner"`)
	real := newBrowser(t, addr, "tsu.localhost")
	real.get("/")
	real.want(200, "津市")
	if strings.Contains(real.last, banner) {
		t.Error("the real city's page says it is a training environment")
	}
	staff := newBrowser(t, addr, "tsu-kensyu.localhost")
	staff.get("/admin/login")
	staff.want(200, banner)
	staff.post("/admin/login", url.Values{"login_id": {tenant.TrainingAdminLogin}, "password": {pw}})
	staff.post("/admin/password", url.Values{"current_password": {pw}, "new_password": {"kensyu trainer passphrase"}, "new_password2": {"kensyu trainer passphrase"}})
	staff.want(200, "本日と明日の予約", banner)
	staff.get("/admin/reports.csv?month=" + e.now().In(booking.JST).Format("2006-01") + "&encoding=utf8")
	if staff.status != 200 || !strings.Contains(staff.header.Get("Content-Disposition"), `filename="kensyu_report_`) {
		t.Errorf("training CSV: %d, Content-Disposition %q", staff.status, staff.header.Get("Content-Disposition"))
	}

	// Reset now: the practice is gone, the log starts again with the reset.
	staff.get("/admin/bookings")
	b.get("/cities/tsu-kensyu")
	b.want(200, `href="/cities/tsu-kensyu/training/reset"`, "津市（研修用）")
	b.get("/cities/tsu-kensyu/training/reset")
	b.want(200, "津市（研修用）を作成直後の状態に戻す", "今すぐ元に戻す")
	b.post("/cities/tsu-kensyu/training/reset", url.Values{})
	b.want(200, "研修用環境を作成直後の状態に戻しました")
	rows := admAudit(t, e, kensyu)
	if len(rows) != 1 || !strings.HasPrefix(rows[0], "vendor:ops.yamada training.reset tsu-kensyu") {
		t.Errorf("audit log after the reset: %q", rows)
	}
	// The real city's booking and card are untouched.
	if c, err := e.svc.CardByID(ctx, tsu.ID, card.ID); err != nil || c.Status != booking.CardReserved {
		t.Errorf("the real city's card: %+v, %v", c, err)
	}
}
