package booking

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// Staff booking on a citizen's behalf (channel "staff"): the clerk has checked the caller's or
// visitor's identity, so no MMDD is asked. The clerk types the card numbers; each line is looked
// up and refused with its own reason; the places are held with HoldSlot as a citizen's are, and
// Reserve books with the staff actor, which writes the audit row in the same transaction.

// CardLine is one typed line of the staff new-booking form after lookup.
type CardLine struct {
	Line     int    // 1-based position in the form
	Input    string // as typed
	No       string // normalised number ("" when malformed)
	Card     *Card  // the card, when found
	ErrKey   string // why the line cannot be booked; "" when it can
	Existing *Reservation
}

// refusedStatus explains, per card status, why a card cannot be booked; statuses not listed
// (imported, notice_sent, visited) are bookable, as in Reserve.
var refusedStatus = map[CardStatus]string{
	CardReserved: "behalf.card.booked",
	CardIssued:   "behalf.card.issued",
	CardReturned: "behalf.card.returned",
	CardOnHold:   "behalf.card.on_hold",
	CardVoid:     "behalf.card.void",
}

// LookupCards looks up the card numbers a clerk typed (one per line, blank lines skipped,
// full-width digits and hyphens allowed as at citizen login) and returns one CardLine per
// non-blank line. When any line is refused — malformed, unknown in this tenant, typed twice,
// in an active booking (Existing set), issued, returned, on hold or void — it also returns an
// invalid error whose Fields map "card{Line}" to the line's key; with no line at all the error
// has the field "card1". More than MaxParty lines is invalid "reserve.party.invalid". The lookup
// is audit-logged ("card.lookup": the numbers and how many were found). It asks no birthday, so
// it is for a clerk who has checked the person's identity: a citizen gets forbidden.
func (s *Service) LookupCards(ctx context.Context, t *tenant.Tenant, inputs []string, v tenant.Actor) (_ []CardLine, err error) {
	defer tenant.Wrap(&err, "booking.LookupCards(%s)", t.ID)
	if v.Channel == tenant.ChannelWeb {
		return nil, tenant.Errorf(tenant.Forbidden, "error.forbidden")
	}
	lines, nos, err := cardLines(t, inputs)
	if err != nil {
		return nil, err
	}
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		byNo := map[string]*Card{}
		if len(nos) > 0 {
			var cards []Card
			if err := tx.NewSelect().Model(&cards).Where("card_no IN (?)", bun.List(nos)).Scan(ctx); err != nil {
				return err
			}
			for i := range cards {
				byNo[cards[i].CardNo] = &cards[i]
			}
		}
		found := 0
		for i := range lines {
			l := &lines[i]
			if l.ErrKey != "" {
				continue
			}
			c := byNo[l.No]
			if c == nil {
				l.ErrKey = "behalf.card.not_found"
				continue
			}
			l.Card, found = c, found+1
			l.ErrKey = refusedStatus[c.Status]
			if c.Status == CardReserved {
				var r Reservation
				err := tx.NewSelect().Model(&r).
					Where("status = 'booked' AND id IN (SELECT reservation_id FROM reservation_cards WHERE card_id = ? AND active)", c.ID).
					Limit(1).Scan(ctx)
				if err == nil {
					l.Existing = &r
				} else if tenant.ErrorCode(tenant.DBError(err)) != tenant.NotFound {
					return err
				}
			}
		}
		return v.Audit(ctx, tx, t.ID, "card.lookup", "", nil, map[string]any{"card_nos": nos, "found": found, "purpose": "staff_booking"})
	})
	if err != nil {
		return nil, err
	}
	fields := map[string]string{}
	for _, l := range lines {
		if l.ErrKey != "" {
			fields[fmt.Sprintf("card%d", l.Line)] = l.ErrKey
		}
	}
	if len(fields) > 0 {
		return lines, &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: fields}
	}
	return lines, nil
}

// cardLines numbers the non-blank typed lines and checks each number's form and that it is not
// typed twice; it returns the lines and the distinct valid numbers to look up.
func cardLines(t *tenant.Tenant, inputs []string) ([]CardLine, []string, error) {
	var lines []CardLine
	for i, in := range inputs {
		if NormalizeCardNo(in) != "" {
			lines = append(lines, CardLine{Line: i + 1, Input: in})
		}
	}
	if len(lines) == 0 {
		return nil, nil, fieldError("card1", "behalf.card.required")
	}
	if len(lines) > MaxParty {
		return nil, nil, tenant.Errorf(tenant.Invalid, "reserve.party.invalid")
	}
	seen := map[string]bool{}
	var nos []string
	for i := range lines {
		l := &lines[i]
		no, err := ValidateCardNo(t, l.Input)
		switch {
		case err != nil:
			l.ErrKey = tenant.AsError(err).Fields["card_no"]
		case seen[no]:
			l.No, l.ErrKey = no, "behalf.card.duplicate"
		default:
			l.No, seen[no] = no, true
			nos = append(nos, no)
		}
	}
	return lines, nos, nil
}

// BookingCards returns the cards being booked on the later steps of the staff flow, in the
// order given. It returns not_found when an id is not a card of this tenant and invalid
// "reserve.party.invalid" for no card or more than MaxParty. Whether they are still bookable is
// decided by Reserve.
func (s *Service) BookingCards(ctx context.Context, t *tenant.Tenant, ids []uuid.UUID) (_ []Card, err error) {
	defer tenant.Wrap(&err, "booking.BookingCards(%s)", t.ID)
	ids = uniqueIDs(ids)
	if len(ids) == 0 || len(ids) > MaxParty {
		return nil, tenant.Errorf(tenant.Invalid, "reserve.party.invalid")
	}
	var cards []Card
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&cards).Where("id IN (?)", bun.List(ids)).Scan(ctx)
	})
	if err != nil {
		return nil, err
	}
	if len(cards) != len(ids) {
		return nil, tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	byID := map[uuid.UUID]Card{}
	for _, c := range cards {
		byID[c.ID] = c
	}
	out := make([]Card, 0, len(ids))
	for _, id := range ids {
		out = append(out, byID[id])
	}
	return out, nil
}

// auditCreate writes "reservation.create" for r (the booking code, slot and card numbers; never
// the e-mail address) unless a is a citizen.
func auditCreate(ctx context.Context, tx bun.IDB, tenantID uuid.UUID, r *Reservation, cards []lockedCard, a tenant.Actor) error {
	if !a.Audited() {
		return nil
	}
	nos := make([]string, len(cards))
	for i, c := range cards {
		nos[i] = c.No
	}
	slices.Sort(nos)
	return a.Audit(ctx, tx, tenantID, "reservation.create", r.Code, nil, map[string]any{
		"status": r.Status, "slot_id": r.SlotID.String(), "location_id": r.LocationID.String(),
		"starts_at": r.StartsAt.UTC().Format("2006-01-02T15:04:05Z07:00"), "card_nos": nos,
		"channel": r.Channel, "email": r.Email != nil, "lang": r.Lang,
	})
}
