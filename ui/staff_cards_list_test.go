package ui_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/text/encoding/japanese"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// TestStaffCardsListHTTP: the card list with its filter as CSV (UTF-8 with BOM, CP932) and as a
// print view, and one status change of every card the filter matches after a check page.
func TestStaffCardsListHTTP(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	admAccount(t, e, e.city, "clerk", tenant.RoleStaff, "clerk password one")
	var cards []*booking.Card
	for _, no := range []string{"620000001", "620000002", "621000003", "630000004"} {
		c, err := e.svc.AddCard(ctx, e.city, booking.CardInput{CardNo: no, Birth: "0312", Name: "松阪 太郎", StoragePos: "棚B-" + no[7:]})
		if err != nil {
			t.Fatal(err)
		}
		cards = append(cards, c)
	}
	other := tenanttestCity(t, e)
	if _, err := e.svc.AddCard(ctx, other, booking.CardInput{CardNo: "620000009", Birth: "0312"}); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, e)
	b := newBrowser(t, addr, e.city.Slug+".localhost")
	for _, path := range []string{"/admin/cards.csv", "/admin/cards/print", "/admin/cards/change?status=imported&to=notice_sent"} {
		b.get(path)
		b.want(200, "職員ログイン") // not logged in
	}
	admLogin(t, b, "clerk", "clerk password one")

	// The list offers the file, the print and (filtered by status) the change of every match.
	b.get("/admin/cards?status=imported&q=62")
	b.want(200, `href="/admin/cards.csv?q=62&amp;status=imported&amp;encoding=utf8"`, `href="/admin/cards/print?q=62&amp;status=imported&amp;"`,
		`action="/admin/cards/change"`, "この条件の3枚（取込済（通知前））の状態をまとめて変更")
	b.get("/admin/cards")
	if strings.Contains(b.last, `action="/admin/cards/change"`) {
		t.Error("the change of every match is offered without a status filter")
	}

	t.Run("csv", func(t *testing.T) {
		b.t = t
		body := b.get("/admin/cards.csv?q=" + url.QueryEscape("６２") + "&status=imported&encoding=utf8")
		b.want(200)
		if !strings.HasPrefix(body, "\ufeff\"製造管理番号\",\"状態\"") || strings.Count(body, "\r\n") != 4 ||
			!strings.Contains(body, `"621000003","取込済（通知前）"`) || strings.Contains(body, "630000004") || strings.Contains(body, "620000009") {
			t.Errorf("utf8 csv = %q", body)
		}
		body = b.get("/admin/cards.csv?encoding=sjis")
		b.want(200)
		text, err := japanese.ShiftJIS.NewDecoder().String(body)
		if err != nil || strings.HasPrefix(text, "\ufeff") || !strings.Contains(text, `"630000004","取込済（通知前）","`) || !strings.Contains(text, "松阪 太郎") {
			t.Errorf("sjis csv = %q, %v", text, err)
		}
		for _, bad := range []string{"?q=1234-5678-9012", "?status=lost", "?encoding=latin1"} {
			b.get("/admin/cards.csv" + bad)
			b.want(422, "エラー")
			if strings.Contains(b.last, "製造管理番号\",") {
				t.Errorf("%s: a refused export sent a file", bad)
			}
		}
		admAuditHas(t, e, e.city, "clerk card.export", `"q": "62"`, `"rows": 3`, `"encoding": "utf8"`)
		admAuditHas(t, e, e.city, "clerk card.export", `"encoding": "sjis"`, `"rows": 4`)
	})

	t.Run("print", func(t *testing.T) {
		b.t = t
		b.get("/admin/cards/print?status=imported&q=621")
		b.want(200, "カードの交付進捗一覧（取込済（通知前））", "621000003", "棚B-03", "該当 1枚", "print.css", "/admin/print/page.css?title=")
		if strings.Contains(b.last, "620000001") {
			t.Error("the print shows cards outside the filter")
		}
		b.get("/admin/cards/print?q=" + url.QueryEscape("12345678901２"))
		b.want(422, "個人番号")
		admAuditHas(t, e, e.city, "clerk card.print", `"q": "621"`, `"total": 1`)
	})

	t.Run("change by filter", func(t *testing.T) {
		b.t = t
		// Refusals on the check page: no status filter, a step staff may not make, an unknown status.
		b.get("/admin/cards/change?q=62&to=notice_sent")
		b.want(422, "現在の状態で絞り込んでください")
		b.get("/admin/cards/change?status=imported&to=issued")
		b.want(409, "「取込済（通知前）」のカードは「交付済」へは変更できません。変更は行っていません。")
		b.get("/admin/cards/change?status=imported&to=")
		b.want(422, "変更後の状態を選んでください")
		if strings.Contains(b.last, `action="/admin/cards/change"`) {
			t.Error("a refused check offers the change")
		}

		b.get("/admin/cards/change?q=62&status=imported&to=notice_sent")
		b.want(200, "対象の枚数", "3枚", "3枚の状態を変更する", `name="expect" value="3"`)
		check := b.last
		// A card moves between the check and the change: nothing changes, the page says why.
		if err := e.svc.ChangeCardStatus(ctx, e.city, []uuid.UUID{cards[2].ID}, booking.CardOnHold, tenant.System("test")); err != nil {
			t.Fatal(err)
		}
		b.post("/admin/cards/change", url.Values{"q": {"62"}, "status": {"imported"}, "to": {"notice_sent"}, "expect": {"3"}})
		b.want(409, "確認時 3枚、現在 2枚", "変更は行っていません")
		if admStatus(t, e, e.city, cards[0].ID) != booking.CardImported {
			t.Fatal("a refused change by filter changed a card")
		}
		b.last = check
		b.post("/admin/cards/change", url.Values{"q": {"62"}, "status": {"imported"}, "to": {"notice_sent"}, "expect": {"2"}})
		b.want(200, "条件に合うカードの状態をまとめて変更しました", "620000001", "620000002")
		for i, want := range []booking.CardStatus{booking.CardNoticeSent, booking.CardNoticeSent, booking.CardOnHold, booking.CardImported} {
			if got := admStatus(t, e, e.city, cards[i].ID); got != want {
				t.Errorf("card %s is %s, want %s", cards[i].CardNo, got, want)
			}
		}
		admAuditHas(t, e, e.city, "clerk card.status.filter", `{"status": "imported"}`, `"count": 2`, `"status": "notice_sent"`)
		// CSRF.
		b.post("/admin/cards/change", url.Values{"status": {"notice_sent"}, "to": {"returned"}, "expect": {"2"}, "_csrf": {"forged"}})
		b.want(403)
		if admStatus(t, e, e.city, cards[0].ID) != booking.CardNoticeSent {
			t.Error("a forged form changed cards")
		}
	})
	t.Run("one card", func(t *testing.T) {
		b.t = t
		b.get("/admin/cards")
		b.want(200, `href="/admin/cards/new"`)
		b.get("/admin/cards/new")
		b.want(200, "カードの登録（1枚ずつ）", `name="card_no"`, `name="birth"`)
		// The import's reasons, by field, with what was typed kept; nothing added.
		b.post("/admin/cards/new", url.Values{"card_no": {"1234-5678-9012"}, "birth": {"1990-02-30"}, "name": {"松阪 三郎"}})
		b.want(422, "登録できませんでした", "製造管理番号の列に12桁の数字があります（個人番号は取り込めません）",
			"生年月日の形式が正しくありません", `value="松阪 三郎"`, `id="f-card_no" name="card_no" value="1234-5678-9012"`, `aria-invalid="true"`)
		b.post("/admin/cards/new", url.Values{"card_no": {"620000001"}, "birth": {"19900312"}})
		b.want(409, "この製造管理番号のカードはすでに登録されています")
		b.post("/admin/cards/new", url.Values{"card_no": {"６４０-０００-００５"}, "birth": {"1990/3/12"}, "name": {"松阪 三郎"}, "storage_pos": {"棚D-1"}})
		b.want(200, "カードを登録しました")
		b.get("/admin/cards?q=640000005")
		b.want(200, "検索結果 1件", "棚D-1", "取込済（通知前）")
		admAuditHas(t, e, e.city, "clerk card.create card:")
		b.get("/admin/cards/new")
		b.post("/admin/cards/new", url.Values{"card_no": {"640000006"}, "birth": {"19900312"}, "_csrf": {"forged"}})
		b.want(403)
	})
}
