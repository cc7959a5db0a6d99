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

func TestStaffFlowHTTP(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	accounts := e.accounts
	if _, err := accounts.Create(ctx, e.city, "tanaka", "田中", tenant.RoleStaff, "initial-pass-123", "test"); err != nil {
		t.Fatal(err)
	}
	loc := bookingtest.MustLocation(t, e.svc, e.city, "本庁", 3)
	card := bookingtest.MustCard(t, e.svc, e.city, "0312")
	slot := bookingtest.FirstSlot(t, e.svc, e.city, loc, e.clock.Now())
	r, err := e.svc.Reserve(ctx, e.city, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{card.ID}, Actor: tenant.Citizen("")})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, e)
	b := newBrowser(t, addr, e.city.Slug+".localhost")

	b.get("/admin")
	b.want(200, "職員ログイン") // redirected to the login page
	b.post("/admin/login", url.Values{"login_id": {"tanaka"}, "password": {"wrong-password"}})
	b.want(401, "ログインIDまたはパスワードが正しくありません")
	b.post("/admin/login", url.Values{"login_id": {"nobody"}, "password": {"initial-pass-123"}})
	b.want(401, "ログインIDまたはパスワードが正しくありません")
	b.post("/admin/login", url.Values{"login_id": {"tanaka"}, "password": {"initial-pass-123"}, "_csrf": {"forged"}})
	b.want(403)
	b.get("/admin/login")
	b.post("/admin/login", url.Values{"login_id": {"tanaka"}, "password": {"initial-pass-123"}})
	b.want(200, "初めてのログインです") // first login: forced to the password page
	b.get("/admin")
	b.want(200, "初めてのログインです")
	b.post("/admin/password", url.Values{"current_password": {"initial-pass-123"}, "new_password": {"short"}, "new_password2": {"short"}})
	b.want(422, "12文字以上")
	b.post("/admin/password", url.Values{"current_password": {"initial-pass-123"}, "new_password": {"tanaka-likes-" + e.city.Slug}, "new_password2": {"tanaka-likes-" + e.city.Slug}})
	b.want(422, "推測されやすい語")
	b.post("/admin/password", url.Values{"current_password": {"nope-nope-nope"}, "new_password": {"a long quiet river in spring"}, "new_password2": {"a long quiet river in spring"}})
	b.want(422, "現在のパスワードが正しくありません")
	b.post("/admin/password", url.Values{"current_password": {"initial-pass-123"}, "new_password": {"a long quiet river in spring"}, "new_password2": {"a long quiet river in spring"}})
	b.want(200, "パスワードを変更しました", "本日と明日の予約")

	// Check-in by booking code typed as a barcode reader would (code + Enter), then again.
	b.get("/admin/checkin")
	b.want(200, "autofocus")
	b.post("/admin/checkin", url.Values{"code": {r.Code}})
	b.want(200, "来庁を記録しました", card.CardNo)
	b.post("/admin/checkin", url.Values{"code": {r.Code}})
	b.want(200, "すでに来庁済みです", "交付済」にする")
	b.post("/admin/checkin/issue", url.Values{"card": {card.ID.String()}})
	b.want(200, "交付済みにしました")
	if got, _ := e.svc.CardByID(ctx, e.city.ID, card.ID); got.Status != booking.CardIssued {
		t.Errorf("card status after issuing = %s, want issued", got.Status)
	}
	b.post("/admin/checkin/issue", url.Values{"card": {card.ID.String()}})
	b.want(409)
	b.post("/admin/checkin", url.Values{"code": {"ZZZZZZZZ"}})
	b.want(404, "該当する予約が見つかりません")

	// The staff cookie means nothing on another city's host, and another city's code is not found there.
	other := tenanttestCity(t, e)
	b2 := &browser{t: t, c: b.c, base: "http://" + other.Slug + ".localhost"}
	b2.get("/admin")
	b2.want(200, "職員ログイン")

	// Ten failures lock the account for 15 minutes, even with the right password; the answer is
	// the one an unknown login id gets, so it never confirms that the id exists.
	b3 := newBrowser(t, addr, e.city.Slug+".localhost")
	b3.get("/admin/login")
	for range 10 {
		b3.post("/admin/login", url.Values{"login_id": {"tanaka"}, "password": {"guess"}})
	}
	b3.post("/admin/login", url.Values{"login_id": {"tanaka"}, "password": {"a long quiet river in spring"}})
	b3.want(401, "ログインIDまたはパスワードが正しくありません")
	locked := b3.last
	b3.post("/admin/login", url.Values{"login_id": {"nosuchclerk"}, "password": {"a long quiet river in spring"}})
	b3.want(401)
	strip := func(s, id string) string { return strings.ReplaceAll(csrfRE.ReplaceAllString(s, ""), id, "ID") }
	if strip(b3.last, "nosuchclerk") != strip(locked, "tanaka") {
		t.Error("the locked account's login page differs from an unknown id's")
	}

	var actions []string
	_ = tenant.InTx(ctx, e.db.App, e.city.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT action FROM audit_log ORDER BY at").Scan(ctx, &actions)
	})
	want := map[string]bool{"account.create": false, "login.failed": false, "login": false, "password.change": false, "reservation.checkin": false}
	for _, a := range actions {
		if _, ok := want[a]; ok {
			want[a] = true
		}
	}
	for a, seen := range want {
		if !seen {
			t.Errorf("audit log lacks %q: %v", a, actions)
		}
	}
}
