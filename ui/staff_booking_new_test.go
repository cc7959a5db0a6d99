package ui_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
)

// link returns the first href on the page matching re (one group), unescaped.
func link(t *testing.T, page, re string) string {
	t.Helper()
	return html.UnescapeString(firstMatch(t, re, page))
}

func slotNow(t *testing.T, e *env, tn *tenant.Tenant, id uuid.UUID) *booking.Slot {
	t.Helper()
	s, err := e.svc.SlotByID(context.Background(), tn, id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openDaysAfter returns the first n days after day on which loc has at least two times that have
// not started at the env's clock (public holidays and the year-end closure have none).
func openDaysAfter(t *testing.T, e *env, tn *tenant.Tenant, loc *booking.Location, day booking.Date, n int) []booking.Date {
	t.Helper()
	var out []booking.Date
	for range 60 {
		day = day.AddDays(1)
		slots, err := e.svc.SlotsOn(context.Background(), tn, loc.ID, day, bookingtest.Admin)
		if err != nil {
			t.Fatal(err)
		}
		if len(slots) >= 2 {
			if out = append(out, day); len(out) == n {
				return out
			}
		}
	}
	t.Fatalf("fewer than %d open days in the 60 before %s", n, day)
	return nil
}

// daysBetween is the number of days from a to b.
func daysBetween(a, b booking.Date) int {
	return int(b.StdTime().Sub(a.StdTime()).Hours() / 24)
}

func TestStaffBookingNewHTTP(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	honcho := bookingtest.MustLocation(t, e.svc, e.city, "本庁舎", 2)
	// The next two open days (tomorrow and the day after, unless a holiday or the year-end
	// closure comes first) are past the citizens' deadline, not staff's: citizens may book only
	// from the day after them (three days ahead on an ordinary day).
	today := booking.DateOf(e.clock.Now())
	open := openDaysAfter(t, e, e.city, honcho, today, 2)
	staffDay, staffDay2 := open[0], open[1]
	deadline := daysBetween(today, staffDay2) + 1
	e.city.Settings.BookingDeadlineDays = &deadline
	if err := tenant.NewService(e.db.App).UpdateSettings(ctx, e.city.ID, e.city.Settings); err != nil {
		t.Fatal(err)
	}
	cardA, cardB := bookingtest.MustCard(t, e.svc, e.city, "0312"), bookingtest.MustCard(t, e.svc, e.city, "1105")
	booked := bookingtest.MustCard(t, e.svc, e.city, "0101")
	first := bookingtest.FirstSlot(t, e.svc, e.city, honcho, e.clock.Now())
	rBooked := mustReserve(t, e, e.city, first, tenant.ChannelWeb, "", booked)
	// A later open day, clear of the bookings on the first one citizens may book.
	laterDay := openDaysAfter(t, e, e.city, honcho, booking.DateFromDB(first.Day), 1)[0]
	void, issued := bookingtest.MustCard(t, e.svc, e.city, "0202"), bookingtest.MustCard(t, e.svc, e.city, "0303")
	staffActor := tenant.Staff(uuid.Nil, "setup", "")
	if err := e.svc.ChangeCardStatus(ctx, e.city, []uuid.UUID{void.ID}, booking.CardVoid, staffActor); err != nil {
		t.Fatal(err)
	}
	for _, st := range []booking.CardStatus{booking.CardNoticeSent, booking.CardVisited, booking.CardIssued} {
		if err := e.svc.ChangeCardStatus(ctx, e.city, []uuid.UUID{issued.ID}, st, staffActor); err != nil {
			t.Fatal(err)
		}
	}
	other := tenanttestCity(t, e)
	otherLoc := bookingtest.MustLocation(t, e.svc, other, "よその庁舎", 5)
	otherCard := bookingtest.MustCard(t, e.svc, other, "0404")
	otherSlot := bookingtest.FirstSlot(t, e.svc, other, otherLoc, e.clock.Now())
	otherHold, err := e.svc.HoldSlot(ctx, other, otherSlot.ID, 1, uuid.Nil, tenant.Actor{Channel: tenant.ChannelStaff, Login: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range open {
		if days, _ := e.svc.Availability(ctx, e.city, honcho.ID, d, d, 2, bookingtest.Citizen); days[0].Mark != booking.MarkClosed {
			t.Fatalf("%s is open to citizens: %v", d, days)
		}
	}

	addr := serve(t, e)
	anon := newBrowser(t, addr, e.city.Slug+".localhost")
	anon.get("/admin/bookings/new")
	anon.want(200, "職員ログイン")
	b := staffBrowser(t, e, addr, "clerk1")
	code := func(c string) string { return c[:4] + " " + c[4:] }

	t.Run("each refused line is named with its reason", func(t *testing.T) {
		b.t = t
		b.get("/admin/bookings")
		b.want(200, `href="/admin/bookings/new"`, "新しい予約")
		b.get("/admin/bookings/new")
		b.want(200, "新しい予約", "1人目", "6人目")
		b.post("/admin/bookings/new", url.Values{"card1": {void.CardNo}, "card2": {issued.CardNo}, "card3": {booked.CardNo},
			"card4": {otherCard.CardNo}, "card5": {`"><script>alert(1)</script>`}, "card6": {cardA.CardNo}})
		b.want(422, "エラー：", "1人目：このカードは「無効」", "2人目：このカードはすでに交付済み", "3人目：このカードはすでに予約されています",
			"/admin/bookings/"+rBooked.ID.String(), code(rBooked.Code), "4人目：この番号のカードは、この市の交付対象として登録されていません",
			"5人目：", "&#34;&gt;&lt;script&gt;", `aria-invalid="true"`, `value="`+cardA.CardNo+`"`)
		if strings.Contains(b.last, "<script>alert") || strings.Contains(b.last, "6人目：") {
			t.Fatal("hostile input echoed raw, or a good line refused")
		}
		b.post("/admin/bookings/new", url.Values{"card1": {""}, "card2": {"  "}})
		b.want(422, "1人分以上")
		b.post("/admin/bookings/new", url.Values{"card1": {cardA.CardNo}, "card2": {toFullWidth(cardA.CardNo)}})
		b.want(422, "2人目：同じ番号が2回")
		b.post("/admin/bookings/new", url.Values{"card1": {"123456789012"}})
		b.want(422, "1人目：")
		b.post("/admin/bookings/new", url.Values{"card1": {cardA.CardNo}, "_csrf": {"forged"}})
		b.want(403)
	})

	var confirmPage string
	t.Run("book two cards for the next open day, past the citizens' deadline", func(t *testing.T) {
		b.t = t
		b.get("/admin/bookings/new")
		wide := toFullWidth(cardA.CardNo[:3]) + "－" + toFullWidth(cardA.CardNo[3:])
		b.post("/admin/bookings/new", url.Values{"card1": {wide}, "card3": {cardB.CardNo}})
		b.want(200, "交付場所を選ぶ", "本庁舎", "本庁 &lt;script&gt;", cardA.CardNo, cardB.CardNo)
		calendar := link(t, b.last, `href="(/admin/bookings/new/calendar\?[^"]*location=`+honcho.ID.String()+`)"`)
		b.get(calendar)
		b.want(200, "来庁日を選ぶ", "本庁舎（2人）")
		if month := staffDay.String()[:7]; month != today.String()[:7] { // the calendar opens on this month
			b.get(calendar + "&month=" + month)
		}
		b.want(200, "来庁日を選ぶ", "day="+staffDay.String())
		b.get(link(t, b.last, `href="(/admin/bookings/new/times\?[^"]*day=`+staffDay.String()+`)"`))
		b.want(200, "の時間を選ぶ", `name="slot"`)
		slot := firstMatch(t, `name="slot" value="([0-9a-f-]{36})"`, b.last)
		b.post("/admin/bookings/new/hold", url.Values{"cards": {firstMatch(t, `name="cards" value="([^"]+)"`, b.last)},
			"location": {honcho.ID.String()}, "day": {staffDay.String()}, "slot": {slot}})
		b.want(200, "内容の確認", "まで確保しています", cardA.CardNo, cardB.CardNo, "予約する")
		if s := slotNow(t, e, e.city, uuid.MustParse(slot)); s.Held != 2 {
			t.Fatalf("held places = %d, want 2", s.Held)
		}
		confirmPage = b.last
		form := url.Values{"cards": {firstMatch(t, `name="cards" value="([^"]+)"`, b.last)}, "hold": {firstMatch(t, `name="hold" value="([^"]+)"`, b.last)},
			"slot": {slot}, "mail_lang": {"en"}}
		form.Set("email", "family@example.jp")
		form.Set("email2", "famiiy@example.jp")
		b.post("/admin/bookings/new/reserve", form)
		b.want(422, "一致しません", `value="family@example.jp"`)
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set("email", `"><img src=x onerror=alert(1)>`)
		bad.Set("email2", bad.Get("email"))
		bad.Set("mail_lang", "xx")
		b.post("/admin/bookings/new/reserve", bad)
		b.want(422, "メールの言語を選んでください", "&#34;&gt;&lt;img")
		if strings.Contains(b.last, "<img src=x") {
			t.Fatal("hostile e-mail echoed raw")
		}
		form.Set("email2", "family@example.jp")
		b.post("/admin/bookings/new/reserve", form)
		b.want(200, "予約を登録しました", "予約の詳細", cardA.CardNo, cardB.CardNo, "登録あり")
		r, err := e.svc.CurrentReservation(ctx, e.city, cardA.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Channel != tenant.ChannelStaff || r.Lang != "en" || r.PartySize != 2 || r.SlotID.String() != slot || len(r.Cards) != 2 {
			t.Fatalf("reservation = %+v", r.Reservation)
		}
		if !strings.Contains(b.last, code(r.Code)) {
			t.Error("the detail page lacks the booking code")
		}
		if s := slotNow(t, e, e.city, r.SlotID); s.Held != 0 || s.Booked != 2 {
			t.Errorf("slot after booking: held %d booked %d, want 0 and 2", s.Held, s.Booked)
		}
		var mails int
		_ = tenant.InTx(ctx, e.db.App, e.city.ID, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewRaw("SELECT count(*) FROM outbox WHERE reservation_id = ? AND kind = 'reservation_created'", r.ID).Scan(ctx, &mails)
		})
		if mails != 1 {
			t.Errorf("outbox rows = %d, want 1", mails)
		}

		// The same form sent again (double click, reload): still one booking, and the clerk sees it.
		b.post("/admin/bookings/new/reserve", form)
		b.want(200, "すでに登録されています", code(r.Code))
		var n int
		_ = tenant.InTx(ctx, e.db.App, e.city.ID, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewRaw("SELECT count(*) FROM reservations WHERE status = 'booked' AND id IN (SELECT reservation_id FROM reservation_cards WHERE card_id = ?)", cardA.ID).Scan(ctx, &n)
		})
		if n != 1 {
			t.Errorf("bookings of the card after a resubmit = %d, want 1", n)
		}

		a := auditRows(t, e, e.city)
		cr := a["reservation.create"]
		if len(cr) != 1 || cr[0].Actor != "clerk1" || cr[0].Target != r.Code || cr[0].IP == "" ||
			!strings.Contains(cr[0].After, cardA.CardNo) || !strings.Contains(cr[0].After, cardB.CardNo) || strings.Contains(cr[0].After, "@") {
			t.Errorf("reservation.create audit = %+v", cr)
		}
		if len(a["card.lookup"]) == 0 {
			t.Error("no card.lookup audit row")
		}
	})

	t.Run("another city's cards, location, slot and hold are not found", func(t *testing.T) {
		b.t = t
		b.get("/admin/bookings/new/place?cards=" + otherCard.ID.String())
		b.want(404)
		b.get("/admin/bookings/new/place?cards=" + cardB.ID.String() + "," + otherCard.ID.String())
		b.want(404)
		b.get("/admin/bookings/new/place?cards=not-a-uuid")
		b.want(404)
		b.get("/admin/bookings/new/calendar?cards=" + cardB.ID.String() + "&location=" + otherLoc.ID.String())
		b.want(404)
		b.get("/admin/bookings/new/confirm?cards=" + cardB.ID.String() + "&hold=" + otherHold.ID.String())
		b.want(404, "確保していた時間が見つかりません")
		if strings.Contains(b.last, "よその庁舎") {
			t.Error("the page leaks the other city's location")
		}
		b.get("/admin/bookings/new")
		b.post("/admin/bookings/new/hold", url.Values{"cards": {cardB.ID.String()}, "location": {honcho.ID.String()},
			"day": {staffDay.String()}, "slot": {otherSlot.ID.String()}})
		b.want(404)
		b.get("/admin/bookings/new")
		b.post("/admin/bookings/new/release", url.Values{"cards": {cardB.ID.String()}, "hold": {otherHold.ID.String()}})
		b.want(200, "新しい予約をやめ")
		if s := slotNow(t, e, other, otherSlot.ID); s.Held != 1 {
			t.Errorf("another city's hold was released: held %d", s.Held)
		}
	})

	// A fresh card for the remaining cases.
	cardC := bookingtest.MustCard(t, e.svc, e.city, "0505")
	start := func(t *testing.T) (cards string, slot *booking.Slot) {
		t.Helper()
		b.get("/admin/bookings/new")
		b.post("/admin/bookings/new", url.Values{"card1": {cardC.CardNo}})
		b.want(200, "交付場所を選ぶ")
		cards = regexp.MustCompile(`cards=([0-9a-f-]{36})`).FindStringSubmatch(b.last)[1]
		slots, err := e.svc.SlotsOn(ctx, e.city, honcho.ID, staffDay2, bookingtest.Admin)
		if err != nil || len(slots) < 2 {
			t.Fatalf("slots = %v, %v", slots, err)
		}
		return cards, &slots[1]
	}

	t.Run("a time that has started is refused", func(t *testing.T) {
		b.t = t
		cards, slot := start(t)
		// Move the slot's start one hour before the clock (as if the clock had run on).
		now := e.clock.Now()
		err := tenant.InTx(ctx, e.db.App, e.city.ID, func(ctx context.Context, tx bun.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE slots SET starts_at = ?, ends_at = ? WHERE id = ?", now.Add(-time.Hour), now.Add(-30*time.Minute), slot.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		b.post("/admin/bookings/new/hold", url.Values{"cards": {cards}, "location": {honcho.ID.String()}, "day": {staffDay2.String()}, "slot": {slot.ID.String()}})
		b.want(200, "の時間を選ぶ", "受付を終了しました")
		if strings.Contains(b.last, slot.ID.String()) {
			t.Error("the started time is still offered")
		}
		if s := slotNow(t, e, e.city, slot.ID); s.Held != 0 {
			t.Errorf("a started time was held: %d", s.Held)
		}
		b.post("/admin/bookings/new/hold", url.Values{"cards": {cards}, "location": {honcho.ID.String()}, "day": {staffDay2.String()}, "slot": {"bogus"}})
		b.want(422, "時間を選んでください")
	})

	t.Run("back and stop release the hold", func(t *testing.T) {
		b.t = t
		cards, _ := start(t)
		slots, _ := e.svc.SlotsOn(ctx, e.city, honcho.ID, staffDay2, bookingtest.Admin)
		slot := slots[0]
		b.post("/admin/bookings/new/hold", url.Values{"cards": {cards}, "location": {honcho.ID.String()}, "day": {staffDay2.String()}, "slot": {slot.ID.String()}})
		b.want(200, "内容の確認")
		hold := firstMatch(t, `name="hold" value="([^"]+)"`, b.last)
		if s := slotNow(t, e, e.city, slot.ID); s.Held != 1 {
			t.Fatalf("held = %d", s.Held)
		}
		b.post("/admin/bookings/new/release", url.Values{"cards": {cards}, "hold": {hold}, "to": {"back"}})
		b.want(200, "の時間を選ぶ")
		if s := slotNow(t, e, e.city, slot.ID); s.Held != 0 {
			t.Fatalf("held after going back = %d", s.Held)
		}
		b.post("/admin/bookings/new/hold", url.Values{"cards": {cards}, "location": {honcho.ID.String()}, "day": {staffDay2.String()}, "slot": {slot.ID.String()}})
		hold = firstMatch(t, `name="hold" value="([^"]+)"`, b.last)
		b.post("/admin/bookings/new/release", url.Values{"cards": {cards}, "hold": {hold}})
		b.want(200, "新しい予約をやめ", "1人目")
		if s := slotNow(t, e, e.city, slot.ID); s.Held != 0 {
			t.Fatalf("held after stopping = %d", s.Held)
		}
		b.get("/admin/bookings/new/confirm?cards=" + cards + "&hold=" + hold)
		b.want(404, "確保していた時間が見つかりません", "同じカードで日時を選び直す")
	})

	t.Run("a citizen books the card while the clerk confirms", func(t *testing.T) {
		b.t = t
		cards, _ := start(t)
		slots, _ := e.svc.SlotsOn(ctx, e.city, honcho.ID, staffDay2, bookingtest.Admin)
		slot := slots[0]
		b.post("/admin/bookings/new/hold", url.Values{"cards": {cards}, "location": {honcho.ID.String()}, "day": {staffDay2.String()}, "slot": {slot.ID.String()}})
		b.want(200, "内容の確認")
		hold := firstMatch(t, `name="hold" value="([^"]+)"`, b.last)
		web := mustReserve(t, e, e.city, bookingtest.FirstSlot(t, e.svc, e.city, honcho, e.clock.Now()), tenant.ChannelWeb, "", cardC)
		b.post("/admin/bookings/new/reserve", url.Values{"cards": {cards}, "hold": {hold}, "slot": {slot.ID.String()}, "mail_lang": {"ja"}})
		b.want(409, "その間に別の予約に入りました")
		if s := slotNow(t, e, e.city, slot.ID); s.Held != 0 || s.Booked != 0 {
			t.Errorf("slot after the lost race: held %d booked %d", s.Held, s.Booked)
		}
		r, _ := e.svc.CurrentReservation(ctx, e.city, cardC.ID)
		if r == nil || r.ID != web.ID {
			t.Error("the citizen's booking did not stand")
		}
	})

	t.Run("a double click books once", func(t *testing.T) {
		b.t = t
		cardD := bookingtest.MustCard(t, e.svc, e.city, "0606")
		b.get("/admin/bookings/new")
		b.post("/admin/bookings/new", url.Values{"card1": {cardD.CardNo}})
		cards := regexp.MustCompile(`cards=([0-9a-f-]{36})`).FindStringSubmatch(b.last)[1]
		slots, _ := e.svc.SlotsOn(ctx, e.city, honcho.ID, staffDay, bookingtest.Admin)
		slots = slots[len(slots)-1:] // the last time of the day is untouched by the cases above
		b.post("/admin/bookings/new/hold", url.Values{"cards": {cards}, "location": {honcho.ID.String()}, "day": {staffDay.String()}, "slot": {slots[0].ID.String()}})
		b.want(200, "内容の確認")
		form := url.Values{"cards": {cards}, "hold": {firstMatch(t, `name="hold" value="([^"]+)"`, b.last)}, "slot": {slots[0].ID.String()},
			"mail_lang": {"ja"}, "_csrf": {csrfOf(b.last)}}
		var wg sync.WaitGroup
		status := make([]int, 2)
		for i := range status {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := b.c.PostForm(b.base+"/admin/bookings/new/reserve", form)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				status[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		if status[0] != 200 || status[1] != 200 {
			t.Errorf("double click answered %v, want 200 twice (the booking's page)", status)
		}
		var n int
		_ = tenant.InTx(ctx, e.db.App, e.city.ID, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewRaw("SELECT count(*) FROM reservations WHERE status = 'booked' AND id IN (SELECT reservation_id FROM reservation_cards WHERE card_id = ?)", cardD.ID).Scan(ctx, &n)
		})
		if n != 1 {
			t.Errorf("bookings after a double click = %d, want 1", n)
		}
		if s := slotNow(t, e, e.city, slots[0].ID); s.Booked != 1 || s.Held != 0 {
			t.Errorf("slot after a double click: booked %d held %d", s.Booked, s.Held)
		}
	})

	t.Run("来庁なし for a booking whose time has passed", func(t *testing.T) {
		b.t = t
		cardE := bookingtest.MustCard(t, e.svc, e.city, "0707")
		slots, _ := e.svc.SlotsOn(ctx, e.city, honcho.ID, laterDay, bookingtest.Admin)
		past := mustReserve(t, e, e.city, &slots[0], tenant.ChannelWeb, "", cardE)
		future := mustReserve(t, e, e.city, &slots[1], tenant.ChannelWeb, "", bookingtest.MustCard(t, e.svc, e.city, "0808"))
		// The first booking's time has passed (as if the clock had run on).
		now := e.clock.Now()
		err := tenant.InTx(ctx, e.db.App, e.city.ID, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "UPDATE slots SET starts_at = ?, ends_at = ? WHERE id = ?", now.Add(-2*time.Hour), now.Add(-90*time.Minute), slots[0].ID); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "UPDATE reservations SET starts_at = ? WHERE id = ?", now.Add(-2*time.Hour), past.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		b.get("/admin/bookings/" + future.ID.String())
		b.want(200, "予約の詳細")
		if strings.Contains(b.last, "/no-show") {
			t.Error("a future booking offers 来庁なし")
		}
		b.post("/admin/bookings/"+future.ID.String()+"/no-show", url.Values{})
		b.want(409, "まだ始まっていない")
		b.get("/admin/bookings/" + past.ID.String())
		b.want(200, "来庁なしとして記録する")
		b.get("/admin/bookings/" + past.ID.String() + "/no-show")
		b.want(200, "来庁なしの記録の確認", cardE.CardNo)
		b.post("/admin/bookings/"+past.ID.String()+"/no-show", url.Values{"_csrf": {"forged"}})
		b.want(403)
		b.get("/admin/bookings/" + past.ID.String() + "/no-show")
		b.post("/admin/bookings/"+past.ID.String()+"/no-show", url.Values{})
		b.want(200, "来庁なしとして記録しました", "未来庁")
		if c, _ := e.svc.CardByID(ctx, e.city.ID, cardE.ID); c.Status != booking.CardNoticeSent {
			t.Errorf("card after no-show = %s", c.Status)
		}
		b.post("/admin/bookings/"+past.ID.String()+"/no-show", url.Values{})
		b.want(409)
		rOther := mustReserve(t, e, other, otherSlot, tenant.ChannelWeb, "", bookingtest.MustCard(t, e.svc, other, "0909"))
		b.get("/admin/bookings/new")
		b.post("/admin/bookings/"+rOther.ID.String()+"/no-show", url.Values{})
		b.want(404)
		ns := auditRows(t, e, e.city)["reservation.no_show"]
		if len(ns) != 1 || ns[0].Actor != "clerk1" || ns[0].Target != past.Code {
			t.Errorf("no-show audit = %+v", ns)
		}
	})

	t.Run("english", func(t *testing.T) {
		b.t = t
		u, _ := url.Parse(b.base)
		b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "lang", Value: "en", Path: "/"}})
		defer b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "lang", Value: "ja", Path: "/"}})
		b.get("/admin/bookings/new")
		b.want(200, `lang="en"`, "Person 1")
		_ = confirmPage
		if m := regexp.MustCompile(`behalf\.[a-z_.]+`).FindString(b.last); m != "" {
			t.Errorf("untranslated key %s", m)
		}
	})
}
