package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// TestWithTenant: G8's reference writes the policies' predicate into every WHERE of the scripts
// on a city's table, so a statement of the app that gains a WHERE (or a table) the rewrite misses
// fails here instead of turning the reference into whole-index scans.
func TestWithTenant(t *testing.T) {
	sc := &benchScratch{tenant: &tenant.Tenant{ID: uuid.New()}, location: &booking.Location{ID: uuid.New()}, slots: []uuid.UUID{uuid.New()}}
	reserve, err := pgbenchScript(sc)
	if err != nil {
		t.Fatal(err)
	}
	day := booking.DateOf(time.Date(2026, 4, 1, 12, 0, 0, 0, time.Local))
	calendar, err := calendarScript(sc, day, day.AddDays(29))
	if err != nil {
		t.Fatal(err)
	}
	pred := "tenant_id = '" + sc.tenant.ID.String() + "' AND "
	// The only WHERE that is not on a city's table: the outbox row's condition on the booking's
	// own CTE r.
	notTable := regexp.MustCompile(`FROM r WHERE `)
	for name, script := range map[string]string{"login": pointReadScript(10), "calendar": calendar, "reserve": reserve} {
		off, err := withTenant(name, script, sc.tenant.ID.String())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wheres := strings.Count(script, "WHERE ") - len(notTable.FindAllString(script, -1))
		if got := strings.Count(off, "WHERE "+pred); got != wheres || wheres == 0 {
			t.Errorf("%s: the predicate written into %d of %d WHEREs:\n%s", name, got, wheres, off)
		}
		if strings.Replace(off, pred, "", -1) != script {
			t.Errorf("%s: the rewrite changed more than the predicate:\n%s", name, off)
		}
	}
	if _, err := withTenant("x", "SELECT 1;\n", "t"); err == nil {
		t.Error("withTenant of a script without a city's WHERE: no error")
	}
}
