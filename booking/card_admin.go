package booking

import (
	"context"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// This file is the staff side of cards (交付進捗): search and counts, the card record with its
// history, status changes by hand (one card or many, all or nothing) and lifting a card's login
// lock. Every read of a card and every change is written to the audit log in the same
// transaction, so nothing is shown or changed without its record.

// cardTransitions are the changes staff may make by hand. "reserved" is never set or left by
// hand: it follows the booking (Reserve sets it; check-in and cancellation leave it), so a card's
// status and its active booking cannot disagree. issued and void are final.
var cardTransitions = map[CardStatus][]CardStatus{
	CardImported:   {CardNoticeSent, CardOnHold, CardVoid},
	CardNoticeSent: {CardVisited, CardReturned, CardOnHold, CardVoid}, // visited: a walk-in without booking
	CardReserved:   {},
	CardVisited:    {CardIssued, CardOnHold, CardVoid},
	CardIssued:     {},
	CardReturned:   {CardNoticeSent, CardVisited, CardOnHold, CardVoid}, // notice re-sent, or the holder came
	CardOnHold:     {CardImported, CardNoticeSent, CardVisited, CardReturned, CardVoid},
	CardVoid:       {},
}

// NextCardStatuses returns the statuses staff may move a card in status from to, in lifecycle
// order (none for reserved, issued and void).
func NextCardStatuses(from CardStatus) []CardStatus {
	return slices.Clone(cardTransitions[from])
}

// ValidCardStatus reports whether st is a known status (CardStatuses, in staff_query.go).
func ValidCardStatus(st CardStatus) bool { return slices.Contains(CardStatuses, st) }

// CheckCardTransition returns nil when staff may move a card from one status to another, else a
// conflict error whose key explains why: "cards.refused.same", "cards.refused.reserved" (a booked
// card changes through its booking), "cards.refused.final" (issued, void) or
// "cards.refused.not_allowed"; Args hold "from" and "to".
func CheckCardTransition(from, to CardStatus) error {
	args := map[string]any{"from": string(from), "to": string(to)}
	switch {
	case from == to:
		return tenant.Errorf(tenant.Conflict, "cards.refused.same").WithArgs(args)
	case from == CardReserved || to == CardReserved:
		return tenant.Errorf(tenant.Conflict, "cards.refused.reserved").WithArgs(args)
	case from == CardIssued || from == CardVoid:
		return tenant.Errorf(tenant.Conflict, "cards.refused.final").WithArgs(args)
	case !slices.Contains(cardTransitions[from], to):
		return tenant.Errorf(tenant.Conflict, "cards.refused.not_allowed").WithArgs(args)
	}
	return nil
}

// CardQuery selects cards on the staff list.
type CardQuery struct {
	No      string     // 製造管理番号 or its beginning, in any form NormalizeCardNo accepts; "" for all
	Status  CardStatus // "" for every status
	Page    int        // 1-based; out-of-range pages are clamped
	PerPage int        // default 50, at most 200
}

// CardList is one page of the staff card list.
type CardList struct {
	Cards   []Card
	Total   int                // cards matching the query
	Counts  map[CardStatus]int // every card of the tenant, by status
	All     int                // every card of the tenant
	No      string             // the normalised number searched for
	Page    int
	PerPage int
}

// Pages returns the number of pages of the list (at least 1).
func (l *CardList) Pages() int {
	if l.Total == 0 || l.PerPage == 0 {
		return 1
	}
	return (l.Total + l.PerPage - 1) / l.PerPage
}

var searchNoRE = regexp.MustCompile(`^[0-9A-Z]{0,32}$`)

// SearchCards lists the tenant's cards whose number starts with q.No (normalised) and whose status
// is q.Status, ordered by number, with the counts per status of all the tenant's cards. The
// search is audit-logged ("card.search": query and result count). It returns invalid (field "q")
// for a number with other characters than digits and letters, and for a 12-digit 個人番号, which
// is refused before anything is stored or logged.
func (s *Service) SearchCards(ctx context.Context, t *tenant.Tenant, q CardQuery, a tenant.Actor) (_ *CardList, err error) {
	defer tenant.Wrap(&err, "booking.SearchCards(%s)", t.ID)
	f, err := CardFilter{No: q.No, Status: q.Status}.normalize()
	if err != nil {
		return nil, err
	}
	no := f.No
	if q.PerPage <= 0 {
		q.PerPage = 50
	}
	q.PerPage = min(q.PerPage, 200)
	q.Page = max(q.Page, 1)
	out := &CardList{Counts: map[CardStatus]int{}, No: no, PerPage: q.PerPage}
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var counts []struct {
			Status CardStatus `bun:"status"`
			N      int        `bun:"n"`
		}
		if err := tx.NewRaw("SELECT status, count(*) AS n FROM cards GROUP BY status").Scan(ctx, &counts); err != nil {
			return err
		}
		for _, c := range counts {
			out.Counts[c.Status] = c.N
			out.All += c.N
		}
		n, err := f.where(tx.NewSelect().Model((*Card)(nil))).Count(ctx)
		if err != nil {
			return err
		}
		out.Total = int(n)
		out.Page = min(q.Page, out.Pages())
		if err := f.where(tx.NewSelect().Model(&out.Cards)).Order("card_no").
			Limit(int64(q.PerPage)).Offset(int64((out.Page - 1) * q.PerPage)).Scan(ctx); err != nil {
			return err
		}
		return a.Audit(ctx, tx, t.ID, "card.search", "", nil, map[string]any{"q": no, "status": string(q.Status), "page": out.Page, "shown": len(out.Cards), "total": out.Total})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CardStatusChange is one row of a card's 交付進捗 history.
type CardStatusChange struct {
	bun.BaseModel `bun:"table:card_status_history"`

	ID        uuid.UUID      `bun:"id,pk,type:uuid"`
	CardID    uuid.UUID      `bun:"card_id,type:uuid"`
	From      CardStatus     `bun:"from_status,nullzero"`
	To        CardStatus     `bun:"to_status"`
	Channel   tenant.Channel `bun:"channel"`
	Actor     string         `bun:"actor"`
	ChangedAt time.Time      `bun:"changed_at"`
}

// CardRecord is what the staff card page shows: the card, its history (oldest first) and its
// current booking, if any.
type CardRecord struct {
	Card        Card
	History     []CardStatusChange
	Reservation *ReservationView // nil without an active booking
	Next        []CardStatus     // statuses staff may change it to
}

// CardRecord returns a card of the tenant with its history and current booking, and writes the
// read to the audit log ("card.view"). It returns not_found for an unknown id (another city's
// card included: row-level security hides it).
func (s *Service) CardRecord(ctx context.Context, t *tenant.Tenant, id uuid.UUID, a tenant.Actor) (_ *CardRecord, err error) {
	defer tenant.Wrap(&err, "booking.CardRecord(%s, %s)", t.ID, id)
	rec := &CardRecord{}
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(&rec.Card).Where("id = ?", id).Scan(ctx); err != nil {
			return tenant.DBError(err)
		}
		if err := tx.NewSelect().Model(&rec.History).Where("card_id = ?", id).Order("seq").Scan(ctx); err != nil {
			return err
		}
		var rid []uuid.UUID
		if err := tx.NewRaw(`SELECT rc.reservation_id FROM reservation_cards rc JOIN reservations r ON r.id = rc.reservation_id
			WHERE rc.card_id = ? AND rc.active AND r.status = 'booked'`, id).Scan(ctx, &rid); err != nil {
			return err
		}
		if len(rid) > 0 {
			v, err := loadView(ctx, tx, rid[0])
			if err != nil {
				return err
			}
			rec.Reservation = v
		}
		return a.Audit(ctx, tx, t.ID, "card.view", CardTarget(id), nil, nil)
	})
	if err != nil {
		return nil, err
	}
	rec.Next = NextCardStatuses(rec.Card.Status)
	return rec, nil
}

// CardTarget is how the audit log names a card: by its id, never its number, so the log keeps no
// card number after the card row is deleted at the end of its retention.
func CardTarget(id uuid.UUID) string { return "card:" + id.String() }

// MaxBulkCards is the most cards one status change may touch.
const MaxBulkCards = 500

// ChangeCardStatus moves every card in ids to status to, by hand, in one transaction: all change
// or none. Each change is written to the history (channel staff) and the audit log
// ("card.status", before and after). It returns invalid for an unknown status or an empty or too
// long list, not_found ("card.not_found") when a card is not the tenant's, and the conflict of
// CheckCardTransition for the first card (by number) that may not move, with "card_no" added to
// its Args; then nothing changed.
func (s *Service) ChangeCardStatus(ctx context.Context, t *tenant.Tenant, ids []uuid.UUID, to CardStatus, a tenant.Actor) (err error) {
	defer tenant.Wrap(&err, "booking.ChangeCardStatus(%s)", t.ID)
	ids = uniqueIDs(ids)
	switch {
	case !ValidCardStatus(to):
		return fieldError("to", "cards.refused.no_status")
	case len(ids) == 0:
		return fieldError("id", "cards.bulk.none")
	case len(ids) > MaxBulkCards:
		return fieldError("id", "cards.bulk.too_many")
	}
	now := s.now()
	return tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var cards []Card
		// Locked in id order, as lockCards does, so concurrent changes cannot deadlock.
		if err := tx.NewSelect().Model(&cards).Column("id", "card_no", "status").Where("id IN (?)", bun.List(ids)).
			Order("id").For("UPDATE").Scan(ctx); err != nil {
			return err
		}
		if len(cards) != len(ids) {
			return tenant.Errorf(tenant.NotFound, "card.not_found")
		}
		slices.SortFunc(cards, func(x, y Card) int {
			if x.CardNo < y.CardNo {
				return -1
			}
			if x.CardNo > y.CardNo {
				return 1
			}
			return 0
		})
		for _, c := range cards {
			if err := CheckCardTransition(c.Status, to); err != nil {
				e := tenant.AsError(err)
				e.Args["card_no"] = c.CardNo
				return e
			}
		}
		for _, c := range cards {
			if err := recordStatus(ctx, tx, t.ID, c.ID, c.Status, to, a, now); err != nil {
				return err
			}
			after := map[string]any{"status": string(to)}
			if len(cards) > 1 {
				after["batch"] = len(cards)
			}
			if err := a.Audit(ctx, tx, t.ID, "card.status", CardTarget(c.ID), map[string]any{"status": string(c.Status)}, after); err != nil {
				return err
			}
		}
		return nil
	})
}

// CardHardLocked reports whether cardNo's citizen login is hard-locked (10 failures without a
// success), which only staff or the call center can lift. It returns unavailable when Redis
// cannot answer.
func (s *Service) CardHardLocked(ctx context.Context, t *tenant.Tenant, cardNo string) (_ bool, err error) {
	defer tenant.Wrap(&err, "booking.CardHardLocked(%s)", t.ID)
	if s.cfg.Guard == nil {
		return false, tenant.Errorf(tenant.Unavailable, "error.unavailable")
	}
	locked, err := s.cfg.Guard.HardLocked(ctx, t.ID.String(), NormalizeCardNo(cardNo))
	if err != nil {
		return false, tenant.Errorf(tenant.Unavailable, "error.unavailable").Wrap(err)
	}
	return locked, nil
}

// UnlockCardByID lifts the login locks of one of the tenant's cards after staff checked the
// holder's identity by other means, and audit-logs it ("card.unlock"). The log row is written in
// the same transaction, before the locks are lifted: if lifting fails nothing is logged, and if
// logging fails nothing is lifted. It returns not_found for an unknown card and unavailable when
// Redis fails.
func (s *Service) UnlockCardByID(ctx context.Context, t *tenant.Tenant, id uuid.UUID, a tenant.Actor) (err error) {
	defer tenant.Wrap(&err, "booking.UnlockCardByID(%s, %s)", t.ID, id)
	return tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var c Card
		if err := tx.NewSelect().Model(&c).Column("id", "card_no").Where("id = ?", id).Scan(ctx); err != nil {
			return tenant.DBError(err)
		}
		locked, err := s.CardHardLocked(ctx, t, c.CardNo)
		if err != nil {
			return err
		}
		if err := a.Audit(ctx, tx, t.ID, "card.unlock", CardTarget(id), map[string]any{"hard_locked": locked}, nil); err != nil {
			return err
		}
		return s.unlockCard(ctx, t, c.CardNo)
	})
}

// CardNumbers returns the numbers of those of ids that are still the tenant's cards, for the
// audit screens, which name cards by id.
func (s *Service) CardNumbers(ctx context.Context, t *tenant.Tenant, ids []uuid.UUID) (_ map[uuid.UUID]string, err error) {
	defer tenant.Wrap(&err, "booking.CardNumbers(%s)", t.ID)
	out := map[uuid.UUID]string{}
	ids = uniqueIDs(ids)
	if len(ids) == 0 {
		return out, nil
	}
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var cards []Card
		if err := tx.NewSelect().Model(&cards).Column("id", "card_no").Where("id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
			return err
		}
		for _, c := range cards {
			out[c.ID] = c.CardNo
		}
		return nil
	})
	return out, err
}
