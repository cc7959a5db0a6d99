package ui_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
)

// admAccount creates an account of city with a password that needs no change.
func admAccount(t *testing.T, e *env, city *tenant.Tenant, login string, role tenant.Role, pw string) *tenant.Account {
	t.Helper()
	ctx := context.Background()
	accs := e.accounts
	acc, err := accs.Create(ctx, city, login, "テスト "+login, role, "x-initial-password", "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := accs.SetPasswordNoChange(ctx, city, login, pw); err != nil {
		t.Fatal(err)
	}
	return acc
}

// admLogin logs b in as a staff member and checks the dashboard answered.
func admLogin(t *testing.T, b *browser, login, pw string) {
	t.Helper()
	b.get("/admin/login")
	b.post("/admin/login", url.Values{"login_id": {login}, "password": {pw}})
	b.want(200, "本日と明日の予約")
}

// admAudit returns "actor action target" of the city's audit log, oldest first.
func admAudit(t *testing.T, e *env, city *tenant.Tenant) []string {
	t.Helper()
	var rows []string
	err := tenant.InTx(context.Background(), e.db.App, city.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT actor || ' ' || action || ' ' || target || ' ' || coalesce(before::text, '-') || ' ' || coalesce(after::text, '-')
			FROM audit_log ORDER BY at, id`).Scan(ctx, &rows)
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func admAuditHas(t *testing.T, e *env, city *tenant.Tenant, parts ...string) {
	t.Helper()
	rows := admAudit(t, e, city)
	for _, r := range rows {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(r, p)
		}
		if ok {
			return
		}
	}
	t.Errorf("audit log has no entry with %q:\n%s", parts, strings.Join(rows, "\n"))
}

func admStatus(t *testing.T, e *env, city *tenant.Tenant, id uuid.UUID) booking.CardStatus {
	t.Helper()
	c, err := e.svc.CardByID(context.Background(), city.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return c.Status
}

// TestStaffCardsHTTP covers the card pages as a clerk: search and counts, the record with its
// history, one change along the lifecycle, a refused one, the all-or-nothing bulk change, the
// unlock form, CSRF on every form, the audit log, and that another city's card ids are 404
// everywhere.
func TestStaffCardsHTTP(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	admAccount(t, e, e.city, "clerk", tenant.RoleStaff, "clerk password one")
	var cards []*booking.Card
	for _, no := range []string{"555000001", "555000002", "555000003"} {
		c, err := e.svc.AddCard(ctx, e.city, booking.CardInput{CardNo: no, Birth: "0312", StoragePos: "棚A-" + no[7:]})
		if err != nil {
			t.Fatal(err)
		}
		cards = append(cards, c)
	}
	loc := bookingtest.MustLocation(t, e.svc, e.city, "嬉野", 3)
	slot := bookingtest.FirstSlot(t, e.svc, e.city, loc, e.clock.Now())
	r, err := e.svc.Reserve(ctx, e.city, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{cards[2].ID}, Actor: tenant.Citizen("")})
	if err != nil {
		t.Fatal(err)
	}
	other := tenanttestCity(t, e)
	foreign, err := e.svc.AddCard(ctx, other, booking.CardInput{CardNo: "555000009", Birth: "0312"})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, e)
	b := newBrowser(t, addr, e.city.Slug+".localhost")

	b.get("/admin/cards")
	b.want(200, "職員ログイン") // not logged in
	admLogin(t, b, "clerk", "clerk password one")

	// Counts per status and the list; a search typed with full-width digits and a hyphen.
	b.get("/admin/cards")
	b.want(200, "状態別の枚数", "取込済（通知前）", "予約済", "555000001", "555000003", "棚A-01", "検索結果 3件")
	for _, row := range []string{`>取込済（通知前）</a></th><td>2</td>`, `>予約済</a></th><td>1</td>`, `>交付済</a></th><td>0</td>`, `>すべて</a></th><td>3</td>`} {
		if !strings.Contains(b.last, row) {
			t.Errorf("the counts table lacks %s", row)
		}
	}
	b.get("/admin/cards?q=" + url.QueryEscape("５５５－０００００２"))
	b.want(200, "検索結果 1件", "555000002")
	if strings.Contains(b.last, "555000001") || strings.Contains(b.last, "555000009") {
		t.Error("the search shows other cards (or another city's)")
	}
	b.get("/admin/cards?status=reserved")
	b.want(200, "検索結果 1件", "555000003")
	b.get("/admin/cards?q=" + url.QueryEscape("1234-5678-9012"))
	b.want(422, "個人番号")
	admAuditHas(t, e, e.city, "clerk card.search", `"q": "555000002"`)

	// The record: history, current booking, lock state; the read is audit-logged.
	b.get("/admin/cards/" + cards[2].ID.String())
	b.want(200, "カード 555000003", "予約済", groupCodeForTest(r.Code), "嬉野", "取込", "ウェブ", "予約中のカードです", "このカードにログイン制限はかかっていません")
	admAuditHas(t, e, e.city, "clerk card.view card:"+cards[2].ID.String())

	// One change along the lifecycle, then a refused one with its reason in Japanese.
	b.get("/admin/cards/" + cards[0].ID.String())
	b.want(200, "予約はありません", `value="notice_sent"`)
	b.post("/admin/cards/"+cards[0].ID.String()+"/status", url.Values{"to": {""}})
	b.want(422, "変更後の状態を選んでください")
	b.post("/admin/cards/"+cards[0].ID.String()+"/status", url.Values{"to": {"notice_sent"}})
	b.want(200, "状態を変更しました", "通知書送付済")
	b.post("/admin/cards/"+cards[0].ID.String()+"/status", url.Values{"to": {"issued"}})
	b.want(409, "製造管理番号 555000001 は「通知書送付済」から「交付済」へは変更できません。変更は行っていません。")
	b.post("/admin/cards/"+cards[2].ID.String()+"/status", url.Values{"to": {"void"}})
	b.want(409, "手動では変更できません")
	admAuditHas(t, e, e.city, "clerk card.status card:"+cards[0].ID.String(), `{"status": "imported"} {"status": "notice_sent"}`)

	// Bulk: one card that may not move (reserved) and nothing changes; then it works.
	b.get("/admin/cards")
	bulk := url.Values{"id": {cards[0].ID.String(), cards[1].ID.String(), cards[2].ID.String()}, "to": {"on_hold"}, "page": {"1"}}
	b.post("/admin/cards/status", bulk)
	b.want(409, "製造管理番号 555000003", "変更は行っていません", `value="`+cards[1].ID.String()+`" id="sel-`+cards[1].ID.String()+`" checked`)
	if admStatus(t, e, e.city, cards[0].ID) != booking.CardNoticeSent || admStatus(t, e, e.city, cards[1].ID) != booking.CardImported {
		t.Fatal("a refused bulk change changed cards")
	}
	b.post("/admin/cards/status", url.Values{"to": {"on_hold"}})
	b.want(422, "変更するカードを選んでください")
	b.post("/admin/cards/status", url.Values{"id": {cards[0].ID.String()}, "to": {""}})
	b.want(422, "変更後の状態を選んでください")
	b.post("/admin/cards/status", url.Values{"id": {cards[0].ID.String(), cards[1].ID.String()}, "to": {"on_hold"}, "q": {"555"}, "page": {"1"}})
	b.want(200, "選択したカードの状態を変更しました", "保留")
	for _, c := range cards[:2] {
		if got := admStatus(t, e, e.city, c.ID); got != booking.CardOnHold {
			t.Errorf("card %s is %s after the bulk change, want on_hold", c.CardNo, got)
		}
	}
	admAuditHas(t, e, e.city, "clerk card.status card:"+cards[1].ID.String(), `{"status": "imported"}`, `"status": "on_hold"`, `"batch": 2`)

	// Unlock: the clerk must tick that they checked the caller.
	b.get("/admin/cards/" + cards[1].ID.String())
	b.post("/admin/cards/"+cards[1].ID.String()+"/unlock", url.Values{})
	b.want(422, "本人確認を行ったことを確認してください")
	b.post("/admin/cards/"+cards[1].ID.String()+"/unlock", url.Values{"confirmed": {"1"}})
	b.want(200, "ログイン制限を解除しました")
	admAuditHas(t, e, e.city, "clerk card.unlock card:"+cards[1].ID.String(), `"hard_locked": false`)

	// Another city's card, or a malformed id, is 404 through every URL and form; nothing changes.
	b.get("/admin/cards")
	page := b.last
	for _, id := range []string{foreign.ID.String(), "not-a-uuid", uuid.NewString()} {
		b.get("/admin/cards/" + id)
		b.want(404)
		for _, path := range []string{"/admin/cards/" + id + "/status", "/admin/cards/" + id + "/unlock"} {
			b.last = page
			b.post(path, url.Values{"to": {"notice_sent"}, "confirmed": {"1"}})
			b.want(404)
		}
		b.last = page
		b.post("/admin/cards/status", url.Values{"id": {cards[1].ID.String(), id}, "to": {"void"}})
		b.want(404)
	}
	if admStatus(t, e, e.city, cards[1].ID) != booking.CardOnHold {
		t.Error("a bulk change with another city's card changed this city's card")
	}
	if got, _ := e.svc.CardByID(ctx, other.ID, foreign.ID); got.Status != booking.CardImported {
		t.Errorf("the other city's card is %s", got.Status)
	}

	// CSRF: every form refuses a missing or forged token.
	for _, path := range []string{"/admin/cards/status", "/admin/cards/" + cards[0].ID.String() + "/status", "/admin/cards/" + cards[0].ID.String() + "/unlock"} {
		for _, tok := range []string{"forged", ""} {
			form := url.Values{"id": {cards[0].ID.String()}, "to": {"void"}, "confirmed": {"1"}, "_csrf": {tok}}
			if tok == "" {
				form = url.Values{"id": {cards[0].ID.String()}, "to": {"void"}, "confirmed": {"1"}, "_nocsrf": {"1"}}
			}
			b.post(path, form)
			b.want(403)
		}
	}
	if admStatus(t, e, e.city, cards[0].ID) != booking.CardOnHold {
		t.Error("a forged form changed a card")
	}
}

func groupCodeForTest(code string) string {
	if len(code) == 8 {
		return code[:4] + " " + code[4:]
	}
	return code
}
