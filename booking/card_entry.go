package booking

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// CardRowError is the invalid error of AddCardByHand: the reasons the import would give for the
// row, by column.
type CardRowError struct {
	Reasons []RowReason
}

func (e *CardRowError) Error() string { return "card row refused" }

// AddCardByHand registers one card typed by staff (the entry form), validated exactly as a row of
// the card CSV import (CheckCardRow), with status imported. The card's first history row names
// the staff member (channel staff) and the addition is audit-logged ("card.create", by the card's
// id: the log keeps no number). It returns invalid ("cards.new.invalid") wrapping a *CardRowError
// with the reasons for a refused row, and conflict ("cards.new.duplicate", field "card_no") when
// the city already has the number; then nothing is written.
func (s *Service) AddCardByHand(ctx context.Context, t *tenant.Tenant, r CardRow, a tenant.Actor) (_ *Card, err error) {
	defer tenant.Wrap(&err, "booking.AddCardByHand(%s)", t.ID)
	in, reasons := CheckCardRow(t, r)
	if len(reasons) > 0 {
		return nil, tenant.Errorf(tenant.Invalid, "cards.new.invalid").Wrap(&CardRowError{Reasons: reasons})
	}
	now := s.now()
	c := &Card{TenantID: t.ID, CardNo: in.CardNo, BirthHMAC: BirthHMAC(s.cfg.SecretKey, t.ID, in.CardNo, in.Birth),
		StoragePos: in.StoragePos, Status: CardImported, StatusChangedAt: now, CreatedAt: now, UpdatedAt: now}
	if in.Name != "" {
		c.Name = &in.Name
	}
	if in.NameKana != "" {
		c.NameKana = &in.NameKana
	}
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		// ON CONFLICT DO NOTHING: a duplicate is an answer, not an aborted transaction.
		res, err := tx.NewInsert().Model(c).On("CONFLICT (tenant_id, card_no) DO NOTHING").Returning("id").Exec(ctx)
		if err != nil {
			return tenant.DBError(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &tenant.Error{Code: tenant.Conflict, Key: "cards.new.duplicate", Fields: map[string]string{"card_no": "cards.new.duplicate"}}
		}
		if err := recordStatus(ctx, tx, t.ID, c.ID, "", CardImported, a, now); err != nil {
			return err
		}
		return a.Audit(ctx, tx, t.ID, "card.create", CardTarget(c.ID), nil, map[string]any{"status": string(CardImported)})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
