package booking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

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

// overridesDeadline reports whether the actor may book past the citizens' deadline (staff and
// call-center operators, who serve a citizen in person or on the phone).
func overridesDeadline(a tenant.Actor) bool {
	return a.Channel == tenant.ChannelStaff || a.Channel == tenant.ChannelCallCenter
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
	if party < 1 || party > MaxParty {
		return nil, tenant.Errorf(tenant.Invalid, "reserve.party.invalid")
	}
	now := s.now()
	h := &Hold{TenantID: t.ID, SlotID: slotID, Places: party, ExpiresAt: now.Add(s.cfg.HoldTTL), CreatedAt: now}
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		if release != uuid.Nil {
			if err := releaseHold(ctx, tx, release); err != nil {
				return err
			}
		}
		if err := takePlaces(ctx, tx, t, slotID, party, uuid.Nil, a, now, "held"); err != nil {
			return err
		}
		_, err := tx.NewInsert().Model(h).Returning("*").Exec(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// ReleaseHold gives a hold's places back (going back, logging out). A hold that already expired
// or was used is ignored.
func (s *Service) ReleaseHold(ctx context.Context, t *tenant.Tenant, holdID uuid.UUID) (err error) {
	defer tenant.Wrap(&err, "booking.ReleaseHold(%s, %s)", t.ID, holdID)
	return tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return releaseHold(ctx, tx, holdID)
	})
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
	var n int
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`WITH gone AS (DELETE FROM slot_holds WHERE expires_at <= ? RETURNING slot_id, places),
			agg AS (SELECT slot_id, sum(places) AS p FROM gone GROUP BY slot_id),
			upd AS (UPDATE slots SET held = GREATEST(held - agg.p, 0) FROM agg WHERE slots.id = agg.slot_id RETURNING 1)
			SELECT count(*) FROM gone`, s.now()).Scan(ctx, &n)
	})
	return n, err
}

func releaseHold(ctx context.Context, tx bun.IDB, holdID uuid.UUID) error {
	_, err := tx.ExecContext(ctx, `WITH gone AS (DELETE FROM slot_holds WHERE id = ? RETURNING slot_id, places)
		UPDATE slots SET held = GREATEST(held - gone.places, 0) FROM gone WHERE slots.id = gone.slot_id`, holdID)
	return err
}

// takePlaces atomically takes n places of slotID into column ("held" or "booked"), first
// returning the slot's expired holds. ownHold (may be Nil) is a hold of the same caller whose
// places are converted instead of taken anew. The capacity check and the increment are one
// conditional UPDATE, so concurrent callers can never overbook.
func takePlaces(ctx context.Context, tx bun.IDB, t *tenant.Tenant, slotID uuid.UUID, n int, ownHold uuid.UUID, a tenant.Actor, now time.Time, column string) error {
	var slot Slot
	if err := tx.NewSelect().Model(&slot).Where("id = ?", slotID).Scan(ctx); err != nil {
		return tenant.DBError(err)
	}
	if !slot.Open || !slot.StartsAt.After(now) || (!overridesDeadline(a) && DateFromDB(slot.Day).Before(bookableFrom(t, now))) {
		return tenant.Errorf(tenant.Invalid, "slot.closed")
	}
	if _, err := tx.ExecContext(ctx, `WITH gone AS (DELETE FROM slot_holds WHERE slot_id = ? AND expires_at <= ? RETURNING places)
		UPDATE slots SET held = GREATEST(held - (SELECT sum(places) FROM gone), 0) WHERE id = ? AND EXISTS (SELECT 1 FROM gone)`,
		slotID, now, slotID); err != nil {
		return fmt.Errorf("release expired holds: %w", err)
	}
	own := 0
	if ownHold != uuid.Nil {
		err := tx.NewRaw("DELETE FROM slot_holds WHERE id = ? AND slot_id = ? AND expires_at > ? RETURNING places", ownHold, slotID, now).Scan(ctx, &own)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("take own hold: %w", err)
		}
	}
	q := "UPDATE slots SET held = held - ?, booked = booked + ?, updated_at = ? WHERE id = ? AND open AND booked + held - ? + ? <= capacity"
	if column == "held" {
		q = "UPDATE slots SET held = held - ? + ?, updated_at = ? WHERE id = ? AND open AND booked + held - ? + ? <= capacity"
	}
	res, err := tx.ExecContext(ctx, q, own, n, now, slotID, own, n)
	if err != nil {
		return fmt.Errorf("take places: %w", err)
	}
	if k, _ := res.RowsAffected(); k == 0 {
		if ownHold != uuid.Nil && own == 0 {
			return tenant.Errorf(tenant.Conflict, "hold.expired")
		}
		return tenant.Errorf(tenant.Conflict, "slot.full")
	}
	return nil
}
