package tenant

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"golang.org/x/text/unicode/norm"
)

// City is a tenant as the vendor's console shows it: the tenants row and its custom domains.
// Both are global routing tables, so reading them opens no city's scope and reads none of its
// data.
type City struct {
	Tenant
	Domains []string // sorted; none for a city served only at {slug}.{BASE_DOMAIN}
	// Copy is the city's training copy (研修用), nil when it has none; Of, for a training city,
	// the city it was copied from. City fills them; Cities does not.
	Copy, Of *Tenant
}

// Cities returns the cities whose slug, name, kana, municipality code or one of whose custom
// domains contains q, ordered by slug: at most limit of them (limit <= 0: all), and how many
// match in all. A blank q matches every city. q is read as a person types it: full-width letters
// and digits count as their ASCII forms, case is ignored, and hiragana find the katakana of a
// name's kana (「つ」 finds ツシ).
func (s *Service) Cities(ctx context.Context, q string, limit int) (_ []City, total int, err error) {
	defer Wrap(&err, "tenant.Cities")
	q = strings.TrimSpace(norm.NFKC.String(q))
	var rows []Tenant
	sel := s.db.NewSelect().Model(&rows).Order("slug")
	if q != "" {
		like := "%" + likeEscaper.Replace(strings.ToLower(q)) + "%"
		kana := like
		if k, ok := normalizeKana(q); ok && k != "" {
			kana = "%" + likeEscaper.Replace(k) + "%"
		}
		sel = sel.WhereGroup(" AND ", func(w *bun.SelectQuery) *bun.SelectQuery {
			return w.Where("lower(slug) LIKE ?", like).WhereOr("lower(name) LIKE ?", like).
				WhereOr("name_kana LIKE ?", kana).WhereOr("coalesce(code, '') LIKE ?", like).
				WhereOr("EXISTS (SELECT 1 FROM tenant_domains AS d WHERE d.tenant = tenant.id AND d.domain LIKE ?)", like)
		})
	}
	if limit > 0 {
		sel = sel.Limit(int64(limit))
	}
	n, err := sel.ScanAndCount(ctx)
	if err != nil {
		return nil, 0, DBError(err)
	}
	cities, err := s.withDomains(ctx, rows)
	return cities, int(n), err
}

// City returns the city with slug and its custom domains, or not_found ("tenant.not_found").
func (s *Service) City(ctx context.Context, slug string) (_ *City, err error) {
	defer Wrap(&err, "tenant.City")
	t, err := s.BySlug(ctx, strings.ToLower(strings.TrimSpace(slug)))
	if ErrorCode(err) == NotFound {
		return nil, &Error{Code: NotFound, Key: "tenant.not_found", Err: err}
	}
	if err != nil {
		return nil, err
	}
	cities, err := s.withDomains(ctx, []Tenant{*t})
	if err != nil {
		return nil, err
	}
	var related []Tenant
	if err := s.db.NewSelect().Model(&related).Where("training_of = ?", t.ID).WhereOr("id = ?", t.TrainingOf).Scan(ctx); err != nil {
		return nil, DBError(err)
	}
	for i := range related {
		if r := &related[i]; r.Training() && *r.TrainingOf == t.ID {
			cities[0].Copy = r
		} else {
			cities[0].Of = r
		}
	}
	return &cities[0], nil
}

// withDomains pairs each tenant with its custom domains, in one query.
func (s *Service) withDomains(ctx context.Context, ts []Tenant) ([]City, error) {
	out := make([]City, len(ts))
	if len(ts) == 0 {
		return out, nil
	}
	ids := make([]uuid.UUID, len(ts))
	at := make(map[uuid.UUID]int, len(ts))
	for i, t := range ts {
		out[i].Tenant, ids[i], at[t.ID] = t, t.ID, i
	}
	var domains []struct {
		Domain string    `bun:"domain"`
		Tenant uuid.UUID `bun:"tenant"`
	}
	err := s.db.NewSelect().Table("tenant_domains").Column("domain", "tenant").Where("tenant IN (?)", bun.List(ids)).
		Order("domain").Scan(ctx, &domains)
	if err != nil {
		return nil, DBError(err)
	}
	for _, d := range domains {
		c := &out[at[d.Tenant]]
		c.Domains = append(c.Domains, d.Domain)
	}
	return out, nil
}

// likeEscaper makes a user's text match itself literally in a LIKE pattern (backslash is
// PostgreSQL's default escape character).
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
