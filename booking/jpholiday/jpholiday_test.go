package jpholiday

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

const (
	fileFirstYear = 1970
	fileLastYear  = 2050
	// fileEntries is the number of holiday lines in testdata/jp-holidays.txt;
	// it guards against a parser that silently reads too little.
	fileEntries = 1329
)

var jst = time.FixedZone("JST", 9*60*60)

// fileNameQuirks lists the days whose name in testdata/jp-holidays.txt
// disagrees with the naming convention the data set itself uses everywhere
// else, mapped to the name this package returns. The dates are still
// compared. TestFileNameQuirks checks that each quirk is still in the file,
// so a fixed data file makes the test fail until the entry is removed here.
var fileNameQuirks = map[string]struct{ file, want string }{
	// May 3, 2020 was a Sunday, so May 6 was the substitute holiday. The
	// file names every other May 6 substitute after こどもの日 (the day
	// before), including 2009, 2015 and 2026 where May 3 was also a Sunday,
	// and upstream holiday_jp names 2020-05-06 "こどもの日 振替休日" too.
	"2020-05-06": {file: "憲法記念日 振替休日", want: "こどもの日 振替休日"},
}

type fileEntry struct {
	date time.Time
	name string
}

var lineRE = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}): (\S.*)$`)

// readFile parses testdata/jp-holidays.txt ("YYYY-MM-DD: name" a line, '#'
// comments) into holidays by year, failing on any line it does not
// understand.
func readFile(t *testing.T) map[int][]fileEntry {
	t.Helper()
	f, err := os.Open("testdata/jp-holidays.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	byYear := map[int][]fileEntry{}
	total := 0
	var last time.Time
	sc := bufio.NewScanner(f)
	for ln := 1; sc.Scan(); ln++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		m := lineRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("testdata line %d: cannot parse %q", ln, line)
		}
		d, err := time.Parse(time.DateOnly, m[1])
		if err != nil {
			t.Fatalf("testdata line %d: %v", ln, err)
		}
		if !d.After(last) {
			t.Fatalf("testdata line %d: %s is not after %s", ln, m[1], last.Format(time.DateOnly))
		}
		last = d
		byYear[d.Year()] = append(byYear[d.Year()], fileEntry{date: d, name: m[2]})
		total++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if total != fileEntries {
		t.Fatalf("testdata has %d holidays, want %d", total, fileEntries)
	}
	for y := fileFirstYear; y <= fileLastYear; y++ {
		if len(byYear[y]) < 12 {
			t.Fatalf("testdata has %d holidays in %d, want at least 12", len(byYear[y]), y)
		}
	}
	if len(byYear) != fileLastYear-fileFirstYear+1 {
		t.Fatalf("testdata covers %d years, want %d", len(byYear), fileLastYear-fileFirstYear+1)
	}
	return byYear
}

func format(hs []Holiday) string {
	var b strings.Builder
	for _, h := range hs {
		fmt.Fprintf(&b, "\n\t%s %s", h.Date.Format(time.DateOnly), h.Name)
	}
	return b.String()
}

// TestInYearMatchesFile compares InYear with the data file for every year,
// dates and names.
func TestInYearMatchesFile(t *testing.T) {
	byYear := readFile(t)
	for y := fileFirstYear; y <= fileLastYear; y++ {
		t.Run(fmt.Sprint(y), func(t *testing.T) {
			want := make([]Holiday, len(byYear[y]))
			for i, e := range byYear[y] {
				name := e.name
				if q, ok := fileNameQuirks[e.date.Format(time.DateOnly)]; ok && q.file == name {
					name = q.want
				}
				want[i] = Holiday{Date: e.date, Name: name}
			}
			got := InYear(y)
			ok := len(got) == len(want)
			for i := 0; ok && i < len(got); i++ {
				ok = got[i].Date.Equal(want[i].Date) && got[i].Date.Location() == time.UTC && got[i].Name == want[i].Name
			}
			if !ok {
				t.Errorf("InYear(%d):%s\nwant:%s", y, format(got), format(want))
			}
		})
	}
}

// TestFileNameQuirks keeps fileNameQuirks honest: each entry must still be
// in the file, and the package must return the convention's name.
func TestFileNameQuirks(t *testing.T) {
	byYear := readFile(t)
	for date, q := range fileNameQuirks {
		d, err := time.Parse(time.DateOnly, date)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range byYear[d.Year()] {
			if e.date.Equal(d) {
				found = true
				if e.name != q.file {
					t.Errorf("testdata %s is now %q, not %q: drop it from fileNameQuirks", date, e.name, q.file)
				}
			}
		}
		if !found {
			t.Errorf("testdata has no holiday on %s", date)
		}
		if got, _ := Name(d.Year(), d.Month(), d.Day()); got != q.want {
			t.Errorf("Name(%s) = %q, want %q", date, got, q.want)
		}
	}
}

// TestEveryDay checks Name and IsHoliday against the data file for every
// day from 1970 through 2050, so every ordinary day must be reported as not
// a holiday.
func TestEveryDay(t *testing.T) {
	byYear := readFile(t)
	want := map[time.Time]string{}
	for _, es := range byYear {
		for _, e := range es {
			want[e.date] = e.name
			if q, ok := fileNameQuirks[e.date.Format(time.DateOnly)]; ok && q.file == e.name {
				want[e.date] = q.want
			}
		}
	}
	holidays := 0
	end := time.Date(fileLastYear+1, time.January, 1, 0, 0, 0, 0, time.UTC)
	for d := time.Date(fileFirstYear, time.January, 1, 0, 0, 0, 0, time.UTC); d.Before(end); d = d.AddDate(0, 0, 1) {
		wantName, wantOK := want[d]
		name, ok := Name(d.Year(), d.Month(), d.Day())
		if name != wantName || ok != wantOK {
			t.Errorf("Name(%s) = %q, %v; want %q, %v", d.Format(time.DateOnly), name, ok, wantName, wantOK)
		}
		jstNoon := time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, jst)
		if got := IsHoliday(jstNoon); got != wantOK {
			t.Errorf("IsHoliday(%s) = %v, want %v", jstNoon, got, wantOK)
		}
		if ok {
			holidays++
		}
	}
	if holidays != fileEntries {
		t.Errorf("found %d holidays, want %d", holidays, fileEntries)
	}
}

func TestOrdinaryDays(t *testing.T) {
	for _, d := range []string{
		"2024-01-02", // year-end closure, not a holiday
		"2024-12-31",
		"2025-12-29",
		"2019-12-23", // no 天皇誕生日 in 2019
		"2020-12-23", // the Heisei date, no longer a holiday
		"2018-02-23", // the Reiwa date, not yet a holiday
		"2015-08-11", // 山の日 starts in 2016
		"2020-10-12", // スポーツの日 moved to July 24 in 2020
		"2021-10-11", // and to July 23 in 2021
		"2020-08-11", // 山の日 moved to August 10 in 2020
		"2021-07-19", // 海の日 moved to July 22 in 2021
		"2003-05-04", // Sunday between two holidays before 2007: no 国民の休日
		"2003-05-06", // no substitute in 2003 (5/4 was a Sunday, not a 祝日)
		"1972-05-04", // no 国民の休日 before 1985
		"1973-02-12", // substitute holidays only from 1973-04-12
		"1995-01-17",
		"2023-06-15",
	} {
		d, err := time.Parse(time.DateOnly, d)
		if err != nil {
			t.Fatal(err)
		}
		if name, ok := Name(d.Year(), d.Month(), d.Day()); ok {
			t.Errorf("Name(%s) = %q, true; want not a holiday", d.Format(time.DateOnly), name)
		}
		if IsHoliday(d) {
			t.Errorf("IsHoliday(%s) = true, want false", d.Format(time.DateOnly))
		}
	}
}

func TestNameInvalidAndUnsupported(t *testing.T) {
	for _, c := range []struct {
		y int
		m time.Month
		d int
	}{
		{2021, time.February, 29}, {2020, time.February, 30}, {2020, time.April, 31},
		{2020, 0, 1}, {2020, 13, 1}, {2020, time.January, 0}, {2020, time.December, 32},
		{1948, time.November, 3}, {2100, time.January, 1},
	} {
		if name, ok := Name(c.y, c.m, c.d); ok || name != "" {
			t.Errorf("Name(%d, %d, %d) = %q, %v; want \"\", false", c.y, c.m, c.d, name, ok)
		}
	}
	if hs := InYear(1948); hs != nil {
		t.Errorf("InYear(1948) = %v, want nil", hs)
	}
	if hs := InYear(2100); hs != nil {
		t.Errorf("InYear(2100) = %v, want nil", hs)
	}
	// Leap day is a valid date but not a holiday; 2099 is still supported.
	if _, ok := Name(2024, time.February, 29); ok {
		t.Error("Name(2024-02-29) = true")
	}
	if name, ok := Name(2099, time.January, 1); !ok || name != "元日" {
		t.Errorf("Name(2099-01-01) = %q, %v", name, ok)
	}
}

// TestBeforeFile spot-checks rules that only matter before 1970.
func TestBeforeFile(t *testing.T) {
	for _, c := range []struct {
		date, name string
	}{
		{"1959-04-10", "結婚の儀"},
		{"1949-01-15", "成人の日"},
		{"1966-09-15", "敬老の日"},
		{"1966-10-10", "体育の日"},
		{"1967-02-11", "建国記念の日"},
		{"1965-09-15", ""},
		{"1966-02-11", ""},
		{"1967-03-21", "春分の日"}, // the 1900-1979 formula
		{"1960-09-23", "秋分の日"},
	} {
		d, _ := time.Parse(time.DateOnly, c.date)
		name, ok := Name(d.Year(), d.Month(), d.Day())
		if name != c.name || ok != (c.name != "") {
			t.Errorf("Name(%s) = %q, %v; want %q", c.date, name, ok, c.name)
		}
	}
}

// TestOfficial2020To2027 checks 2020 through 2027 against the Cabinet
// Office list (内閣府「国民の祝日について」, syukujitsu.csv), written out here
// independently of the data file. The official list calls substitute days
// and 国民の休日 just "休日". The 2027 equinox days are those of the
// approximation formula (they are fixed officially by the National
// Astronomical Observatory's announcement in February 2026).
func TestOfficial2020To2027(t *testing.T) {
	official := map[int][]string{
		2020: {"01-01 元日", "01-13 成人の日", "02-11 建国記念の日", "02-23 天皇誕生日", "02-24 休日",
			"03-20 春分の日", "04-29 昭和の日", "05-03 憲法記念日", "05-04 みどりの日", "05-05 こどもの日",
			"05-06 休日", "07-23 海の日", "07-24 スポーツの日", "08-10 山の日", "09-21 敬老の日",
			"09-22 秋分の日", "11-03 文化の日", "11-23 勤労感謝の日"},
		2021: {"01-01 元日", "01-11 成人の日", "02-11 建国記念の日", "02-23 天皇誕生日", "03-20 春分の日",
			"04-29 昭和の日", "05-03 憲法記念日", "05-04 みどりの日", "05-05 こどもの日", "07-22 海の日",
			"07-23 スポーツの日", "08-08 山の日", "08-09 休日", "09-20 敬老の日", "09-23 秋分の日",
			"11-03 文化の日", "11-23 勤労感謝の日"},
		2022: {"01-01 元日", "01-10 成人の日", "02-11 建国記念の日", "02-23 天皇誕生日", "03-21 春分の日",
			"04-29 昭和の日", "05-03 憲法記念日", "05-04 みどりの日", "05-05 こどもの日", "07-18 海の日",
			"08-11 山の日", "09-19 敬老の日", "09-23 秋分の日", "10-10 スポーツの日", "11-03 文化の日",
			"11-23 勤労感謝の日"},
		2023: {"01-01 元日", "01-02 休日", "01-09 成人の日", "02-11 建国記念の日", "02-23 天皇誕生日",
			"03-21 春分の日", "04-29 昭和の日", "05-03 憲法記念日", "05-04 みどりの日", "05-05 こどもの日",
			"07-17 海の日", "08-11 山の日", "09-18 敬老の日", "09-23 秋分の日", "10-09 スポーツの日",
			"11-03 文化の日", "11-23 勤労感謝の日"},
		2024: {"01-01 元日", "01-08 成人の日", "02-11 建国記念の日", "02-12 休日", "02-23 天皇誕生日",
			"03-20 春分の日", "04-29 昭和の日", "05-03 憲法記念日", "05-04 みどりの日", "05-05 こどもの日",
			"05-06 休日", "07-15 海の日", "08-11 山の日", "08-12 休日", "09-16 敬老の日",
			"09-22 秋分の日", "09-23 休日", "10-14 スポーツの日", "11-03 文化の日", "11-04 休日",
			"11-23 勤労感謝の日"},
		2025: {"01-01 元日", "01-13 成人の日", "02-11 建国記念の日", "02-23 天皇誕生日", "02-24 休日",
			"03-20 春分の日", "04-29 昭和の日", "05-03 憲法記念日", "05-04 みどりの日", "05-05 こどもの日",
			"05-06 休日", "07-21 海の日", "08-11 山の日", "09-15 敬老の日", "09-23 秋分の日",
			"10-13 スポーツの日", "11-03 文化の日", "11-23 勤労感謝の日", "11-24 休日"},
		2026: {"01-01 元日", "01-12 成人の日", "02-11 建国記念の日", "02-23 天皇誕生日", "03-20 春分の日",
			"04-29 昭和の日", "05-03 憲法記念日", "05-04 みどりの日", "05-05 こどもの日", "05-06 休日",
			"07-20 海の日", "08-11 山の日", "09-21 敬老の日", "09-22 休日", "09-23 秋分の日",
			"10-12 スポーツの日", "11-03 文化の日", "11-23 勤労感謝の日"},
		2027: {"01-01 元日", "01-11 成人の日", "02-11 建国記念の日", "02-23 天皇誕生日", "03-21 春分の日",
			"03-22 休日", "04-29 昭和の日", "05-03 憲法記念日", "05-04 みどりの日", "05-05 こどもの日",
			"07-19 海の日", "08-11 山の日", "09-20 敬老の日", "09-23 秋分の日", "10-11 スポーツの日",
			"11-03 文化の日", "11-23 勤労感謝の日"},
	}
	for y := 2020; y <= 2027; y++ {
		t.Run(fmt.Sprint(y), func(t *testing.T) {
			var got []string
			for _, h := range InYear(y) {
				name := h.Name
				if strings.HasSuffix(name, " 振替休日") {
					name = "休日"
				}
				got = append(got, h.Date.Format("01-02")+" "+name)
			}
			want := official[y]
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("InYear(%d):\n%s\nwant:\n%s", y, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestIsYearEndClosure(t *testing.T) {
	for _, c := range []struct {
		date string
		want bool
	}{
		{"2024-12-27", false},
		{"2024-12-28", false},
		{"2024-12-29", true},
		{"2024-12-30", true},
		{"2024-12-31", true},
		{"2025-01-01", true},
		{"2025-01-02", true},
		{"2025-01-03", true},
		{"2025-01-04", false},
		{"2025-06-30", false},
		{"2025-11-29", false},
		{"2025-02-01", false},
	} {
		d, _ := time.Parse(time.DateOnly, c.date)
		at := time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 0, 0, jst)
		if got := IsYearEndClosure(at); got != c.want {
			t.Errorf("IsYearEndClosure(%s) = %v, want %v", at, got, c.want)
		}
	}
	// The closure is separate from national holidays: only January 1 (and a
	// substitute on January 2, as in 2023) is both.
	for _, c := range []struct {
		date          string
		holiday, shut bool
	}{
		{"2024-12-30", false, true},
		{"2025-01-01", true, true},
		{"2025-01-02", false, true},
		{"2023-01-02", true, true},
		{"2025-01-13", true, false},
	} {
		d, _ := time.Parse(time.DateOnly, c.date)
		if got := IsHoliday(d); got != c.holiday {
			t.Errorf("IsHoliday(%s) = %v, want %v", c.date, got, c.holiday)
		}
		if got := IsYearEndClosure(d); got != c.shut {
			t.Errorf("IsYearEndClosure(%s) = %v, want %v", c.date, got, c.shut)
		}
	}
}

// TestIsHolidayUsesCallerLocation documents that IsHoliday reads the civil
// date in t's own location: the caller converts to JST.
func TestIsHolidayUsesCallerLocation(t *testing.T) {
	// 2025-01-01 00:30 JST is 2024-12-31 15:30 UTC.
	j := time.Date(2025, time.January, 1, 0, 30, 0, 0, jst)
	if !IsHoliday(j) {
		t.Errorf("IsHoliday(%s) = false, want true", j)
	}
	if u := j.UTC(); IsHoliday(u) {
		t.Errorf("IsHoliday(%s) = true, want false (civil date is December 31 in UTC)", u)
	}
}

func TestInYearReturnsFreshSlice(t *testing.T) {
	a := InYear(2024)
	a[0].Name = "changed"
	if b := InYear(2024); b[0].Name != "元日" {
		t.Errorf("InYear(2024)[0].Name = %q after mutating an earlier result", b[0].Name)
	}
}

func TestNameDoesNotAllocate(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { Name(2024, time.May, 6) }); n != 0 {
		t.Errorf("Name allocates %v times per call", n)
	}
}

func BenchmarkIsHoliday(b *testing.B) {
	d := time.Date(2024, time.September, 23, 9, 0, 0, 0, jst)
	for b.Loop() {
		IsHoliday(d)
	}
}

func BenchmarkInYear(b *testing.B) {
	for b.Loop() {
		InYear(2024)
	}
}

// TestSubstituteRuleChange exercises the 2007 change of Article 3(2) on
// made-up calendars: no real year before 2007 has a 国民の祝日 on a Sunday
// followed by another 国民の祝日, so the real dates cannot tell the rules
// apart.
func TestSubstituteRuleChange(t *testing.T) {
	// April 29 is a Sunday in both 1990 and 2018.
	for _, c := range []struct {
		year int
		want string // substitute date, "" for none
	}{
		{1990, ""},      // old rule: only the Monday, which is taken
		{2018, "05-01"}, // new rule: the next day that is not a holiday
	} {
		var cal calendar
		cal.build(c.year)
		cal = calendar{year: c.year, jan1: cal.jan1, leap: cal.leap}
		cal.add(time.April, 29, "A")
		cal.add(time.April, 30, "B")
		cal.addSubstitutes()
		got := ""
		for _, e := range cal.e[:cal.n] {
			if e.kind == kindSubstitute {
				m, d := cal.monthDay(e.yday)
				got = fmt.Sprintf("%02d-%02d", m, d)
				if e.name != "B 振替休日" {
					t.Errorf("%d: substitute named %q, want %q", c.year, e.name, "B 振替休日")
				}
			}
		}
		if got != c.want {
			t.Errorf("%d: substitute on %q, want %q", c.year, got, c.want)
		}
	}
}
