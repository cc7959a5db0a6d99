package booking

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking/slotfeed"
	"github.com/madoguchi/madoguchi/tenant"
)

// AddLocation creates a location and writes "location.create" to the audit log in the same
// transaction. It returns invalid for bad fields and conflict (field "name",
// "location.name.taken") when the tenant already has a location of that name.
func (s *Service) AddLocation(ctx context.Context, t *tenant.Tenant, l Location, ed tenant.Actor) (_ *Location, err error) {
	defer tenant.Wrap(&err, "booking.AddLocation(%s)", t.ID)
	l.TenantID, l.ID = t.ID, uuid.Nil
	l.Name = strings.TrimSpace(l.Name)
	if err := l.Validate(); err != nil {
		return nil, err
	}
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&l).Returning("*").Exec(ctx); err != nil {
			return err
		}
		return ed.Audit(ctx, tx, t.ID, "location.create", l.ID.String(), nil, locationAudit(&l))
	})
	if err != nil {
		return nil, locationNameTaken(err)
	}
	return &l, nil
}

// UpdateLocation replaces the name, address, guidance, display order and active flag of the
// location l.ID and writes "location.update" with the values before and after to the audit log,
// in one transaction. It returns not_found for a location the tenant does not have, invalid for
// bad fields and conflict (field "name") when another location has the name.
func (s *Service) UpdateLocation(ctx context.Context, t *tenant.Tenant, l Location, ed tenant.Actor) (_ *Location, err error) {
	defer tenant.Wrap(&err, "booking.UpdateLocation(%s, %s)", t.ID, l.ID)
	l.TenantID = t.ID
	l.Name = strings.TrimSpace(l.Name)
	if err := l.Validate(); err != nil {
		return nil, err
	}
	now := s.now()
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var old Location
		if err := tx.NewSelect().Model(&old).Where("id = ?", l.ID).For("UPDATE").Scan(ctx); err != nil {
			return tenant.DBError(err)
		}
		_, err := tx.NewUpdate().Model(&l).
			Column("name", "address", "guidance", "sort_order", "active").
			Set("updated_at = ?", now).
			WherePK().Returning("*").Exec(ctx)
		if err != nil {
			return err
		}
		return ed.Audit(ctx, tx, t.ID, "location.update", l.ID.String(), locationAudit(&old), locationAudit(&l))
	})
	if err != nil {
		return nil, locationNameTaken(err)
	}
	// The location's name, address or active flag changed: every process drops it (and its
	// days) from its cache, so the next calendar page shows the edit.
	s.slotsChanged(ctx, t.ID, wholeLocation(l.ID))
	return &l, nil
}

func locationNameTaken(err error) error {
	if tenant.ErrorCode(err) == tenant.Conflict {
		return &tenant.Error{Code: tenant.Conflict, Key: "location.name.taken", Fields: map[string]string{"name": "location.name.taken"}, Err: err}
	}
	return err
}

func locationAudit(l *Location) map[string]any {
	return map[string]any{"name": l.Name, "address": l.Address, "guidance": l.Guidance, "sort_order": l.SortOrder, "active": l.Active}
}

// wholeLocation is a change of every day of a location, and of the location itself: longer than
// a change lists day by day, so a cache drops the location whole (SlotCache.Invalidate).
func wholeLocation(id uuid.UUID) slotfeed.Span {
	return slotfeed.Span{Location: id, From: "0001-01-01", To: "9999-12-31"}
}
