package booking

import (
	"context"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// MarkNoShow records by hand that nobody came to a booked reservation whose time has
// started (「来庁なし」). It makes the same transition as the nightly no-show marking
// (markNoShows in booking/retention.go): the reservation becomes no_show, its cards leave it and go back
// from reserved to notice_sent (history on v's channel), so the citizen can book again; no mail
// is sent. The audit row "reservation.no_show" names the booking. It returns not_found for
// another tenant's id, conflict "reservation.not_active" when the reservation is no longer
// booked and conflict "behalf.noshow.too_early" before its time has started. A citizen may not
// mark one (forbidden): it is the counter's record of who came.
func (s *Service) MarkNoShow(ctx context.Context, t *tenant.Tenant, id uuid.UUID, v tenant.Actor) (err error) {
	defer tenant.Wrap(&err, "booking.MarkNoShow(%s, %s)", t.ID, id)
	if v.Channel == tenant.ChannelWeb {
		return tenant.Errorf(tenant.Forbidden, "error.forbidden")
	}
	now := s.now()
	return tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var r Reservation
		if err := tx.NewSelect().Model(&r).Where("id = ?", id).For("UPDATE").Scan(ctx); err != nil {
			return tenant.DBError(err)
		}
		if r.Status != Booked {
			return tenant.Errorf(tenant.Conflict, "reservation.not_active")
		}
		if r.StartsAt.After(now) {
			return tenant.Errorf(tenant.Conflict, "behalf.noshow.too_early")
		}
		n, err := markNoShows(ctx, tx, t.ID, "id = ?", r.ID, v, now)
		if err != nil {
			return err
		}
		return v.Audit(ctx, tx, t.ID, "reservation.no_show", r.Code,
			map[string]any{"status": Booked}, map[string]any{"status": NoShow, "cards": n.Cards})
	})
}
