package booking

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking/slotfeed"
	"github.com/madoguchi/madoguchi/tenant"
)

// ReservationStatus is a visit's state.
type ReservationStatus string

// Reservation statuses.
const (
	Booked    ReservationStatus = "booked"
	Cancelled ReservationStatus = "cancelled"
	Visited   ReservationStatus = "visited"
	NoShow    ReservationStatus = "no_show"
)

// Reservation is one visit holding one or more cards (a family books one slot, one place each).
type Reservation struct {
	bun.BaseModel `bun:"table:reservations"`

	TenantID    uuid.UUID         `bun:"tenant_id,pk,type:uuid"`
	ID          uuid.UUID         `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	Code        string            `bun:"code,notnull"`
	SlotID      uuid.UUID         `bun:"slot_id,type:uuid,notnull"`
	LocationID  uuid.UUID         `bun:"location_id,type:uuid,notnull"`
	StartsAt    time.Time         `bun:"starts_at,notnull"`
	Status      ReservationStatus `bun:"status,notnull"`
	Channel     tenant.Channel    `bun:"channel,notnull"`
	Email       *string           `bun:"email"`
	Lang        string            `bun:"lang,notnull"`
	PartySize   int               `bun:"party_size,notnull"`
	MailError   string            `bun:"mail_error,notnull"`
	CreatedAt   time.Time         `bun:"created_at,notnull,default:current_timestamp"`
	UpdatedAt   time.Time         `bun:"updated_at,notnull,default:current_timestamp"`
	CancelledAt *time.Time        `bun:"cancelled_at"`
	CallNote    string            `bun:"call_note,notnull"` // the call center's note of the call
	// RequestKey identifies the request that made the booking (see ReserveInput.RequestKey).
	RequestKey *string `bun:"request_key"`
	// Replayed is set by Reserve when the request had already made this booking.
	Replayed bool `bun:"-"`
}

// Hold keeps places in a slot for a few minutes while a citizen confirms.
type Hold struct {
	bun.BaseModel `bun:"table:slot_holds"`

	TenantID  uuid.UUID `bun:"tenant_id,pk,type:uuid"`
	ID        uuid.UUID `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	SlotID    uuid.UUID `bun:"slot_id,type:uuid,notnull"`
	Places    int       `bun:"places,notnull"`
	ExpiresAt time.Time `bun:"expires_at,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull,default:current_timestamp"`
}

// overridesDeadline reports whether the actor may act past the citizens' deadline: staff, who
// serve a citizen at the counter, and call-center operators who record why (Actor.Reason).
func overridesDeadline(a tenant.Actor) bool {
	return a.Channel == tenant.ChannelStaff || (a.Channel == tenant.ChannelCallCenter && a.Reason != "")
}

// seesPastDeadline reports whether the actor sees the days inside the citizens' deadline as
// bookable (staff and call-center operators: every day from today on; an operator then books
// them with a reason).
func seesPastDeadline(a tenant.Actor) bool {
	return a.Channel == tenant.ChannelStaff || a.Channel == tenant.ChannelCallCenter
}

// deadlineRefusal is the refusal of an act inside the citizens' deadline: for a call-center
// operator, who may act then with a reason, invalid with the field "reason"
// ("callcenter.reason.required"); for anyone else citizen.
func deadlineRefusal(a tenant.Actor, citizen error) error {
	if a.Channel == tenant.ChannelCallCenter {
		return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{"reason": "callcenter.reason.required"}}
	}
	return citizen
}

// maxReason is the longest reason an operator may give, in characters.
const maxReason = 200

// checkReason refuses a reason that is too long or holds control characters (field "reason").
func checkReason(a tenant.Actor) error {
	if utf8.RuneCountInString(a.Reason) > maxReason || strings.ContainsFunc(a.Reason, unicode.IsControl) {
		return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{"reason": "callcenter.reason.invalid"}}
	}
	return nil
}

// MaxParty is the most cards one reservation may hold.
const MaxParty = 6

// HoldSlot keeps places for party people in slotID for the hold time, first releasing the
// caller's previous hold (release, may be uuid.Nil). It returns conflict ("slot.full") when the
// slot cannot take the party and invalid ("slot.closed") when the slot is closed, past, or
// beyond the citizen's booking deadline.
func (s *Service) HoldSlot(ctx context.Context, t *tenant.Tenant, slotID uuid.UUID, party int, release uuid.UUID, a tenant.Actor) (_ *Hold, err error) {
	defer tenant.Wrap(&err, "booking.HoldSlot(%s, %s)", t.ID, slotID)
	defer s.countRefusal(t.ID, &err)
	if err := checkReason(a); err != nil {
		return nil, err
	}
	if party < 1 || party > MaxParty {
		return nil, tenant.Errorf(tenant.Invalid, "reserve.party.invalid")
	}
	now := s.now()
	h := &Hold{TenantID: t.ID, SlotID: slotID, Places: party, ExpiresAt: now.Add(s.cfg.HoldTTL), CreatedAt: now}
	var spans []slotfeed.Span
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		if release != uuid.Nil {
			released, err := releaseHold(ctx, tx, release)
			if err != nil {
				return err
			}
			spans = append(spans, released...)
		}
		slot, err := takePlaces(ctx, tx, t, slotID, party, uuid.Nil, a, now, "held")
		if err != nil {
			return err
		}
		spans = append(spans, slot.span())
		_, err = tx.NewInsert().Model(h).Returning("*").Exec(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.slotsChanged(ctx, t.ID, spans...)
	return h, nil
}

// ReleaseHold gives a hold's places back (going back, logging out). A hold that already expired
// or was used is ignored.
func (s *Service) ReleaseHold(ctx context.Context, t *tenant.Tenant, holdID uuid.UUID) (err error) {
	defer tenant.Wrap(&err, "booking.ReleaseHold(%s, %s)", t.ID, holdID)
	var spans []slotfeed.Span
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		spans, err = releaseHold(ctx, tx, holdID)
		return err
	})
	if err == nil {
		s.slotsChanged(ctx, t.ID, spans...)
	}
	return err
}

// HoldByID returns a hold, or not_found when it expired (swept or not yet) or never existed.
func (s *Service) HoldByID(ctx context.Context, t *tenant.Tenant, holdID uuid.UUID) (_ *Hold, err error) {
	defer tenant.Wrap(&err, "booking.HoldByID(%s, %s)", t.ID, holdID)
	var h Hold
	now := s.now()
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&h).Where("id = ?", holdID).Where("expires_at > ?", now).Scan(ctx)
	})
	if err != nil {
		return nil, err
	}
	return &h, nil
}

// MaxHoldExtensions is how many times the holder may extend a hold by the full hold time. WCAG
// 2.2.1 (Timing Adjustable) asks for at least ten; the cap keeps a place from being held forever.
const MaxHoldExtensions = 10

// ExtendHold gives a live hold the full hold time again, counted from now, up to
// MaxHoldExtensions times its length after it was taken. It returns the hold with its new expiry;
// not_found (hold.expired) when the hold ran out or never existed, and conflict
// (hold.extend_limit) once the cap is reached.
func (s *Service) ExtendHold(ctx context.Context, t *tenant.Tenant, holdID uuid.UUID) (_ *Hold, err error) {
	defer tenant.Wrap(&err, "booking.ExtendHold(%s, %s)", t.ID, holdID)
	now := s.now()
	limit := time.Duration(MaxHoldExtensions+1) * s.cfg.HoldTTL
	var h Hold
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model(&h).
			Set("expires_at = LEAST(?, created_at + make_interval(secs => ?))", now.Add(s.cfg.HoldTTL), limit.Seconds()).
			Where("id = ?", holdID).Where("expires_at > ?", now).
			Where("expires_at < created_at + make_interval(secs => ?)", limit.Seconds()).
			Returning("*").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		live, err := tx.NewSelect().Model((*Hold)(nil)).Where("id = ?", holdID).Where("expires_at > ?", now).Exists(ctx)
		switch {
		case err != nil:
			return err
		case live:
			return tenant.Errorf(tenant.Conflict, "hold.extend_limit")
		}
		return tenant.Errorf(tenant.NotFound, "hold.expired")
	})
	if err != nil {
		return nil, err
	}
	return &h, nil
}

// ReleaseExpiredHolds returns the places of every expired hold of the tenant; the worker runs it
// every minute (holds are also released lazily whenever their slot is touched).
func (s *Service) ReleaseExpiredHolds(ctx context.Context, t *tenant.Tenant) (_ int, err error) {
	defer tenant.Wrap(&err, "booking.ReleaseExpiredHolds(%s)", t.ID)
	var rows []heldDay
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`WITH gone AS (DELETE FROM slot_holds WHERE expires_at <= ? RETURNING slot_id, places),
			agg AS (SELECT slot_id, sum(places) AS p FROM gone GROUP BY slot_id),
			upd AS (UPDATE slots SET held = GREATEST(held - agg.p, 0) FROM agg WHERE slots.id = agg.slot_id
				RETURNING slots.location_id, slots.day)
			SELECT DISTINCT location_id, day, (SELECT count(*) FROM gone) AS holds FROM upd`, s.now()).Scan(ctx, &rows)
	})
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	s.slotsChanged(ctx, t.ID, heldSpans(rows)...)
	return rows[0].Holds, nil
}

// heldDay is a location and day whose held places a release returned.
type heldDay struct {
	LocationID uuid.UUID `bun:"location_id"`
	Day        time.Time `bun:"day"`
	Holds      int       `bun:"holds"`
}

func heldSpans(rows []heldDay) []slotfeed.Span {
	out := make([]slotfeed.Span, len(rows))
	for i, r := range rows {
		d := DateFromDB(r.Day)
		out[i] = daySpan(r.LocationID, d, d)
	}
	return out
}

// releaseHold gives a hold's places back and returns the day it held (none when the hold was
// gone already).
func releaseHold(ctx context.Context, tx bun.IDB, holdID uuid.UUID) ([]slotfeed.Span, error) {
	var rows []heldDay
	err := tx.NewRaw(`WITH gone AS (DELETE FROM slot_holds WHERE id = ? RETURNING slot_id, places)
		UPDATE slots SET held = GREATEST(held - gone.places, 0) FROM gone WHERE slots.id = gone.slot_id
		RETURNING slots.location_id, slots.day`, holdID).Scan(ctx, &rows)
	if err != nil {
		return nil, err
	}
	return heldSpans(rows), nil
}

// takenSlot is what takePlaces read of the slot it took places in.
type takenSlot struct {
	LocationID uuid.UUID
	Day        Date
	StartsAt   time.Time
	// SoldOut: every place was booked when the statement read the slot (held places aside).
	// Only set on a "slot.full" refusal, which returns the slot too.
	SoldOut bool
}

// span is the day whose places changed.
func (sl *takenSlot) span() slotfeed.Span { return daySpan(sl.LocationID, sl.Day, sl.Day) }

// span is the day of the reservation's slot.
func (r *Reservation) span() slotfeed.Span {
	d := DateOf(r.StartsAt)
	return daySpan(r.LocationID, d, d)
}

// takePlacesSQL takes $4 places of slot $1 at $2 in one statement: it returns the slot's expired
// holds ("gone"), deletes the caller's own live hold $3 ("own", whose places are converted instead
// of taken anew) and, in the same conditional UPDATE, takes the places when they fit, into booked
// (takePlacesBookedSQL) or held (takePlacesHeldSQL). It returns the slot as the statement found
// it (to tell a closed slot from a full one), whether the UPDATE took the places, and the own
// hold's places; no row for an unknown slot. On any refusal the caller's transaction rolls back,
// holds deleted here included.
const (
	takePlacesHead = `WITH s AS (
		SELECT location_id, day, starts_at, open, booked >= capacity AS sold_out FROM slots WHERE id = $1
	), gone AS (
		DELETE FROM slot_holds WHERE slot_id = $1 AND expires_at <= $2 RETURNING places
	), own AS (
		DELETE FROM slot_holds WHERE id = $3 AND slot_id = $1 AND expires_at > $2 RETURNING places
	), took AS (
		UPDATE slots SET updated_at = $2,
			held = GREATEST(held - coalesce((SELECT sum(places) FROM gone), 0), 0) - coalesce((SELECT sum(places) FROM own), 0)`
	takePlacesTail = `
		WHERE id = $1 AND open
			AND booked + GREATEST(held - coalesce((SELECT sum(places) FROM gone), 0), 0)
				- coalesce((SELECT sum(places) FROM own), 0) + $4 <= capacity
		RETURNING 1
	)
	SELECT s.location_id, s.day, s.starts_at, s.open, (SELECT count(*) FROM took), coalesce((SELECT sum(places) FROM own), 0),
		s.sold_out
	FROM s`
	takePlacesBookedSQL = takePlacesHead + `, booked = booked + $4` + takePlacesTail
	takePlacesHeldSQL   = takePlacesHead + ` + $4` + takePlacesTail
)

// takePlaces atomically takes n places of slotID into column ("held" or "booked"), first
// returning the slot's expired holds. ownHold (may be Nil) is a hold of the same caller whose
// places are converted instead of taken anew. The capacity check and the increment are one
// conditional UPDATE, so concurrent callers can never overbook; the whole step is one statement
// (one round trip). It returns not_found for an unknown slot, invalid "slot.closed" for a slot
// that is closed, has started or, for a citizen, lies before the booking deadline, conflict
// "hold.expired" when the caller's hold ran out and the places no longer fit, and conflict
// "slot.full", with the slot as read (SoldOut: no place was left even without holds); the
// caller's transaction must then roll back.
func takePlaces(ctx context.Context, tx bun.Tx, t *tenant.Tenant, slotID uuid.UUID, n int, ownHold uuid.UUID, a tenant.Actor, now time.Time, column string) (*takenSlot, error) {
	var (
		slot     takenSlot
		day      time.Time
		open     bool
		took     int
		ownTaken int
	)
	q := takePlacesBookedSQL
	if column == "held" {
		q = takePlacesHeldSQL
	}
	err := tx.Tx.QueryRowContext(ctx, q, slotID, now, ownHold, n).
		Scan(&slot.LocationID, &day, &slot.StartsAt, &open, &took, &ownTaken, &slot.SoldOut)
	if err != nil {
		return nil, tenant.DBError(err)
	}
	slot.Day = DateFromDB(day)
	if !open || !slot.StartsAt.After(now) {
		return nil, tenant.Errorf(tenant.Invalid, "slot.closed")
	}
	if !overridesDeadline(a) && slot.Day.Before(bookableFrom(t, now)) {
		return nil, deadlineRefusal(a, tenant.Errorf(tenant.Invalid, "slot.closed"))
	}
	if took == 0 {
		if ownHold != uuid.Nil && ownTaken == 0 {
			return nil, tenant.Errorf(tenant.Conflict, "hold.expired")
		}
		return &slot, tenant.Errorf(tenant.Conflict, "slot.full")
	}
	slot.SoldOut = false
	return &slot, nil
}
