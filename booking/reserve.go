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
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking/slotfeed"
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
	// Note is the call center's short note of the call (at most 200 characters, one line),
	// shown to the city's staff with the booking; "" for every other channel.
	Note string
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
	if err := checkReason(in.Actor); err != nil {
		return nil, err
	}
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
	note := strings.TrimSpace(in.Note)
	if utf8.RuneCountInString(note) > maxReason || strings.ContainsFunc(note, unicode.IsControl) {
		return nil, fieldError("note", "callcenter.note.invalid")
	}
	now := s.now()
	r := &Reservation{TenantID: t.ID, SlotID: in.SlotID, Status: Booked, Channel: in.Actor.Channel,
		Lang: langOrJA(in.Lang), PartySize: len(cards), CreatedAt: now, UpdatedAt: now, CallNote: note}
	if email != "" {
		r.Email = &email
	}
	if key := in.requestKey(cards); key != "" {
		r.RequestKey = &key
	}
	// A slot the database found full, with no change of its day seen since, is refused without a
	// transaction (see SlotCache). Not with a hold (its own places are converted) nor with a request
	// key (a repeated request must find the booking its first try made, even in a full slot).
	cache := s.cfg.Cache
	if in.HoldID != uuid.Nil || r.RequestKey != nil {
		cache = nil
	}
	var since uint64
	if cache != nil {
		if m, ok := cache.knownFull(t.ID, in.SlotID); ok && m.startsAt.After(now) &&
			(overridesDeadline(in.Actor) || !m.day.day.Before(bookableFrom(t, now))) {
			return nil, tenant.Errorf(tenant.Conflict, "slot.full")
		}
		var live bool
		if since, live = cache.fullSince(); !live {
			cache = nil
		}
	}
	var slot, refused *takenSlot
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		locked, err := lockCards(ctx, tx, cards)
		if err != nil {
			return err
		}
		// After the cards' locks: a first request still running has committed by now.
		if done, err := replay(ctx, tx, r, cards); done || err != nil {
			return err
		}
		for _, c := range locked {
			if !bookable[c.Status] {
				return tenant.Errorf(tenant.Conflict, "card.already_booked")
			}
		}
		if slot, err = takePlaces(ctx, tx, t, in.SlotID, len(cards), in.HoldID, in.Actor, now, "booked"); err != nil {
			refused, slot = slot, nil
			return err
		}
		r.LocationID, r.StartsAt = slot.LocationID, slot.StartsAt
		if err := insertBooking(ctx, tx, r, cards, locked, in.Actor); err != nil {
			return err
		}
		return auditCreate(ctx, tx, t.ID, r, locked, in.Actor)
	})
	if err != nil {
		if cache != nil && refused != nil && refused.SoldOut && tenant.ErrorCode(err) == tenant.Conflict {
			cache.markFull(t.ID, in.SlotID, refused.LocationID, refused.Day, refused.StartsAt, since)
		}
		return nil, err
	}
	if slot != nil { // nil: a replay, which changed nothing
		s.slotsChanged(ctx, t.ID, slot.span())
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
	if err := checkReason(a); err != nil {
		return nil, err
	}
	now := s.now()
	var r Reservation
	var spans []slotfeed.Span
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		old, err := lockActiveReservation(ctx, tx, t, reservationID, a, now)
		if err != nil {
			return err
		}
		if old.SlotID == newSlot {
			return tenant.Errorf(tenant.Invalid, "reserve.same_slot")
		}
		slot, err := takePlaces(ctx, tx, t, newSlot, old.PartySize, holdID, a, now, "booked")
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE slots SET booked = booked - ?, updated_at = ? WHERE id = ?", old.PartySize, now, old.SlotID); err != nil {
			return fmt.Errorf("return old places: %w", err)
		}
		r = *old
		r.SlotID, r.LocationID, r.StartsAt, r.UpdatedAt = newSlot, slot.LocationID, slot.StartsAt, now
		spans = []slotfeed.Span{old.span(), slot.span()}
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
	s.slotsChanged(ctx, t.ID, spans...)
	return &r, nil
}

// Cancel cancels a booked reservation, returns its places and its cards to notice_sent, and writes
// the cancellation mail to the outbox and, for every actor but a citizen, "reservation.cancel" to
// the audit log, all in one transaction. Errors and the deadline as Change.
func (s *Service) Cancel(ctx context.Context, t *tenant.Tenant, reservationID uuid.UUID, a tenant.Actor) (err error) {
	defer tenant.Wrap(&err, "booking.Cancel(%s, %s)", t.ID, reservationID)
	defer s.countRefusal(t.ID, &err)
	if err := checkReason(a); err != nil {
		return err
	}
	now := s.now()
	var span slotfeed.Span
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		r, err := lockActiveReservation(ctx, tx, t, reservationID, a, now)
		if err != nil {
			return err
		}
		span = r.span()
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
	if err == nil {
		s.slotsChanged(ctx, t.ID, span)
	}
	return err
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
		return nil, deadlineRefusal(a, tenant.Errorf(tenant.Conflict, "deadline.passed"))
	}
	return &r, nil
}

// lockedCard is a card Reserve has locked: its number (for the audit log) and status.
type lockedCard struct {
	ID     uuid.UUID
	No     string
	Status CardStatus
}

// lockCardsSQL locks cards in id order, so concurrent bookings cannot deadlock.
const lockCardsSQL = `SELECT id, card_no, status FROM cards WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`

// lockCards locks the cards (in id order, so concurrent bookings cannot deadlock) and returns
// them in that order; a missing card is not_found.
func lockCards(ctx context.Context, tx bun.Tx, ids []uuid.UUID) ([]lockedCard, error) {
	rows, err := tx.Tx.QueryContext(ctx, lockCardsSQL, ids)
	if err != nil {
		return nil, fmt.Errorf("lock cards: %w", err)
	}
	defer rows.Close()
	out := make([]lockedCard, 0, len(ids))
	for rows.Next() {
		var c lockedCard
		if err := rows.Scan(&c.ID, &c.No, &c.Status); err != nil {
			return nil, fmt.Errorf("lock cards: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lock cards: %w", err)
	}
	if len(out) != len(ids) {
		return nil, tenant.Errorf(tenant.NotFound, "card.not_found")
	}
	return out, nil
}

// findRequestSQL finds the booking an earlier request with the same key made.
const findRequestSQL = `SELECT id FROM reservations WHERE request_key = $1`

// replay fills r with the booking an earlier request with r's key made, reporting whether there
// was one; invalid "request.key_reused" when that booking is for other cards or another slot.
func replay(ctx context.Context, tx bun.Tx, r *Reservation, cards []uuid.UUID) (bool, error) {
	if r.RequestKey == nil {
		return false, nil
	}
	var id uuid.UUID
	err := tx.Tx.QueryRowContext(ctx, findRequestSQL, *r.RequestKey).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find earlier request: %w", err)
	}
	var prev Reservation
	if err := tx.NewSelect().Model(&prev).Where("id = ?", id).Scan(ctx); err != nil {
		return false, fmt.Errorf("read earlier request: %w", err)
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

// ReserveStatements are the statements with $n arguments a booking runs, in this order, after
// BEGIN and the tenant scope of tenant.InTx and before COMMIT: the cards' lock, the request-key
// lookup (when the request has a key), the places and the booking itself; staff and operators
// add their audit row. Each is prepared once per connection. madoguchi-bench runs the same texts
// in pgbench as the reference of its booking benchmark.
type ReserveStatements struct {
	LockCards     string // $1 card ids (uuid[])
	FindRequest   string // $1 request key
	TakePlaces    string // $1 slot, $2 now, $3 own hold (uuid.Nil: none), $4 places
	InsertBooking string // see insertBooking for the arguments
}

// ReserveSQL returns the statements of Reserve.
func ReserveSQL() ReserveStatements {
	return ReserveStatements{LockCards: lockCardsSQL, FindRequest: findRequestSQL,
		TakePlaces: takePlacesBookedSQL, InsertBooking: insertBookingSQL}
}

// insertBookingSQL writes a booking in one statement: the reservation, its cards' links, the
// cards' move to reserved with their history rows, and the confirmation mail in the outbox when
// there is an address. The booking code is drawn by the caller; when it is taken (ON CONFLICT)
// nothing is written and no row comes back, and the caller draws another.
const insertBookingSQL = `WITH r AS (
		INSERT INTO reservations (tenant_id, code, slot_id, location_id, starts_at, status, channel, email, lang,
			party_size, created_at, updated_at, request_key, call_note)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $17)
		ON CONFLICT (tenant_id, code) DO NOTHING
		RETURNING id
	), linked AS (
		INSERT INTO reservation_cards (tenant_id, reservation_id, card_id)
		SELECT $1, r.id, c.id FROM r, unnest($13::uuid[]) AS c(id)
	), moved AS (
		UPDATE cards SET status = 'reserved', status_changed_at = $11, updated_at = $11
		WHERE id = ANY($13::uuid[]) AND EXISTS (SELECT 1 FROM r)
	), history AS (
		INSERT INTO card_status_history (tenant_id, card_id, from_status, to_status, channel, actor, changed_at)
		SELECT $1, c.id, c.from_status, 'reserved', $7, $15, $11 FROM r, unnest($13::uuid[], $14::text[]) AS c(id, from_status)
	), mail AS (
		INSERT INTO outbox (tenant_id, kind, reservation_id, data, created_at, updated_at)
		SELECT $1, $16, r.id, '{}', $11, $11 FROM r WHERE $8::text <> ''
	)
	SELECT id FROM r`

// insertBooking writes r (LocationID, StartsAt and the fields Reserve sets) for the cards, all
// moving from their locked status to reserved, and the confirmation mail: one statement, with a
// new booking code drawn up to five times. A card already in an active booking is conflict
// "card.already_booked" (the partial unique index, whatever the race), a request key another
// request used is invalid "request.key_reused".
func insertBooking(ctx context.Context, tx bun.Tx, r *Reservation, cards []uuid.UUID, locked []lockedCard, a tenant.Actor) error {
	from := make(map[uuid.UUID]string, len(locked))
	for _, c := range locked {
		from[c.ID] = string(c.Status)
	}
	froms := make([]string, len(cards))
	for i, id := range cards {
		froms[i] = from[id]
	}
	for range 5 {
		r.Code = newCode()
		err := tx.Tx.QueryRowContext(ctx, insertBookingSQL, r.TenantID, r.Code, r.SlotID, r.LocationID, r.StartsAt,
			string(r.Status), string(r.Channel), r.Email, r.Lang, r.PartySize, r.CreatedAt, r.RequestKey,
			cards, froms, a.Login, string(KindCreated), r.CallNote).Scan(&r.ID)
		switch {
		case errors.Is(err, sql.ErrNoRows): // the code is taken: draw another
			continue
		case isUniqueViolation(err) && constraintOf(err) == "reservation_cards_one_active":
			return tenant.Errorf(tenant.Conflict, "card.already_booked").Wrap(err)
		case isUniqueViolation(err): // the request key: a concurrent request with other cards
			return tenant.Errorf(tenant.Invalid, "request.key_reused").Wrap(err)
		case err != nil:
			return fmt.Errorf("insert reservation: %w", err)
		}
		return nil
	}
	return errors.New("could not draw a unique booking code")
}

// constraintOf names the constraint a PostgreSQL error is about ("" for none).
func constraintOf(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.ConstraintName
	}
	return ""
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
