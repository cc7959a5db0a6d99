package booking

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// SlotSummary is one row of the staff dashboard: a time at a location and how full it is.
type SlotSummary struct {
	LocationID   uuid.UUID `bun:"location_id"`
	LocationName string    `bun:"location_name"`
	StartsAt     time.Time `bun:"starts_at"`
	EndsAt       time.Time `bun:"ends_at"`
	Capacity     int       `bun:"capacity"`
	Booked       int       `bun:"booked"`
	Visited      int       `bun:"visited"`
	NoShow       int       `bun:"no_show"`
	Flagged      bool      `bun:"flagged"`
}

// DaySummary returns every slot of a day with its bookings and visits, by location and time.
func (s *Service) DaySummary(ctx context.Context, t *tenant.Tenant, day Date) (_ []SlotSummary, err error) {
	defer tenant.Wrap(&err, "booking.DaySummary(%s)", t.ID)
	var out []SlotSummary
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT s.location_id, l.name AS location_name, s.starts_at, s.ends_at, s.capacity, s.booked, s.flagged,
				coalesce(sum(r.party_size) FILTER (WHERE r.status = 'visited'), 0) AS visited,
				coalesce(sum(r.party_size) FILTER (WHERE r.status = 'no_show'), 0) AS no_show
			FROM slots s JOIN locations l ON l.id = s.location_id
			LEFT JOIN reservations r ON r.slot_id = s.id
			WHERE s.day = ? AND (s.open OR s.booked > 0)
			GROUP BY s.tenant_id, s.id, l.tenant_id, l.id ORDER BY l.sort_order, l.name, s.starts_at`, day.StdTime()).Scan(ctx, &out)
	})
	return out, err
}

// CheckIn finds a booked reservation by its booking code, or by one of its cards' 製造管理番号, and
// marks it visited (its cards too). Scanning the same code again returns the reservation with
// already=true and changes nothing. It returns not_found for an unknown code and conflict
// "checkin.cancelled" for a cancelled reservation.
func (s *Service) CheckIn(ctx context.Context, t *tenant.Tenant, scanned string, actor tenant.Actor) (v *ReservationView, already bool, err error) {
	defer tenant.Wrap(&err, "booking.CheckIn(%s)", t.ID)
	key := NormalizeCode(scanned)
	if key == "" || len(key) > 32 {
		return nil, false, tenant.Errorf(tenant.Invalid, "checkin.invalid")
	}
	now := s.now()
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var id uuid.UUID
		err := tx.NewRaw(`SELECT id FROM reservations WHERE code = ?
			UNION ALL
			SELECT r.id FROM reservations r JOIN reservation_cards rc ON rc.reservation_id = r.id
				JOIN cards c ON c.id = rc.card_id
			WHERE c.card_no = ? ORDER BY 1 LIMIT 1`, key, key).Scan(ctx, &id)
		if err != nil {
			return tenant.DBError(err)
		}
		var r Reservation
		if err := tx.NewSelect().Model(&r).Where("id = ?", id).For("UPDATE").Scan(ctx); err != nil {
			return fmt.Errorf("lock reservation: %w", err)
		}
		switch r.Status {
		case Visited:
			already = true
		case Cancelled:
			return tenant.Errorf(tenant.Conflict, "checkin.cancelled")
		default:
			if _, err := tx.NewUpdate().Model(&r).Set("status = ?", Visited).Set("updated_at = ?", now).WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("mark visited: %w", err)
			}
			var cards []Card
			if err := tx.NewSelect().Model(&cards).Where("id IN (SELECT card_id FROM reservation_cards WHERE reservation_id = ?)", id).Scan(ctx); err != nil {
				return fmt.Errorf("read cards: %w", err)
			}
			for _, c := range cards {
				if err := recordStatus(ctx, tx, t.ID, c.ID, c.Status, CardVisited, actor, now); err != nil {
					return err
				}
			}
			if err := actor.Audit(ctx, tx, t.ID, "reservation.checkin", r.Code, map[string]any{"status": r.Status}, map[string]any{"status": Visited}); err != nil {
				return err
			}
		}
		v, err = loadView(ctx, tx, id)
		return err
	})
	return v, already, err
}
