package booking

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/uptrace/bun/dialect/pgdialect"
)

// TestHandWrittenReadsSelectEveryColumn: the hot reads that scan pgx rows by hand (the login's
// card, a place, a place's open slots) select every column of their model, in the model's order,
// so a column added to the model cannot be left empty on those paths while bun's reads fill it.
func TestHandWrittenReadsSelectEveryColumn(t *testing.T) {
	tables := pgdialect.New().Tables()
	selectList := regexp.MustCompile(`(?s)^SELECT (.*?)\s+FROM `)
	for _, tc := range []struct {
		name  string
		sql   string
		model any
	}{
		{"loginCardSQL", loginCardSQL, Card{}},
		{"locationSQL", locationSQL, Location{}},
		{"openSlotsSQL", openSlotsSQL, Slot{}},
	} {
		m := selectList.FindStringSubmatch(tc.sql)
		if m == nil {
			t.Fatalf("%s: no SELECT … FROM in %q", tc.name, tc.sql)
		}
		var got []string
		for _, c := range strings.Split(m[1], ",") {
			got = append(got, strings.TrimSpace(c))
		}
		var want []string
		for _, f := range tables.Get(reflect.TypeOf(tc.model)).Fields {
			want = append(want, f.Name)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s selects\n%v\nwant every column of %T in order\n%v", tc.name, got, tc.model, want)
		}
	}
}
