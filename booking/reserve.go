package booking

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// ReserveInput books a slot for one or more cards.
type ReserveInput struct {
	SlotID  uuid.UUID
	HoldID  uuid.UUID // the caller's hold on SlotID, if any (uuid.Nil: take places directly)
	CardIDs []uuid.UUID
	Email   string // optional; validated by ValidateEmail
	Lang    string // "ja" or "en": the language of the mail
	Actor   tenant.Actor
	// RequestKey is the client's key for this request (the API's Idempotency-Key header, a
	// form's token): printable ASCII, at most 255 characters. Without a hold, a request that
	// repeats a key finds the booking the first one made; with a hold, the hold is the key.
	RequestKey string
}

// requestKey is the key that makes Reserve idempotent: the hold when there is one (a hold is
// used once, by its own session), otherwise the client's key scoped to who sent it (the
// account, or the citizen's own card), so one client's key never finds another's booking. It
// is stored as SHA-256; "" means no key.
func (in ReserveInput) requestKey(cards []uuid.UUID) string {
	var scoped string
	switch {
	case in.HoldID != uuid.Nil:
		scoped = "hold\x00" + in.HoldID.String()
	case in.RequestKey == "":
		return ""
	case in.Actor.Channel == tenant.ChannelWeb:
		scoped = "card\x00" + cards[0].String() + "\x00" + in.RequestKey
	default:
		scoped = string(in.Actor.Channel) + "\x00" + in.Actor.Login + "\x00" + in.RequestKey
	}
	sum := sha256.Sum256([]byte(scoped))
	return hex.EncodeToString(sum[:])
}

// validRequestKey reports whether k may be a client's request key.
func validRequestKey(k string) bool {
	if len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// bookable are the card statuses from which a new booking may be made.
var bookable = map[CardStatus]bool{CardImported: true, CardNoticeSent: true, CardVisited: true}

// Reserve books in.SlotID for every card in in.CardIDs, one place each: all succeed or none. It
// returns invalid for bad input or a closed slot, conflict "slot.full" when the slot cannot take
// them all, conflict "card.already_booked" when a card already has an active booking or was
// issued, and writes the confirmation mail to the outbox in the same transaction. Staff and
// call-center actors may book after the citizens' deadline (never a time that has started); for
// every actor but a citizen "reservation.create" (the booking code, slot and card numbers; never
// the e-mail address) goes to the audit log in the same transaction.
//
// Reserve is idempotent per request (see ReserveInput.RequestKey): a repeated request — a double
// click, a reload, a client retrying after a lost answer — returns the booking the first one
// made with Replayed set, and books nothing more. A key repeated with other cards or another
// slot is invalid "request.key_reused".
func (s *Service) Reserve(ctx context.Context, t *tenant.Tenant, in ReserveInput) (_ *Reservation, err error) {
	defer tenant.Wrap(&err, "booking.Reserve(%s, %s)", t.ID, in.SlotID)
	defer s.countRefusal(t.ID, &err)
	email, err := ValidateEmail(in.Email)
	if err != nil {
		return nil, err
	}
	cards := uniqueIDs(in.CardIDs)
	if len(cards) == 0 || len(cards) > MaxParty {
		return nil, tenant.Errorf(tenant.Invalid, "reserve.party.invalid")
	}
	if !validRequestKey(in.RequestKey) {
		return nil, tenant.Errorf(tenant.Invalid, "request.key_invalid")
	}
	now := s.now()
	r := &Reservation{TenantID: t.ID, SlotID: in.SlotID, Status: Booked, Channel: in.Actor.Channel,
		Lang: langOrJA(in.Lang), PartySize: len(cards), CreatedAt: now, UpdatedAt: now}
	if email != "" {
		r.Email = &email
	}
	if key := in.requestKey(cards); key != "" {
		r.RequestKey = &key
	}
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		statuses, err := lockCards(ctx, tx, cards)
		if err != nil {
			return err
		}
		// After the cards' locks: a first request still running has committed by now.
		if done, err := replay(ctx, tx, r, cards); done || err != nil {
			return err
		}
		for _, st := range statuses {
			if !bookable[st] {
				return tenant.Errorf(tenant.Conflict, "card.already_booked")
			}
		}
		if err := takePlaces(ctx, tx, t, in.SlotID, len(cards), in.HoldID, in.Actor, now, "booked"); err != nil {
			return err
		}
		var slot Slot
		if err := tx.NewSelect().Model(&slot).Where("id = ?", in.SlotID).Scan(ctx); err != nil {
			return fmt.Errorf("read slot: %w", err)
		}
		r.LocationID, r.StartsAt = slot.LocationID, slot.StartsAt
		if err := insertReservation(ctx, tx, r); err != nil {
			return err
		}
		for _, id := range cards {
			if _, err := tx.ExecContext(ctx, "INSERT INTO reservation_cards (tenant_id, reservation_id, card_id) VALUES (?, ?, ?)",
				t.ID, r.ID, id); err != nil {
				if isUniqueViolation(err) {
					return tenant.Errorf(tenant.Conflict, "card.already_booked").Wrap(err)
				}
				return fmt.Errorf("link card: %w", err)
			}
			if err := recordStatus(ctx, tx, t.ID, id, statuses[id], CardReserved, in.Actor, now); err != nil {
				return err
			}
		}
		if err := auditCreate(ctx, tx, t.ID, r, cards, in.Actor); err != nil {
			return err
		}
		return insertOutbox(ctx, tx, r, KindCreated, nil, now)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Change moves a booked reservation to newSlot atomically: the new places are taken before the
// old ones are returned, in one transaction. Citizens may change only while both the old and the
// new day are before the booking deadline. It returns not_found for an unknown reservation,
// conflict "reservation.not_active" when it is no longer booked, "slot.full" and "slot.closed"
// as Reserve, and "deadline.passed" after the deadline. Staff and call-center actors move a
// booking on the citizen's behalf after the deadline too (holdID may be uuid.Nil: the places are
// taken directly); "reservation.change" with the slot before and after goes to the audit log in
// the same transaction for every actor but a citizen.
func (s *Service) Change(ctx context.Context, t *tenant.Tenant, reservationID, newSlot, holdID uuid.UUID, a tenant.Actor) (_ *Reservation, err error) {
	defer tenant.Wrap(&err, "booking.Change(%s, %s, %s)", t.ID, reservationID, newSlot)
	defer s.countRefusal(t.ID, &err)
	now := s.now()
	var r Reservation
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		old, err := lockActiveReservation(ctx, tx, t, reservationID, a, now)
		if err != nil {
			return err
		}
		if old.SlotID == newSlot {
			return tenant.Errorf(tenant.Invalid, "reserve.same_slot")
		}
		if err := takePlaces(ctx, tx, t, newSlot, old.PartySize, holdID, a, now, "booked"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE slots SET booked = booked - ?, updated_at = ? WHERE id = ?", old.PartySize, now, old.SlotID); err != nil {
			return fmt.Errorf("return old places: %w", err)
		}
		var slot Slot
		if err := tx.NewSelect().Model(&slot).Where("id = ?", newSlot).Scan(ctx); err != nil {
			return fmt.Errorf("read slot: %w", err)
		}
		r = *old
		r.SlotID, r.LocationID, r.StartsAt, r.UpdatedAt = slot.ID, slot.LocationID, slot.StartsAt, now
		if _, err := tx.NewUpdate().Model(&r).Column("slot_id", "location_id", "starts_at", "updated_at").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("move reservation: %w", err)
		}
		if err := a.Audit(ctx, tx, t.ID, "reservation.change", r.Code, reservationState(old), reservationState(&r)); err != nil {
			return err
		}
		return insertOutbox(ctx, tx, &r, KindChanged, map[string]any{
			"old_starts_at": old.StartsAt, "old_location_id": old.LocationID,
		}, now)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// Cancel cancels a booked reservation, returns its places and its cards to notice_sent, and writes
// the cancellation mail to the outbox and, for every actor but a citizen, "reservation.cancel" to
// the audit log, all in one transaction. Errors and the deadline as Change.
func (s *Service) Cancel(ctx context.Context, t *tenant.Tenant, reservationID uuid.UUID, a tenant.Actor) (err error) {
	defer tenant.Wrap(&err, "booking.Cancel(%s, %s)", t.ID, reservationID)
	defer s.countRefusal(t.ID, &err)
	now := s.now()
	return tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		r, err := lockActiveReservation(ctx, tx, t, reservationID, a, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE slots SET booked = GREATEST(booked - ?, 0), updated_at = ? WHERE id = ?", r.PartySize, now, r.SlotID); err != nil {
			return fmt.Errorf("return places: %w", err)
		}
		before := reservationState(r)
		r.Status, r.CancelledAt, r.UpdatedAt = Cancelled, &now, now
		if _, err := tx.NewUpdate().Model(r).Column("status", "cancelled_at", "updated_at").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("cancel reservation: %w", err)
		}
		if err := a.Audit(ctx, tx, t.ID, "reservation.cancel", r.Code, before, reservationState(r)); err != nil {
			return err
		}
		var cardIDs []uuid.UUID
		if err := tx.NewRaw("UPDATE reservation_cards SET active = false WHERE reservation_id = ? AND active RETURNING card_id", r.ID).Scan(ctx, &cardIDs); err != nil {
			return fmt.Errorf("unlink cards: %w", err)
		}
		for _, id := range cardIDs {
			if err := recordStatus(ctx, tx, t.ID, id, CardReserved, CardNoticeSent, a, now); err != nil {
				return err
			}
		}
		return insertOutbox(ctx, tx, r, KindCancelled, nil, now)
	})
}

// lockActiveReservation locks a reservation, checks it is booked and, for citizens, that its day
// is still before the deadline.
func lockActiveReservation(ctx context.Context, tx bun.IDB, t *tenant.Tenant, id uuid.UUID, a tenant.Actor, now time.Time) (*Reservation, error) {
	var r Reservation
	if err := tx.NewSelect().Model(&r).Where("id = ?", id).For("UPDATE").Scan(ctx); err != nil {
		return nil, tenant.DBError(err)
	}
	if r.Status != Booked {
		return nil, tenant.Errorf(tenant.Conflict, "reservation.not_active")
	}
	if !overridesDeadline(a) && (DateOf(r.StartsAt).Before(bookableFrom(t, now)) || !r.StartsAt.After(now)) {
		return nil, tenant.Errorf(tenant.Conflict, "deadline.passed")
	}
	return &r, nil
}

// lockCards locks the cards (in id order, so concurrent bookings cannot deadlock) and returns
// their statuses; a missing card is not_found.
func lockCards(ctx context.Context, tx bun.IDB, ids []uuid.UUID) (map[uuid.UUID]CardStatus, error) {
	var rows []Card
	if err := tx.NewSelect().Model(&rows).Column("id", "status").Where("id IN (?)", bun.List(ids)).
		Order("id").For("UPDATE").Scan(ctx); err != nil {
		return nil, fmt.Errorf("lock cards: %w", err)
	}
	if len(rows) != len(ids) {
		return nil, tenant.Errorf(tenant.NotFound, "card.not_found")
	}
	out := make(map[uuid.UUID]CardStatus, len(rows))
	for _, c := range rows {
		out[c.ID] = c.Status
	}
	return out, nil
}

// replay fills r with the booking an earlier request with r's key made, reporting whether there
// was one; invalid "request.key_reused" when that booking is for other cards or another slot.
func replay(ctx context.Context, tx bun.IDB, r *Reservation, cards []uuid.UUID) (bool, error) {
	if r.RequestKey == nil {
		return false, nil
	}
	var prev Reservation
	err := tx.NewSelect().Model(&prev).Where("request_key = ?", *r.RequestKey).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find earlier request: %w", err)
	}
	var had []uuid.UUID
	if err := tx.NewRaw("SELECT card_id FROM reservation_cards WHERE reservation_id = ? ORDER BY card_id", prev.ID).Scan(ctx, &had); err != nil {
		return false, fmt.Errorf("read earlier request's cards: %w", err)
	}
	want := slices.Clone(cards)
	slices.SortFunc(want, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	if prev.SlotID != r.SlotID || !slices.Equal(had, want) {
		return false, tenant.Errorf(tenant.Invalid, "request.key_reused")
	}
	*r = prev
	r.Replayed = true
	return true, nil
}

func insertReservation(ctx context.Context, tx bun.IDB, r *Reservation) error {
	for range 5 {
		r.Code = newCode()
		res, err := tx.NewInsert().Model(r).On("CONFLICT (tenant_id, code) DO NOTHING").Returning("id").Exec(ctx)
		if isUniqueViolation(err) { // the request key: a concurrent request with other cards
			return tenant.Errorf(tenant.Invalid, "request.key_reused").Wrap(err)
		}
		if err != nil {
			return fmt.Errorf("insert reservation: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
	}
	return errors.New("could not draw a unique booking code")
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func uniqueIDs(ids []uuid.UUID) []uuid.UUID {
	seen := map[uuid.UUID]bool{}
	var out []uuid.UUID
	for _, id := range ids {
		if id != uuid.Nil && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func langOrJA(l string) string {
	if l == "en" {
		return "en"
	}
	return "ja"
}

// OutboxKind is the kind of mail an outbox row asks for.
type OutboxKind string

// Outbox kinds.
const (
	KindCreated   OutboxKind = "reservation_created"
	KindChanged   OutboxKind = "reservation_changed"
	KindCancelled OutboxKind = "reservation_cancelled"
	KindReminder  OutboxKind = "reminder"
)

// insertOutbox queues a mail about r in the caller's transaction. Reservations without an e-mail
// address get no row.
func insertOutbox(ctx context.Context, tx bun.IDB, r *Reservation, kind OutboxKind, data map[string]any, now time.Time) error {
	if r.Email == nil || *r.Email == "" {
		return nil
	}
	if data == nil {
		data = map[string]any{}
	}
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO outbox (tenant_id, kind, reservation_id, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
		r.TenantID, kind, r.ID, string(b), now, now); err != nil {
		return fmt.Errorf("insert outbox %s: %w", kind, err)
	}
	return nil
}
