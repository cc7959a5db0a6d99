package booking_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/booking/guard"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

var clerk = tenant.Staff(uuid.Nil, "clerk1", "192.0.2.20")

type auditRow struct {
	Actor  string `bun:"actor"`
	Action string `bun:"action"`
	Target string `bun:"target"`
	Before string `bun:"before"`
	After  string `bun:"after"`
	IP     string `bun:"ip"`
}

func auditRows(t *testing.T, db *bun.DB, tn *tenant.Tenant, action string) []auditRow {
	t.Helper()
	var rows []auditRow
	err := tenant.InTx(context.Background(), db, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT actor, action, target, coalesce(before::text, '') AS before, coalesce(after::text, '') AS after, ip
			FROM audit_log WHERE action = ? ORDER BY at, id`, action).Scan(ctx, &rows)
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func historyLen(t *testing.T, db *bun.DB, tn *tenant.Tenant, id uuid.UUID) int {
	t.Helper()
	var n int
	err := tenant.InTx(context.Background(), db, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT count(*) FROM card_status_history WHERE card_id = ?", id).Scan(ctx, &n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCardTransitions(t *testing.T) {
	for _, from := range booking.CardStatuses {
		next := booking.NextCardStatuses(from)
		for _, to := range booking.CardStatuses {
			err := booking.CheckCardTransition(from, to)
			if slices.Contains(next, to) != (err == nil) {
				t.Errorf("%s → %s: CheckCardTransition = %v but NextCardStatuses = %v", from, to, err, next)
			}
			if err != nil && tenant.ErrorCode(err) != tenant.Conflict {
				t.Errorf("%s → %s: %v, want conflict", from, to, err)
			}
		}
	}
	// The main line, and its side exits, are reachable by hand except "reserved", which only a
	// booking sets or clears.
	for _, step := range [][2]booking.CardStatus{
		{booking.CardImported, booking.CardNoticeSent}, {booking.CardVisited, booking.CardIssued},
		{booking.CardNoticeSent, booking.CardReturned}, {booking.CardReturned, booking.CardNoticeSent},
		{booking.CardOnHold, booking.CardNoticeSent}, {booking.CardImported, booking.CardVoid},
	} {
		if err := booking.CheckCardTransition(step[0], step[1]); err != nil {
			t.Errorf("%s → %s refused: %v", step[0], step[1], err)
		}
	}
	for _, c := range []struct {
		from, to booking.CardStatus
		key      string
	}{
		{booking.CardNoticeSent, booking.CardReserved, "cards.refused.reserved"},
		{booking.CardReserved, booking.CardVisited, "cards.refused.reserved"},
		{booking.CardIssued, booking.CardVoid, "cards.refused.final"},
		{booking.CardVoid, booking.CardImported, "cards.refused.final"},
		{booking.CardImported, booking.CardImported, "cards.refused.same"},
		{booking.CardImported, booking.CardIssued, "cards.refused.not_allowed"},
	} {
		if e := tenant.AsError(booking.CheckCardTransition(c.from, c.to)); e == nil || e.Key != c.key {
			t.Errorf("%s → %s = %v, want %s", c.from, c.to, e, c.key)
		}
	}
}

func TestChangeCardStatusAllOrNothing(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	f := newFixture(t, d, 3)
	other := newFixture(t, d, 3)
	a, b, c := bookingtest.MustCard(t, f.svc, f.t, "0101"), bookingtest.MustCard(t, f.svc, f.t, "0202"), bookingtest.MustCard(t, f.svc, f.t, "0303")
	foreign := bookingtest.MustCard(t, other.svc, other.t, "0404")

	// c is issued: moving a, b and c to notice_sent must change none of them.
	for _, to := range []booking.CardStatus{booking.CardNoticeSent, booking.CardVisited, booking.CardIssued} {
		if err := f.svc.ChangeCardStatus(ctx, f.t, []uuid.UUID{c.ID}, to, clerk); err != nil {
			t.Fatalf("c → %s: %v", to, err)
		}
	}
	before := auditRows(t, d.App, f.t, "card.status")
	err := f.svc.ChangeCardStatus(ctx, f.t, []uuid.UUID{a.ID, b.ID, c.ID}, booking.CardNoticeSent, clerk)
	e := tenant.AsError(err)
	if e == nil || e.Code != tenant.Conflict || e.Key != "cards.refused.final" || e.Args["card_no"] != c.CardNo {
		t.Fatalf("bulk with an issued card = %v (%+v), want conflict cards.status.final naming %s", err, e, c.CardNo)
	}
	for _, card := range []*booking.Card{a, b} {
		got, _ := f.svc.CardByID(ctx, f.t.ID, card.ID)
		if got.Status != booking.CardImported || historyLen(t, d.App, f.t, card.ID) != 1 {
			t.Errorf("card %s changed by a refused bulk change: %s", card.CardNo, got.Status)
		}
	}
	if after := auditRows(t, d.App, f.t, "card.status"); len(after) != len(before) {
		t.Errorf("a refused bulk change wrote %d audit rows", len(after)-len(before))
	}

	// Another city's card in the list: not found, nothing changed (row-level security).
	err = f.svc.ChangeCardStatus(ctx, f.t, []uuid.UUID{a.ID, foreign.ID}, booking.CardNoticeSent, clerk)
	if tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("bulk with another city's card = %v, want not_found", err)
	}
	if got, _ := other.svc.CardByID(ctx, other.t.ID, foreign.ID); got.Status != booking.CardImported {
		t.Errorf("the other city's card became %s", got.Status)
	}
	for _, bad := range []struct {
		ids []uuid.UUID
		to  booking.CardStatus
	}{{nil, booking.CardNoticeSent}, {[]uuid.UUID{a.ID}, "lost"}, {[]uuid.UUID{a.ID}, ""}} {
		if err := f.svc.ChangeCardStatus(ctx, f.t, bad.ids, bad.to, clerk); tenant.ErrorCode(err) != tenant.Invalid {
			t.Errorf("ChangeCardStatus(%v, %q) = %v, want invalid", bad.ids, bad.to, err)
		}
	}

	// The valid bulk change: all change, each with history and an audit row with before/after.
	if err := f.svc.ChangeCardStatus(ctx, f.t, []uuid.UUID{a.ID, b.ID, a.ID}, booking.CardNoticeSent, clerk); err != nil {
		t.Fatal(err)
	}
	for _, card := range []*booking.Card{a, b} {
		rec, err := f.svc.CardRecord(ctx, f.t, card.ID, clerk)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Card.Status != booking.CardNoticeSent || len(rec.History) != 2 {
			t.Fatalf("card %s: %s with %d history rows, want notice_sent with 2", card.CardNo, rec.Card.Status, len(rec.History))
		}
		h := rec.History[1]
		if h.From != booking.CardImported || h.To != booking.CardNoticeSent || h.Channel != tenant.ChannelStaff || h.Actor != "clerk1" {
			t.Errorf("history row = %+v", h)
		}
		if rec.History[0].From != "" || rec.History[0].Channel != tenant.ChannelImport {
			t.Errorf("first history row = %+v, want the import", rec.History[0])
		}
	}
	rows := auditRows(t, d.App, f.t, "card.status")
	rows = rows[len(before):]
	if len(rows) != 2 {
		t.Fatalf("%d audit rows for a bulk change of 2 cards", len(rows))
	}
	for _, r := range rows {
		if r.Actor != "clerk1" || r.IP != "192.0.2.20" || !strings.HasPrefix(r.Target, "card:") ||
			!strings.Contains(r.Before, `"imported"`) || !strings.Contains(r.After, `"notice_sent"`) || !strings.Contains(r.After, `"batch": 2`) {
			t.Errorf("audit row = %+v", r)
		}
		if strings.Contains(r.Target, a.CardNo) || strings.Contains(r.Target, b.CardNo) {
			t.Errorf("audit target holds a card number: %+v", r)
		}
	}
}

func TestSearchCardsAndRecord(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	f := newFixture(t, d, 3)
	other := newFixture(t, d, 3)
	var cards []*booking.Card
	for i := range 5 {
		c, err := f.svc.AddCard(ctx, f.t, booking.CardInput{CardNo: fmt.Sprintf("7770000%02d", i), Birth: "0101", Name: "交付 太郎"})
		if err != nil {
			t.Fatal(err)
		}
		cards = append(cards, c)
	}
	bookingtest.MustCard(t, f.svc, f.t, "0101") // a random number, most likely not 777…
	foreign, err := other.svc.AddCard(ctx, other.t, booking.CardInput{CardNo: "777000099", Birth: "0101"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ChangeCardStatus(ctx, f.t, []uuid.UUID{cards[0].ID}, booking.CardNoticeSent, clerk); err != nil {
		t.Fatal(err)
	}

	// Full-width digits and a hyphen find the same prefix; another city's 777000099 is invisible.
	list, err := f.svc.SearchCards(ctx, f.t, booking.CardQuery{No: "７７７－０００", PerPage: 2, Page: 2}, clerk)
	if err != nil {
		t.Fatal(err)
	}
	if list.Total != 5 || list.Pages() != 3 || list.Page != 2 || len(list.Cards) != 2 || list.Cards[0].CardNo != "777000002" {
		t.Errorf("search: total %d, page %d of %d, %d cards (%v)", list.Total, list.Page, list.Pages(), len(list.Cards), list.Cards)
	}
	if list.All != 6 || list.Counts[booking.CardImported] != 5 || list.Counts[booking.CardNoticeSent] != 1 {
		t.Errorf("counts: all %d, %v; want 6 with 5 imported and 1 notice_sent", list.All, list.Counts)
	}
	list, err = f.svc.SearchCards(ctx, f.t, booking.CardQuery{Status: booking.CardNoticeSent, Page: 9}, clerk)
	if err != nil || list.Total != 1 || list.Page != 1 || list.Cards[0].ID != cards[0].ID {
		t.Errorf("status filter: %+v, %v", list, err)
	}
	for q, key := range map[string]string{"１２３４ ５６７８ ９０１２": "login.card_no.my_number", "77%": "cards.search.invalid", "7_7": "cards.search.invalid"} {
		_, err := f.svc.SearchCards(ctx, f.t, booking.CardQuery{No: q}, clerk)
		if e := tenant.AsError(err); e == nil || e.Fields["q"] != key {
			t.Errorf("search %q = %v, want %s", q, err, key)
		}
	}
	if _, err := f.svc.SearchCards(ctx, f.t, booking.CardQuery{Status: "lost"}, clerk); tenant.ErrorCode(err) != tenant.Invalid {
		t.Errorf("unknown status = %v, want invalid", err)
	}
	searches := auditRows(t, d.App, f.t, "card.search")
	if len(searches) != 2 || !strings.Contains(searches[0].After, `"q": "777000"`) || !strings.Contains(searches[0].After, `"total": 5`) {
		t.Errorf("card.search audit rows = %+v", searches)
	}
	for _, r := range searches {
		if strings.Contains(r.After, "123456789012") {
			t.Errorf("a refused 個人番号 reached the audit log: %+v", r)
		}
	}

	// The record: history, no booking, then a booking; every read is audit-logged.
	slot := bookingtest.FirstSlot(t, f.svc, f.t, f.loc, tenanttest.Now())
	r, err := f.svc.Reserve(ctx, f.t, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{cards[1].ID}, Actor: web})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := f.svc.CardRecord(ctx, f.t, cards[1].ID, clerk)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Reservation == nil || rec.Reservation.Code != r.Code || rec.Card.Status != booking.CardReserved || len(rec.Next) != 0 {
		t.Errorf("record of a booked card: %+v", rec)
	}
	if err := f.svc.ChangeCardStatus(ctx, f.t, []uuid.UUID{cards[1].ID}, booking.CardOnHold, clerk); tenant.AsError(err) == nil || tenant.AsError(err).Key != "cards.refused.reserved" {
		t.Errorf("a booked card put on hold by hand: %v", err)
	}
	rec, err = f.svc.CardRecord(ctx, f.t, cards[2].ID, clerk)
	if err != nil || rec.Reservation != nil || rec.Card.Name == nil || *rec.Card.Name != "交付 太郎" {
		t.Errorf("record without booking: %+v, %v", rec, err)
	}
	if _, err := f.svc.CardRecord(ctx, f.t, foreign.ID, clerk); tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("another city's card = %v, want not_found", err)
	}
	views := auditRows(t, d.App, f.t, "card.view")
	if len(views) != 2 || views[0].Target != booking.CardTarget(cards[1].ID) || views[0].Actor != "clerk1" {
		t.Errorf("card.view audit rows = %+v", views)
	}
	nums, err := f.svc.CardNumbers(ctx, f.t, []uuid.UUID{cards[3].ID, foreign.ID})
	if err != nil || len(nums) != 1 || nums[cards[3].ID] != cards[3].CardNo {
		t.Errorf("CardNumbers = %v, %v; want only this city's card", nums, err)
	}
}

func TestUnlockCardByID(t *testing.T) {
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	opt, _ := redis.ParseURL(redisURL())
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	key := make([]byte, 32)
	rand.Read(key)
	g, err := guard.New(rdb, key, guard.Config{CardSoftLimit: 100, CardHardLimit: 3}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	tn := tenanttest.MustCreateTenant(t, d.App)
	otherTn := tenanttest.MustCreateTenant(t, d.App)
	svc := booking.NewService(d.App, booking.Config{SecretKey: bookingtest.Key, Guard: g})
	card := bookingtest.MustCard(t, svc, tn, "0312")
	foreign := bookingtest.MustCard(t, svc, otherTn, "0312")
	for i := range 3 {
		if _, err := svc.Login(ctx, tn, booking.LoginInput{CardNo: card.CardNo, Birth: "0101", IP: fmt.Sprintf("192.0.2.%d", 30+i)}); tenant.ErrorCode(err) == "" {
			t.Fatal("a wrong MMDD logged in")
		}
	}
	if locked, err := svc.CardHardLocked(ctx, tn, card.CardNo); err != nil || !locked {
		t.Fatalf("CardHardLocked = %v, %v; want true", locked, err)
	}
	if _, err := svc.Login(ctx, tn, booking.LoginInput{CardNo: card.CardNo, Birth: "0312"}); tenant.AsError(err) == nil || tenant.AsError(err).Key != "login.hard_locked" {
		t.Fatalf("right MMDD on a hard-locked card = %v", err)
	}
	if err := svc.UnlockCardByID(ctx, tn, foreign.ID, clerk); tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("unlocking another city's card = %v, want not_found", err)
	}
	if err := svc.UnlockCardByID(ctx, tn, card.ID, clerk); err != nil {
		t.Fatal(err)
	}
	if locked, _ := svc.CardHardLocked(ctx, tn, card.CardNo); locked {
		t.Error("still hard-locked after UnlockCardByID")
	}
	if _, err := svc.Login(ctx, tn, booking.LoginInput{CardNo: card.CardNo, Birth: "0312"}); err != nil {
		t.Errorf("login after unlock: %v", err)
	}
	rows := auditRows(t, d.App, tn, "card.unlock")
	if len(rows) != 1 || rows[0].Target != booking.CardTarget(card.ID) || !strings.Contains(rows[0].Before, `"hard_locked": true`) {
		t.Errorf("card.unlock audit rows = %+v", rows)
	}
	// Without a guard the lock state is unavailable, never "not locked".
	if _, err := bookingtest.Service(d.App, nil).CardHardLocked(ctx, tn, card.CardNo); tenant.ErrorCode(err) != tenant.Unavailable {
		t.Errorf("CardHardLocked without a guard = %v, want unavailable", err)
	}
}
