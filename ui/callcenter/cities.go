package callcenter

import (
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/text/unicode/norm"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/vendor"
)

// CitiesPage is the data of cities.html: the cities the operator may serve.
type CitiesPage struct {
	Page
	Q      string
	Recent []tenant.Grant // served lately, the latest first (those matching Q)
	Others []tenant.Grant // the rest, by kana
	Total  int            // cities granted, before the search
}

// cities lists the active cities granted to the operator, those served lately first, narrowed by
// a search on the name, its kana (hiragana or katakana) or the slug.
func (u *UI) cities(c *fiber.Ctx) error {
	grants, err := u.deps.Ops.Grants(ctx(c), vendor.AccountOf(c).ID)
	if err != nil {
		return err
	}
	grants = slices.DeleteFunc(grants, func(g tenant.Grant) bool { return g.Status != tenant.Active })
	p := &CitiesPage{Page: u.Page(c), Q: strings.TrimSpace(c.Query("q")), Total: len(grants)}
	q := fold(p.Q)
	bySlug := map[string]tenant.Grant{}
	for _, g := range grants {
		if q == "" || strings.Contains(fold(g.Name), q) || strings.Contains(fold(g.NameKana), q) || strings.Contains(g.Slug, q) {
			bySlug[g.Slug] = g
		}
	}
	for _, slug := range vendor.SessionOf(c).Recent {
		if g, ok := bySlug[slug]; ok {
			p.Recent = append(p.Recent, g)
			delete(bySlug, slug)
		}
	}
	for _, g := range grants {
		if _, ok := bySlug[g.Slug]; ok {
			p.Others = append(p.Others, g)
		}
	}
	slices.SortStableFunc(p.Others, func(a, b tenant.Grant) int { return strings.Compare(sortKey(a), sortKey(b)) })
	return u.Render(c, "cities", p)
}

// fold makes a name, its kana or a search comparable: NFKC (full-width letters and digits,
// half-width kana), lower case, hiragana as katakana.
func fold(s string) string {
	s = strings.ToLower(norm.NFKC.String(s))
	return strings.Map(func(r rune) rune {
		if r >= 'ぁ' && r <= 'ゖ' {
			return r + ('ァ' - 'ぁ')
		}
		return r
	}, s)
}

func sortKey(g tenant.Grant) string {
	if g.NameKana != "" {
		return fold(g.NameKana)
	}
	return fold(g.Name)
}

// SupervisorPage is the data of supervisor.html: today's calls per operator and city.
type SupervisorPage struct {
	Page
	Day       time.Time
	Rows      []tenant.CallCount
	Operators []Tally // calls per operator, by login
	Cities    []Tally // calls per city, by slug
	Total     int
}

// Tally is one line of a total: who (or which city) and how many calls.
type Tally struct {
	Key, Name string
	Calls     int
}

// supervisor shows the calls handled today (JST): a call is one caller whose card and birthday
// were checked (family members not counted again).
func (u *UI) supervisor(c *fiber.Ctx) error {
	now := u.now().In(booking.JST)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, booking.JST)
	rows, err := u.deps.Ops.CallCounts(ctx(c), day, day.AddDate(0, 0, 1))
	if err != nil {
		return err
	}
	p := &SupervisorPage{Page: u.Page(c), Day: day, Rows: rows}
	ops, cities := map[string]int{}, map[string]int{}
	for _, r := range rows {
		p.Total += r.Calls
		add(&p.Operators, ops, r.Login, r.Name, r.Calls)
		add(&p.Cities, cities, r.Slug, r.City, r.Calls)
	}
	slices.SortFunc(p.Cities, func(a, b Tally) int { return strings.Compare(a.Key, b.Key) })
	return u.Render(c, "supervisor", p)
}

// add counts n calls for key in list (index holds each key's line).
func add(list *[]Tally, index map[string]int, key, name string, n int) {
	if i, ok := index[key]; ok {
		(*list)[i].Calls += n
		return
	}
	index[key] = len(*list)
	*list = append(*list, Tally{Key: key, Name: name, Calls: n})
}
