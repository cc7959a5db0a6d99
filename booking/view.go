package booking

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// ReservationView is a reservation with what a page or a mail shows about it.
type ReservationView struct {
	Reservation
	Location Location
	Slot     Slot
	Cards    []Card
	Actions  []BookingAction // staff's and operators' actions on it (ReservationForStaff only)
}

// BookingAction is one action of a city's staff or a call-center operator on a booking, as its
// audit row records it: when, who ("vendor:<login>" for an operator), what, and the reason given
// for acting past the citizens' deadline.
type BookingAction struct {
	At     time.Time `bun:"at"`
	Actor  string    `bun:"actor"`
	Action string    `bun:"action"`
	Reason string    `bun:"reason"`
}

// CurrentReservation returns the active (booked) reservation holding cardID, or not_found.
func (s *Service) CurrentReservation(ctx context.Context, t *tenant.Tenant, cardID uuid.UUID) (_ *ReservationView, err error) {
	defer tenant.Wrap(&err, "booking.CurrentReservation(%s, %s)", t.ID, cardID)
	var v *ReservationView
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var id uuid.UUID
		if err := tx.NewRaw(`SELECT rc.reservation_id FROM reservation_cards rc JOIN reservations r ON r.id = rc.reservation_id
			WHERE rc.card_id = ? AND rc.active AND r.status = 'booked'`, cardID).Scan(ctx, &id); err != nil {
			return tenant.DBError(err)
		}
		var err error
		v, err = loadView(ctx, tx, id)
		return err
	})
	return v, err
}

// ReservationByID returns a reservation of the tenant with its location, slot and cards.
func (s *Service) ReservationByID(ctx context.Context, t *tenant.Tenant, id uuid.UUID) (_ *ReservationView, err error) {
	defer tenant.Wrap(&err, "booking.ReservationByID(%s, %s)", t.ID, id)
	var v *ReservationView
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		v, err = loadView(ctx, tx, id)
		return err
	})
	return v, err
}

func loadView(ctx context.Context, tx bun.IDB, id uuid.UUID) (*ReservationView, error) {
	v := &ReservationView{}
	if err := tx.NewSelect().Model(&v.Reservation).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, tenant.DBError(err)
	}
	if err := tx.NewSelect().Model(&v.Location).Where("id = ?", v.LocationID).Scan(ctx); err != nil {
		return nil, err
	}
	if err := tx.NewSelect().Model(&v.Slot).Where("id = ?", v.SlotID).Scan(ctx); err != nil {
		return nil, err
	}
	if err := tx.NewSelect().Model(&v.Cards).
		Where("id IN (SELECT card_id FROM reservation_cards WHERE reservation_id = ?)", id).
		Order("card_no").Scan(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

// LocationByID returns one location of the tenant, or not_found. With a Cache it reads the
// location from it (a calendar page asks on every request); UpdateLocation drops it there and in
// every other process.
func (s *Service) LocationByID(ctx context.Context, tenantID, id uuid.UUID) (_ *Location, err error) {
	defer tenant.Wrap(&err, "booking.LocationByID(%s, %s)", tenantID, id)
	c := s.cfg.Cache
	if c == nil {
		return s.readLocation(ctx, tenantID, id)
	}
	l, start, ok := c.lookupLocation(tenantID, id)
	if l != nil {
		return l, nil
	}
	if !ok { // bypassed: the feed is down
		return s.readLocation(ctx, tenantID, id)
	}
	if l, err = s.readLocation(ctx, tenantID, id); err != nil {
		return nil, err
	}
	c.putLocation(l, start)
	return l, nil
}

// locationSQL reads one location: every column of Location, by id (the tenant comes from the
// row-level security policy, as for every read).
const locationSQL = `SELECT tenant_id, id, name, address, guidance, sort_order, active, created_at, updated_at
	FROM locations WHERE id = $1`

// readLocation reads one location of the tenant from PostgreSQL in one round trip
// (tenant.QueryRow), or not_found.
func (s *Service) readLocation(ctx context.Context, tenantID, id uuid.UUID) (*Location, error) {
	var l Location
	err := tenant.QueryRow(ctx, s.db, tenantID, func(r pgx.Row) error {
		return r.Scan(&l.TenantID, &l.ID, &l.Name, &l.Address, &l.Guidance, &l.SortOrder, &l.Active, &l.CreatedAt, &l.UpdatedAt)
	}, locationSQL, id)
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// SlotByID returns one slot of the tenant, or not_found.
func (s *Service) SlotByID(ctx context.Context, t *tenant.Tenant, id uuid.UUID) (_ *Slot, err error) {
	defer tenant.Wrap(&err, "booking.SlotByID(%s, %s)", t.ID, id)
	var sl Slot
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tenant.DBError(tx.NewSelect().Model(&sl).Where("id = ?", id).Scan(ctx))
	})
	if err != nil {
		return nil, err
	}
	return &sl, nil
}
