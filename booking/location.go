package booking

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// Location is a 交付場所: a counter where cards are handed out.
type Location struct {
	bun.BaseModel `bun:"table:locations"`

	TenantID  uuid.UUID `bun:"tenant_id,pk,type:uuid"`
	ID        uuid.UUID `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	Name      string    `bun:"name,notnull"`
	Address   string    `bun:"address,notnull"`
	Guidance  string    `bun:"guidance,notnull"`
	SortOrder int       `bun:"sort_order,notnull"`
	Active    bool      `bun:"active,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull,default:current_timestamp"`
	UpdatedAt time.Time `bun:"updated_at,notnull,default:current_timestamp"`
}

// Validate checks a location's fields and returns an invalid error with per-field keys.
func (l *Location) Validate() error {
	fields := map[string]string{}
	if n := utf8.RuneCountInString(strings.TrimSpace(l.Name)); n == 0 || n > 100 {
		fields["name"] = "location.name.invalid"
	}
	if utf8.RuneCountInString(l.Address) > 200 {
		fields["address"] = "location.address.too_long"
	}
	if utf8.RuneCountInString(l.Guidance) > 4000 {
		fields["guidance"] = "location.guidance.too_long"
	}
	if len(fields) > 0 {
		return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: fields}
	}
	return nil
}

// Locations returns the tenant's locations in display order; activeOnly hides closed ones.
func (s *Service) Locations(ctx context.Context, tenantID uuid.UUID, activeOnly bool) (_ []Location, err error) {
	defer tenant.Wrap(&err, "booking.Locations(%s)", tenantID)
	var ls []Location
	err = tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().Model(&ls).Order("sort_order", "name")
		if activeOnly {
			q = q.Where("active")
		}
		return q.Scan(ctx)
	})
	return ls, err
}
