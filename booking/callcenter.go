package booking

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// Caller is what a call-center operator sees once a caller's card number and birthday matched:
// the card and its active booking, if any, with every card it holds (the family's).
type Caller struct {
	Card        Card
	Reservation *ReservationView // nil: no active booking
}

// CallerCheck is what an operator types for a caller: the card number and the birthday (MMDD in
// any accepted form). Family is set for a family member's card checked during the same call,
// which is not counted as another call.
type CallerCheck struct {
	CardNo, Birth string
	Family        bool
}

// VerifyCaller checks a caller's card and birthday for a call-center operator (a
// tenant.Operator actor; anyone else is forbidden). It answers like the citizens' login
// (Login): invalid for a malformed number or date, unauthorized for an unknown card and a wrong
// birthday alike — nothing about the card shows before the birthday matches — and throttled
// while the card is locked or the operator has failed too many checks; the check counts toward
// the card's own lockout and the operator's limit, not toward the IP layers. Every check goes
// to the city's audit log as the operator: "callcenter.verify.failed" (the masked number typed)
// or "callcenter.card.read" (in the transaction that reads the card's booking), and a verified
// caller who is not a family member counts as one call of that operator for that city
// (tenant.OpsAccounts.CallCounts).
func (s *Service) VerifyCaller(ctx context.Context, t *tenant.Tenant, in CallerCheck, a tenant.Actor) (_ *Caller, err error) {
	defer tenant.Wrap(&err, "booking.VerifyCaller(%s)", t.ID)
	if a.Channel != tenant.ChannelCallCenter || a.AccountID == uuid.Nil {
		return nil, tenant.Errorf(tenant.Forbidden, "error.forbidden")
	}
	card, err := s.Login(ctx, t, LoginInput{CardNo: in.CardNo, Birth: in.Birth, Operator: a.AccountID})
	if c := tenant.ErrorCode(err); c == tenant.Unauthorized || c == tenant.Throttled {
		typed := Card{CardNo: NormalizeCardNo(in.CardNo)}
		if aerr := tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
			return a.Audit(ctx, tx, t.ID, "callcenter.verify.failed", typed.MaskedNo(), nil, map[string]any{"answer": tenant.AsError(err).Key})
		}); aerr != nil {
			return nil, aerr
		}
	}
	if err != nil {
		return nil, err
	}
	out := &Caller{Card: *card}
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var id uuid.UUID
		err := tx.NewRaw(`SELECT rc.reservation_id FROM reservation_cards rc JOIN reservations r ON r.id = rc.reservation_id
			WHERE rc.card_id = ? AND rc.active AND r.status = 'booked'`, card.ID).Scan(ctx, &id)
		switch tenant.ErrorCode(tenant.DBError(err)) {
		case "":
			if out.Reservation, err = loadView(ctx, tx, id); err != nil {
				return err
			}
		case tenant.NotFound:
		default:
			return tenant.DBError(err)
		}
		if !in.Family {
			if _, err := tx.ExecContext(ctx, `INSERT INTO call_log (operator, tenant, at) VALUES (?, ?, ?)`, a.AccountID, t.ID, s.now()); err != nil {
				return err
			}
		}
		after := map[string]any{"status": string(card.Status)}
		if out.Reservation != nil {
			after["reservation"] = out.Reservation.Code
		}
		return a.Audit(ctx, tx, t.ID, "callcenter.card.read", card.MaskedNo(), nil, after)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// BoardPlace is one place of a city on the call center's board: its open slots that have not
// started, full ones included (no places left), in time order.
type BoardPlace struct {
	Location Location
	Slots    []Slot
}

// Board returns every active place of the city with its open slots in the days [from, to] that
// have not started — the board on which operators see all the city's places at once and pick a
// time for a caller. Two reads, whatever the number of places.
func (s *Service) Board(ctx context.Context, t *tenant.Tenant, from, to Date) (_ []BoardPlace, err error) {
	defer tenant.Wrap(&err, "booking.Board(%s)", t.ID)
	var out []BoardPlace
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var ls []Location
		if err := tx.NewSelect().Model(&ls).Where("active").Order("sort_order", "name").Scan(ctx); err != nil {
			return err
		}
		var slots []Slot
		if err := tx.NewSelect().Model(&slots).Where("day BETWEEN ? AND ?", from.String(), to.String()).
			Where("open").Where("starts_at > ?", s.now()).Order("starts_at", "location_id").Scan(ctx); err != nil {
			return err
		}
		at := map[uuid.UUID]int{}
		for _, l := range ls {
			at[l.ID] = len(out)
			out = append(out, BoardPlace{Location: l})
		}
		for _, sl := range slots {
			if i, ok := at[sl.LocationID]; ok {
				out[i].Slots = append(out[i].Slots, sl)
			}
		}
		return nil
	})
	return out, err
}

// CitizensFirstDay is the first day on which citizens may still book, change or cancel: days
// before it are inside the city's deadline, where a call-center operator acts only with a reason.
func CitizensFirstDay(t *tenant.Tenant, now time.Time) Date { return bookableFrom(t, now) }
