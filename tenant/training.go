package tenant

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// A training city (研修用) is a copy of a city for its staff to practise on: the vendor opens it
// from the ops console, the booking side (booking.Service.OpenTraining) copies the city's places,
// schedules and mail wording into it and gives it fictitious cards and bookings. It has its own
// host name, TrainingSlug(the city's slug), and its own accounts; it takes no real bookings,
// sends no mail to anyone and is left out of the fleet's figures.

// TrainingSuffix ends a training city's host label: tsu → tsu-kensyu.
const TrainingSuffix = "-kensyu"

// TrainingAdminLogin is the login id of a training city's first administrator.
const TrainingAdminLogin = "kensyu.admin"

// TrainingSlug returns the host label of the training copy of the city with slug:
// "<slug>-kensyu", the slug cut (without a hyphen at the cut) so the label keeps to 32 characters.
func TrainingSlug(slug string) string {
	if max := 32 - len(TrainingSuffix); len(slug) > max {
		slug = strings.TrimRight(slug[:max], "-")
	}
	return slug + TrainingSuffix
}

// trainingName is the training city's name: the city's, marked 「（研修用）」, within 100 characters.
func trainingName(name string) string {
	const mark = "（研修用）"
	if max := 100 - utf8.RuneCountInString(mark); utf8.RuneCountInString(name) > max {
		name = string([]rune(name)[:max])
	}
	return name + mark
}

// SetScope moves tx to tenantID's scope (the transaction-local app.tenant_id InTx sets), for the
// one operation that reads a city and writes another city in one transaction: opening a training
// copy. From then on tx sees and writes only tenantID's rows. A nil id fails closed.
func SetScope(ctx context.Context, tx bun.IDB, tenantID uuid.UUID) error {
	if tenantID == uuid.Nil {
		return Errorf(Internal, "error.internal").Wrap(fmt.Errorf("tenant scope without a tenant"))
	}
	if _, err := tx.ExecContext(ctx, "SELECT set_config('app.tenant_id', ?, true)", tenantID.String()); err != nil {
		return fmt.Errorf("set tenant scope: %w", err)
	}
	return nil
}

// TrainingOpen is the tenants' part of opening src's training copy, in tx, which is in src's
// scope when it is called and in the new city's scope when it returns: it writes
// "vendor.training.create" to src's audit log, inserts the training city (TrainingSlug, the name
// marked 「（研修用）」, src's kana, banner colour and settings, no municipality code, no custom
// domain, no mail domain) and its first administrator, TrainingAdminLogin, with an issued
// password as at onboarding (returned once; never a copy of anyone's password), and writes
// "account.create" and "vendor.training.create" to the new city's log and the vendor's.
// It returns forbidden for an actor who is not the vendor (or the system), conflict
// "tenant.training.of_training" when src is itself a training city, "tenant.training.exists"
// when src has one already and "tenant.slug.taken" (field slug) when another city has the host
// label.
func TrainingOpen(ctx context.Context, tx bun.Tx, src *Tenant, by Actor, now time.Time) (_ *Tenant, initial string, err error) {
	if err := platformOnly(by); err != nil {
		return nil, "", err
	}
	if src.Training() {
		return nil, "", trainingConflict("tenant.training.of_training")
	}
	// The city's row, locked: two openings of the same city's copy wait for each other (and the
	// unique index on training_of stands behind the lock).
	var locked uuid.UUID
	if err := tx.NewSelect().Table("tenants").Column("id").Where("id = ?", src.ID).For("UPDATE").Scan(ctx, &locked); err != nil {
		return nil, "", err
	}
	n, err := tx.NewSelect().Table("tenants").Where("training_of = ?", src.ID).Count(ctx)
	if err != nil {
		return nil, "", err
	}
	if n > 0 {
		return nil, "", trainingConflict("tenant.training.exists")
	}
	t := &Tenant{ID: uuid.New(), Slug: TrainingSlug(src.Slug), Name: trainingName(src.Name), Status: Active,
		NameKana: src.NameKana, BannerColor: src.BannerColor, MailDomains: []string{}, Settings: src.Settings,
		TrainingOf: &src.ID}
	if t.BannerColor == "" {
		t.BannerColor = DefaultBannerColor
	}
	if err := checkNamesFree(ctx, tx, t, ""); err != nil {
		return nil, "", err
	}
	after := map[string]any{"slug": t.Slug, "name": t.Name, "training_of": src.Slug}
	if err := Audit(ctx, tx, src.ID, AuditEntry{Actor: by.Name(), Action: "vendor.training.create", Target: t.Slug, After: after, IP: by.IP}); err != nil {
		return nil, "", err
	}
	if _, err := tx.NewInsert().Model(t).Returning("*").Exec(ctx); err != nil {
		return nil, "", tenantConflict(err)
	}
	if err := SetScope(ctx, tx, t.ID); err != nil {
		return nil, "", err
	}
	initial = RandomPassword()
	acc, err := insertAccount(ctx, tx, now, t, TrainingAdminLogin, t.Name+" 管理者", RoleAdmin, initial, AuditEntry{Actor: by.Name(), IP: by.IP})
	if err != nil {
		return nil, "", err
	}
	after["admin"] = acc.LoginID
	if err := auditVendor(ctx, tx, t.ID, by, "vendor.training.create", t.Slug, nil, after); err != nil {
		return nil, "", err
	}
	return t, initial, nil
}

// TrainingCheck returns forbidden for an actor who may not reset a training city (only the
// vendor and the system may) and conflict "tenant.training.not_training" for a real city, whose
// data is never put back.
func TrainingCheck(t *Tenant, by Actor) error {
	if err := platformOnly(by); err != nil {
		return err
	}
	if !t.Training() {
		return trainingConflict("tenant.training.not_training")
	}
	return nil
}

// trainingConflict is a conflict about a city's training copy, shown beside the ops console's
// button (field "training").
func trainingConflict(key string) *Error {
	return &Error{Code: Conflict, Key: key, Fields: map[string]string{"training": key}}
}
