package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/callcenter"
	"github.com/madoguchi/madoguchi/ui/web"
)

// The call-center console's host in the tests (BASE_DOMAIN=localhost).
const ccHost = "callcenter.localhost"

// ccOperator creates a call-center account of role, grants it cities, allows the tests' address
// on the console's allow-list and returns a browser on the console, logged in (first login).
func ccOperator(t *testing.T, e *env, addr, login string, role tenant.OpsRole, cities ...*tenant.Tenant) (*browser, *tenant.OpsAccount) {
	t.Helper()
	ctx := context.Background()
	acc, initial := opsAccount(t, e, login, role)
	if _, err := e.ops.Allow(ctx, tenant.ConsoleCallCenter, "127.0.0.0/8", "test", tenant.VendorCLI()); err != nil && tenant.ErrorCode(err) != tenant.Conflict {
		t.Fatalf("Allow: %v", err)
	}
	for _, c := range cities {
		if err := e.ops.Grant(ctx, acc.ID, c.Slug, tenant.VendorCLI()); err != nil {
			t.Fatalf("Grant(%s): %v", c.Slug, err)
		}
	}
	b := newBrowser(t, addr, ccHost)
	vendorFirstLogin(t, e, b, ccConsole, login, initial, opsPassword)
	return b, acc
}

// ccRoutes lists every route of the call-center console's own app (consoleRoutes).
func ccRoutes(t *testing.T) []string {
	t.Helper()
	return consoleRoutes(t, func(core *web.Core) (*web.Console, error) {
		return callcenter.New(core, fiber.New(), callcenter.Deps{BaseDomain: "localhost"})
	})
}

// ccAudit returns the city's audit rows as "actor action target after".
func ccAudit(t *testing.T, e *env, city *tenant.Tenant) []string { return admAudit(t, e, city) }

// TestCallCenterGrantMatrix: every route of a city's pages (/c/:slug…, enumerated from the
// console's app) answers 403 to an operator without a grant for that city, and each refusal is
// written to that city's audit log; with the grant none of them is a 403. An operator's session
// is useless on a city's /admin and a clerk's on the call center; the ops team gets 403 here.
func TestCallCenterGrantMatrix(t *testing.T) {
	e := newEnv(t, nil)
	addr := serve(t, e)
	other := tenanttestCity(t, e)
	b, _ := ccOperator(t, e, addr, "cc.matrix", tenant.OpsRoleOperator, e.city)
	routes := ccRoutes(t)
	var city []string
	for _, r := range routes {
		if strings.Contains(r, "/c/:slug") {
			city = append(city, r)
		}
	}
	if len(city) < 10 {
		t.Fatalf("found %d city routes in %v", len(city), routes)
	}
	denied := func() int {
		n := 0
		for _, row := range ccAudit(t, e, other) {
			if strings.Contains(row, "vendor.operator.denied") {
				n++
			}
		}
		return n
	}
	before := denied()
	for _, r := range city {
		method, path, _ := strings.Cut(r, " ")
		path = strings.NewReplacer(":id", uuid.NewString()).Replace(path)
		for _, c := range []*tenant.Tenant{other, e.city} {
			p := strings.Replace(path, ":slug", c.Slug, 1)
			b.get("/") // a page with the session's CSRF token
			if method == fiber.MethodPost {
				b.post(p, url.Values{})
			} else {
				b.get(p)
			}
			switch {
			case c == other && b.status != http.StatusForbidden:
				t.Errorf("%s %s without a grant = %d, want 403", method, p, b.status)
			case c == other && strings.Contains(b.last, other.Name):
				t.Errorf("%s %s without a grant shows the city's name", method, p)
			case c == e.city && b.status == http.StatusForbidden:
				t.Errorf("%s %s with the grant = 403", method, p)
			}
		}
	}
	if got := denied() - before; got != len(city) {
		t.Errorf("refusals in the city's audit log = %d, want %d (one per route)", got, len(city))
	}

	// An operator's session is not a clerk's: the city's /admin sends it to its own login.
	resp, _ := rawGet(t, addr, e.city.Slug+".localhost", "/admin", map[string]string{"mdg_cc": cookieOf(b, "mdg_cc"), "mdg_staff": cookieOf(b, "mdg_cc")})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/login") {
		t.Errorf("an operator's session on /admin = %d %s, want a redirect to the staff login", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A clerk's session is not an operator's.
	admAccount(t, e, e.city, "cc.clerk", tenant.RoleStaff, "clerk password one")
	s := newBrowser(t, addr, e.city.Slug+".localhost")
	admLogin(t, s, "cc.clerk", "clerk password one")
	resp, _ = rawGet(t, addr, ccHost, "/c/"+e.city.Slug, map[string]string{"mdg_staff": cookieOf(s, "mdg_staff"), "mdg_cc": cookieOf(s, "mdg_staff")})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("a clerk's session on the call center = %d %s, want a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The ops team uses its own console.
	o := newBrowser(t, addr, ccHost)
	acc, initial := opsAccount(t, e, "cc.opsmember", tenant.OpsRoleOps)
	_ = acc
	o.get("/login")
	o.post("/login", url.Values{"login_id": {"cc.opsmember"}, "password": {initial}})
	o.post("/password", url.Values{"current_password": {initial}, "new_password": {opsPassword}, "new_password2": {opsPassword}})
	secret := strings.ReplaceAll(firstMatch(t, `id="mfa-secret">([A-Z2-7 ]+)<`, o.last), " ", "")
	o.post("/mfa", url.Values{"code": {totpCode(t, e, secret, 0)}})
	o.want(http.StatusForbidden, "コールセンターのオペレーター専用")
}

// callerCard adds a card with the birthday mmdd to the env's city.
func callerCard(t *testing.T, e *env, mmdd string) *booking.Card {
	return bookingtest.MustCard(t, e.svc, e.city, mmdd)
}

// TestCallCenterPhoneBooking: a whole phone booking over HTTP: the city, the caller's check (an
// unknown card and a wrong birthday get the same answer, and nothing of the card), a family
// member, the board, the booking with a note (channel callcenter, one call counted), the read-back
// script, a double submit that books nothing more, a change inside the citizens' deadline that
// needs a reason, the cancellation, and what the city's staff see of it all.
func TestCallCenterPhoneBooking(t *testing.T) {
	e := newEnv(t, nil)
	addr := serve(t, e)
	ctx := context.Background()
	loc := bookingtest.MustLocation(t, e.svc, e.city, "北出張所", 4)
	slot := bookingtest.FirstSlot(t, e.svc, e.city, loc, e.clock.Now())
	card, fam := callerCard(t, e, "0312"), callerCard(t, e, "0705")
	b, acc := ccOperator(t, e, addr, "cc.taro", tenant.OpsRoleOperator, e.city)
	city := "/c/" + e.city.Slug

	b.get("/")
	b.want(200, "市区町村の選択", e.city.Name)
	b.get(city)
	b.want(200, "お電話の方の確認", `id="city-banner"`, e.city.Name, "市区町村を切り替える")

	// Unknown card and wrong birthday: the same answer, nothing of the card.
	b.post(city+"/verify", url.Values{"card_no": {card.CardNo}, "birth": {"0101"}})
	b.want(http.StatusUnauthorized, "製造管理番号と誕生日が一致しません")
	wrong := b.last
	b.post(city+"/verify", url.Values{"card_no": {"987654321"}, "birth": {"0101"}})
	b.want(http.StatusUnauthorized, "製造管理番号と誕生日が一致しません")
	mask := regexp.MustCompile(`value="[0-9]*"|name="_csrf" value="[^"]*"`)
	if mask.ReplaceAllString(wrong, "") != mask.ReplaceAllString(b.last, "") {
		t.Error("a wrong birthday and an unknown card get different pages")
	}
	if strings.Contains(wrong, card.MaskedNo()) || strings.Contains(wrong, "予約はありません") {
		t.Error("a wrong birthday shows something of the card")
	}

	b.post(city+"/verify", url.Values{"card_no": {toFullWidth(card.CardNo)}, "birth": {"03/12"}})
	b.want(200, "お電話の方のカードと予約", card.MaskedNo(), "予約はありません")
	b.post(city+"/family", url.Values{"card_no": {fam.CardNo}, "birth": {"0705"}})
	b.want(200, "ご家族 1", fam.MaskedNo(), "空き状況から予約する（2人）")

	b.get(city + "/board")
	b.want(200, "空き状況", city+"/book?slot="+slot.ID.String(), "北出張所")
	b.get(city + "/book?slot=" + slot.ID.String())
	b.want(200, "予約の確認", "北出張所", "2人")
	if strings.Contains(b.last, `name="reason"`) {
		t.Error("a time the citizens may still book asks for a reason")
	}
	key := firstMatch(t, `name="key" value="([0-9a-f]+)"`, b.last)
	form := url.Values{"slot": {slot.ID.String()}, "key": {key}, "email": {""}, "mail_lang": {"ja"}, "note": {"折り返し不要。ゆっくり話す"},
		"_csrf": {csrfOf(b.last)}}
	b.post(city+"/book", form)
	b.want(200, "予約を受け付けました", "読み上げ", "北出張所", "2人分")
	r, err := e.svc.CurrentReservation(ctx, e.city, card.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Channel != tenant.ChannelCallCenter || r.PartySize != 2 || r.CallNote != "折り返し不要。ゆっくり話す" {
		t.Errorf("booking = channel %s, party %d, note %q", r.Channel, r.PartySize, r.CallNote)
	}
	for _, want := range []string{web.GroupCode(r.Code), web.FormatDateLong("ja", booking.DateOf(r.StartsAt)), r.StartsAt.In(booking.JST).Format("15:04")} {
		if !strings.Contains(b.last, want) {
			t.Errorf("the read-back script lacks %q", want)
		}
	}
	// The same form again (a double click): the same booking, nothing more.
	b.post(city+"/book", form)
	b.want(200, web.GroupCode(r.Code))
	if sl, _ := e.svc.SlotByID(ctx, e.city, slot.ID); sl.Booked != 2 {
		t.Errorf("after a double submit the slot has %d booked, want 2", sl.Booked)
	}

	day := booking.DateOf(e.clock.Now()).Time(0, 0)
	calls, err := e.ops.CallCounts(ctx, day, day.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || calls[0].Login != acc.LoginID || calls[0].Calls != 1 {
		t.Errorf("calls counted = %+v, want one call of %s (the family member not counted)", calls, acc.LoginID)
	}

	// Inside the citizens' deadline, a change needs a reason.
	slots, err := e.svc.SlotsBetween(ctx, e.city, loc.ID, booking.DateFromDB(slot.Day), booking.DateFromDB(slot.Day).AddDays(30))
	if err != nil {
		t.Fatal(err)
	}
	var later *booking.Slot
	for i := range slots {
		if slots[i].Open && slots[i].StartsAt.After(slot.StartsAt) && booking.DateFromDB(slots[i].Day) != booking.DateFromDB(slot.Day) {
			later = &slots[i]
			break
		}
	}
	if later == nil {
		t.Fatal("no later slot")
	}
	e.clock.Set(slot.StartsAt.Add(-time.Hour)) // the booking's day is today now: inside the deadline
	b.get(city + "/caller")
	b.want(200, "受付期限を過ぎています")
	b.get(city + "/book?slot=" + later.ID.String())
	b.want(200, "日時の変更の確認", `name="reason"`)
	change := url.Values{"slot": {later.ID.String()}, "key": {"x"}, "change": {r.ID.String()}, "_csrf": {csrfOf(b.last)}}
	b.post(city+"/book", change)
	b.want(http.StatusUnprocessableEntity, "受付期限を過ぎているため、理由を記入してください。")
	change.Set("reason", "本人から入院のため変更の申出")
	b.post(city+"/book", change)
	b.want(200, "予約を受け付けました", web.GroupCode(r.Code))
	b.post(city+"/book", change) // sent twice: the booking has moved already
	b.want(200, "予約を受け付けました", web.GroupCode(r.Code))
	b.get(city + "/cancel")
	b.want(200, "予約の取消しの確認")
	cancel := url.Values{"_csrf": {csrfOf(b.last)}}
	if strings.Contains(b.last, `name="reason"`) {
		cancel.Set("reason", "本人から取消しの申出")
	}
	b.post(city+"/cancel", cancel)
	b.want(200, "予約を取り消しました。", "予約はありません")

	rows := strings.Join(ccAudit(t, e, e.city), "\n")
	for _, want := range []string{"vendor:cc.taro callcenter.verify.failed", "vendor:cc.taro callcenter.card.read", "vendor:cc.taro reservation.create",
		"vendor:cc.taro reservation.view", "本人から入院のため変更の申出", "vendor:cc.taro reservation.cancel"} {
		if !strings.Contains(rows, want) {
			t.Errorf("the city's audit log lacks %q:\n%s", want, rows)
		}
	}
	// The city's staff see the operator's actions and the note on the booking.
	admAccount(t, e, e.city, "cc.viewer", tenant.RoleStaff, "viewer password one")
	s := newBrowser(t, addr, e.city.Slug+".localhost")
	admLogin(t, s, "cc.viewer", "viewer password one")
	s.get("/admin/bookings/" + r.ID.String())
	s.want(200, "コールセンターのメモ", "折り返し不要。ゆっくり話す", "vendor:cc.taro", "本人から入院のため変更の申出", "コールセンター")

	b.post(city+"/end", url.Values{})
	b.want(200, "通話を終えました")
	b.get(city + "/caller")
	b.want(200, "受付中の通話がありません")
}

// TestCallCenterChecksCountTowardLockouts: an operator's wrong birthdays count toward the card's
// own lockout (the citizen is then locked out on the web too) and toward the operator's limit,
// but not toward the IP layers that every operator shares.
func TestCallCenterChecksCountTowardLockouts(t *testing.T) {
	e := newEnv(t, nil)
	addr := serve(t, e)
	card, other := callerCard(t, e, "0312"), callerCard(t, e, "1224")
	b, _ := ccOperator(t, e, addr, "cc.lock", tenant.OpsRoleOperator, e.city)
	city := "/c/" + e.city.Slug
	b.get(city)
	for range 5 {
		b.post(city+"/verify", url.Values{"card_no": {card.CardNo}, "birth": {"0101"}})
	}
	b.post(city+"/verify", url.Values{"card_no": {card.CardNo}, "birth": {"0312"}})
	b.want(http.StatusTooManyRequests, "確認できません")
	if _, err := e.svc.Login(context.Background(), e.city, booking.LoginInput{CardNo: card.CardNo, Birth: "0312", IP: "198.51.100.7"}); tenant.ErrorCode(err) != tenant.Throttled {
		t.Errorf("the citizen's own login after the operator's failures = %v, want throttled", err)
	}
	// The operator's own limit (20 failed checks an hour), on cards that do not exist.
	for i := range 15 {
		b.post(city+"/verify", url.Values{"card_no": {"90000000" + string(rune('0'+i%10))}, "birth": {"0101"}})
	}
	b.post(city+"/verify", url.Values{"card_no": {other.CardNo}, "birth": {"1224"}})
	b.want(http.StatusTooManyRequests, "確認の誤りが続いたため")
	// Another operator from the same address is not held back, nor is a citizen on that address.
	c, _ := ccOperator(t, e, addr, "cc.lock2", tenant.OpsRoleOperator, e.city)
	c.get(city)
	c.post(city+"/verify", url.Values{"card_no": {other.CardNo}, "birth": {"1224"}})
	c.want(200, "お電話の方のカードと予約")
	if _, err := e.svc.Login(context.Background(), e.city, booking.LoginInput{CardNo: other.CardNo, Birth: "1224", IP: "127.0.0.1"}); err != nil {
		t.Errorf("a citizen's login from the call center's address after 20 failed checks = %v", err)
	}
}

// TestCallCenterRaceForTheLastPlace: ten times, the call center and the web book the last place
// of a time at the same moment: exactly one wins, and when the web wins the operator's form
// comes back with 満席 and the new count.
func TestCallCenterRaceForTheLastPlace(t *testing.T) {
	e := newEnv(t, nil)
	addr := serve(t, e)
	ctx := context.Background()
	loc := bookingtest.MustLocation(t, e.svc, e.city, "西窓口", 1)
	first := bookingtest.FirstSlot(t, e.svc, e.city, loc, e.clock.Now())
	slots, err := e.svc.SlotsBetween(ctx, e.city, loc.ID, booking.DateFromDB(first.Day), booking.DateFromDB(first.Day).AddDays(30))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ccOperator(t, e, addr, "cc.race", tenant.OpsRoleOperator, e.city)
	city := "/c/" + e.city.Slug
	wins := map[string]int{}
	round := 0
	for i := range slots {
		if round == 10 {
			break
		}
		s := slots[i]
		if !s.Open || s.Capacity != 1 || s.Booked != 0 {
			continue
		}
		round++
		caller, web := callerCard(t, e, "0312"), callerCard(t, e, "0312")
		b.get(city)
		b.post(city+"/verify", url.Values{"card_no": {caller.CardNo}, "birth": {"0312"}})
		b.want(200, "お電話の方のカードと予約")
		b.get(city + "/book?slot=" + s.ID.String())
		form := url.Values{"slot": {s.ID.String()}, "key": {uuid.NewString()}, "mail_lang": {"ja"}, "_csrf": {csrfOf(b.last)}}
		var wg sync.WaitGroup
		var webErr error
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			_, webErr = e.svc.Reserve(ctx, e.city, booking.ReserveInput{SlotID: s.ID, CardIDs: []uuid.UUID{web.ID}, Actor: tenant.Citizen("198.51.100.9")})
		}()
		go func() {
			defer wg.Done()
			<-start
			b.post(city+"/book", form)
		}()
		close(start)
		wg.Wait()
		ccWon := b.status == 200 && strings.Contains(b.last, "予約を受け付けました")
		webWon := webErr == nil
		switch {
		case ccWon == webWon:
			t.Fatalf("round %d: call center won %v, web won %v (web: %v; page %d)", round, ccWon, webWon, webErr, b.status)
		case webWon && (b.status != http.StatusConflict || !strings.Contains(b.last, "満席になりました（残り0人）")):
			t.Errorf("round %d: the operator's form after losing = %d %.300s", round, b.status, b.last)
		case ccWon && tenant.AsError(webErr).Key != "slot.full":
			t.Errorf("round %d: the web's answer after losing = %v", round, webErr)
		}
		if ccWon {
			wins["callcenter"]++
		} else {
			wins["web"]++
		}
		if sl, _ := e.svc.SlotByID(ctx, e.city, s.ID); sl.Booked != 1 {
			t.Fatalf("round %d: %d booked of 1", round, sl.Booked)
		}
	}
	if round < 10 {
		t.Fatalf("only %d free times of one place", round)
	}
	t.Logf("winners over 10 rounds: %v", wins)
}

// TestCallCenterSupervisor: supervisors see today's calls per operator and city; operators get 403.
func TestCallCenterSupervisor(t *testing.T) {
	e := newEnv(t, nil)
	addr := serve(t, e)
	card := callerCard(t, e, "0312")
	op, _ := ccOperator(t, e, addr, "cc.op", tenant.OpsRoleOperator, e.city)
	op.get("/c/" + e.city.Slug)
	op.post("/c/"+e.city.Slug+"/verify", url.Values{"card_no": {card.CardNo}, "birth": {"0312"}})
	op.want(200, "お電話の方のカードと予約")
	if strings.Contains(op.last, `href="/supervisor"`) {
		t.Error("an operator's menu offers the supervisors' page")
	}
	op.get("/supervisor")
	op.want(http.StatusForbidden, "スーパーバイザー専用")
	sv, _ := ccOperator(t, e, addr, "cc.sv", tenant.OpsRoleSupervisor, e.city)
	sv.get("/supervisor")
	sv.want(200, `href="/supervisor"`, "応対件数", "合計1件", "cc.op", e.city.Name)
}

// TestCallCenterBoardLive: the board carries its stream, and a booking from any channel reaches
// an open board within one second with the new count; the stream ends when the operator logs out.
func TestCallCenterBoardLive(t *testing.T) {
	opt, w := withLive(t, web.LiveConfig{KeepAlive: 200 * time.Millisecond})
	e := newEnv(t, nil, opt)
	if !<-w.live {
		t.Fatal("feed not live")
	}
	ctx := context.Background()
	loc := bookingtest.MustLocation(t, e.svc, e.city, "東窓口", 3)
	slot := bookingtest.FirstSlot(t, e.svc, e.city, loc, e.now())
	addr := serve(t, e)
	b, _ := ccOperator(t, e, addr, "cc.live", tenant.OpsRoleOperator, e.city)
	from := booking.DateFromDB(slot.Day).String()
	b.get("/c/" + e.city.Slug + "/board?from=" + from)
	live := "/c/" + e.city.Slug + "/board/live?from=" + from
	b.want(200, `data-live="`+live+`"`)
	s := openLive(t, b, live)
	left := regexp.MustCompile(`data-slot="` + slot.ID.String() + `">[0-9:]+</a>\s*<span class="cc-left" data-left="([0-9]+)"`)
	if m := left.FindStringSubmatch(s.next(t, 5*time.Second)); m == nil || m[1] != "3" {
		t.Fatalf("first fragment: places left %v, want 3", m)
	}
	card := callerCard(t, e, "0101")
	start := time.Now()
	if _, err := w.svc.Reserve(ctx, e.city, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{card.ID}, Actor: tenant.Citizen("198.51.100.3")}); err != nil {
		t.Fatal(err)
	}
	got := s.next(t, time.Second)
	if m := left.FindStringSubmatch(got); m == nil || m[1] != "2" {
		t.Fatalf("after a web booking the board shows %v, want 2 left", m)
	}
	t.Logf("web booking → operator's board: %v", time.Since(start))
	b.post("/logout", url.Values{})
	select {
	case <-s.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the board's stream is still open after the logout")
	}
}
