package booking

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// ImportProfile maps our card fields to the header names of the city's own CSV (spec 3(3)ク①: the
// J-LIS or 対象者 file as the city's system writes it). A city without a saved profile uses
// DefaultImportProfile, our Japanese column names. Birth dates need no format setting: the parser
// takes YYYY-MM-DD, YYYYMMDD and YYYY/M/D, in half- or full-width digits.
type ImportProfile struct {
	bun.BaseModel `bun:"table:import_profiles"`

	TenantID   uuid.UUID `bun:"tenant_id,pk,type:uuid"`
	CardNo     string    `bun:"col_card_no,notnull"`
	Birth      string    `bun:"col_birth,notnull"`
	Name       string    `bun:"col_name,notnull"`
	NameKana   string    `bun:"col_name_kana,notnull"`
	StoragePos string    `bun:"col_storage_pos,notnull"`
	UpdatedBy  string    `bun:"updated_by,notnull"`
	UpdatedAt  time.Time `bun:"updated_at,notnull"`
}

// DefaultImportProfile is the mapping of a city that has not saved its own: our column names.
func DefaultImportProfile() ImportProfile {
	return ImportProfile{CardNo: colCardNo, Birth: colBirth, Name: colName, NameKana: colNameKana, StoragePos: colStoragePos}
}

// columns maps each source header name to our column name.
func (p ImportProfile) columns() map[string]string {
	return map[string]string{p.CardNo: colCardNo, p.Birth: colBirth, p.Name: colName, p.NameKana: colNameKana, p.StoragePos: colStoragePos}
}

// ImportProfileFields lists the profile's form fields in order, with our column name of each.
var ImportProfileFields = []struct{ Field, Column string }{
	{"col_card_no", colCardNo}, {"col_birth", colBirth}, {"col_name", colName}, {"col_name_kana", colNameKana}, {"col_storage_pos", colStoragePos},
}

// Value returns the source header name the profile gives field (one of ImportProfileFields).
func (p ImportProfile) Value(field string) string {
	switch field {
	case "col_card_no":
		return p.CardNo
	case "col_birth":
		return p.Birth
	case "col_name":
		return p.Name
	case "col_name_kana":
		return p.NameKana
	case "col_storage_pos":
		return p.StoragePos
	}
	return ""
}

// Validate trims the names and checks each is 1–50 characters without control characters or
// commas/quotes, and that no two fields name the same column. It returns an invalid error with
// one field error per bad field (keys import.profile.*).
func (p *ImportProfile) Validate() error {
	e := &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{}}
	seen := map[string]string{}
	for _, f := range ImportProfileFields {
		ptr := p.ptr(f.Field)
		*ptr = strings.TrimSpace(strings.ReplaceAll(*ptr, "\uFEFF", ""))
		v := *ptr
		switch {
		case v == "":
			e.Fields[f.Field] = "import.profile.required"
		case utf8.RuneCountInString(v) > 50 || hasControl(v) || strings.ContainsAny(v, "\",\r\n"):
			e.Fields[f.Field] = "import.profile.invalid"
		default:
			if _, dup := seen[v]; dup {
				e.Fields[f.Field] = "import.profile.duplicate"
			}
			seen[v] = f.Field
		}
	}
	if len(e.Fields) > 0 {
		return e
	}
	return nil
}

func (p *ImportProfile) ptr(field string) *string {
	switch field {
	case "col_card_no":
		return &p.CardNo
	case "col_birth":
		return &p.Birth
	case "col_name":
		return &p.Name
	case "col_name_kana":
		return &p.NameKana
	default:
		return &p.StoragePos
	}
}

// SetImportProfileField sets one field of p by its form name (see ImportProfileFields).
func (p *ImportProfile) SetImportProfileField(field, v string) { *p.ptr(field) = v }

// ImportProfile returns the tenant's mapping profile, or DefaultImportProfile when it has none.
func (s *Service) ImportProfile(ctx context.Context, tenantID uuid.UUID) (_ ImportProfile, err error) {
	defer tenant.Wrap(&err, "booking.ImportProfile(%s)", tenantID)
	var p ImportProfile
	err = tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		p, err = importProfile(ctx, tx)
		return err
	})
	return p, err
}

func importProfile(ctx context.Context, tx bun.IDB) (ImportProfile, error) {
	var p ImportProfile
	err := tx.NewSelect().Model(&p).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultImportProfile(), nil
	}
	return p, err
}

// SaveImportProfile validates p (see Validate) and stores it as the tenant's profile, writing
// "import.profile" with the old and new mapping to the audit log in the same transaction.
func (s *Service) SaveImportProfile(ctx context.Context, tenantID uuid.UUID, p ImportProfile, a tenant.Actor) (err error) {
	defer tenant.Wrap(&err, "booking.SaveImportProfile(%s)", tenantID)
	if err := p.Validate(); err != nil {
		return err
	}
	return tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		old, err := importProfile(ctx, tx)
		if err != nil {
			return err
		}
		p.TenantID, p.UpdatedBy, p.UpdatedAt = tenantID, a.Login, s.now()
		if _, err := tx.NewInsert().Model(&p).On("CONFLICT (tenant_id) DO UPDATE").
			Set("col_card_no = EXCLUDED.col_card_no, col_birth = EXCLUDED.col_birth, col_name = EXCLUDED.col_name").
			Set("col_name_kana = EXCLUDED.col_name_kana, col_storage_pos = EXCLUDED.col_storage_pos").
			Set("updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at").Exec(ctx); err != nil {
			return err
		}
		return a.Audit(ctx, tx, tenantID, "import.profile", "", profileAudit(old), profileAudit(p))
	})
}

func profileAudit(p ImportProfile) map[string]any {
	return map[string]any{colCardNo: p.CardNo, colBirth: p.Birth, colName: p.Name, colNameKana: p.NameKana, colStoragePos: p.StoragePos}
}
