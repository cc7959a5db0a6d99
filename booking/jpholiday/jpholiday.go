// Package jpholiday computes Japanese national holidays from the rules of the
// Act on National Holidays (国民の祝日に関する法律, Act No. 178 of 1948) and
// the one-off acts that added single rest days, instead of looking dates up
// in a fixed list.
//
// A "national holiday" here is any day the law makes a public day off:
// a 国民の祝日, a 振替休日 (substitute holiday), a 国民の休日 (a day
// sandwiched between two 国民の祝日) or a rest day made by a special act
// (1959, 1989, 1990, 1993 and 2019). Names follow the holiday_jp data set
// (MIT, holiday-jp/holiday_jp), which in turn follows the Cabinet Office list:
// a substitute holiday is "<name of the holiday just before it> 振替休日",
// a 国民の休日 is "休日", and the 2019 enthronement days are "休日（祝日扱い）".
//
// Years 1949 through 2099 are supported: 1949 is the first full year under
// the act and 2099 is the last year the equinox approximation is valid for.
// Outside that range no day is reported as a holiday. Dates for future years
// are predictions: the equinox days are fixed officially only in February of
// the preceding year, and the law may change.
//
// The municipal year-end closure (12/29 to 1/3) is not a national holiday;
// see IsYearEndClosure.
package jpholiday

import "time"

const (
	minYear = 1949
	maxYear = 2099

	// maxPerYear bounds the number of holidays in one year (the maximum
	// within the supported range is 22, in 2019).
	maxPerYear = 32
)

// Holiday is one national holiday.
type Holiday struct {
	// Date is the holiday at midnight UTC; read it with Date() or
	// Year/Month/Day, not by converting it to another time zone.
	Date time.Time
	// Name is the holiday name in Japanese.
	Name string
}

// Name returns the holiday name in Japanese and true when the date year-month-day
// (a civil date in JST) is a national holiday. Invalid dates such as
// February 30 are never holidays.
func Name(year int, month time.Month, day int) (string, bool) {
	var c calendar
	c.build(year)
	if month < time.January || month > time.December || day < 1 || day > c.daysIn(month) {
		return "", false
	}
	if i, ok := c.find(c.yday(month, day)); ok {
		return c.e[i].name, true
	}
	return "", false
}

// IsHoliday reports whether the civil date of t is a national holiday.
// It uses t's Year, Month and Day as they are, in t's own location, so the
// caller must pass a time in JST (Asia/Tokyo).
func IsHoliday(t time.Time) bool {
	y, m, d := t.Date()
	_, ok := Name(y, m, d)
	return ok
}

// IsYearEndClosure reports whether the civil date of t falls in the year-end
// and new-year closure of public offices, December 29 through January 3
// (行政機関の休日に関する法律). These days are not national holidays unless
// the law makes them so (January 1, or a substitute holiday on January 2 or 3).
// Like IsHoliday it uses t's Year, Month and Day as they are.
func IsYearEndClosure(t time.Time) bool {
	_, m, d := t.Date()
	return (m == time.December && d >= 29) || (m == time.January && d <= 3)
}

// InYear returns the national holidays of year in date order, or nil when
// year is outside 1949 through 2099. The caller owns the returned slice.
func InYear(year int) []Holiday {
	var c calendar
	c.build(year)
	if c.n == 0 {
		return nil
	}
	hs := make([]Holiday, c.n)
	for i, e := range c.e[:c.n] {
		m, d := c.monthDay(e.yday)
		hs[i] = Holiday{Date: time.Date(year, m, d, 0, 0, 0, 0, time.UTC), Name: e.name}
	}
	return hs
}

// kind tells which provision of the law makes a day a holiday.
type kind uint8

const (
	// kindShukujitsu is a 国民の祝日 (Article 2 of the act).
	kindShukujitsu kind = iota
	// kindDeemed is a rest day made by a special act that is deemed a
	// 国民の祝日 for the 国民の休日 rule (Article 3(3)): the 2019
	// enthronement days (Act No. 99 of 2018).
	kindDeemed
	// kindRestDay is a rest day made by a special act that does not count
	// as a 国民の祝日 for Article 3 (1959, 1989, 1990, 1993).
	kindRestDay
	// kindSubstitute is a 振替休日 (Article 3(2)).
	kindSubstitute
	// kindSandwiched is a 国民の休日 (Article 3(3)).
	kindSandwiched
)

type entry struct {
	yday int // day of the year, 1-based
	name string
	kind kind
}

// calendar holds the holidays of one year, sorted by day of the year. It is
// a fixed-size value so that Name and IsHoliday do not allocate.
type calendar struct {
	year int
	jan1 time.Weekday
	leap bool
	n    int
	e    [maxPerYear]entry
}

// daysBefore[m] is the number of days before month m in a common year.
var daysBefore = [...]int{0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365}

func (c *calendar) daysIn(m time.Month) int {
	n := daysBefore[m+1] - daysBefore[m]
	if m == time.February && c.leap {
		n++
	}
	return n
}

func (c *calendar) yday(m time.Month, d int) int {
	yd := daysBefore[m] + d
	if c.leap && m > time.February {
		yd++
	}
	return yd
}

func (c *calendar) monthDay(yday int) (time.Month, int) {
	m := time.January
	for m < time.December && yday > c.yday(m+1, 0) {
		m++
	}
	return m, yday - c.yday(m, 0)
}

func (c *calendar) weekday(yday int) time.Weekday {
	return time.Weekday((int(c.jan1) + yday - 1) % 7)
}

// nthMonday returns the day of the month of the n-th Monday of m.
func (c *calendar) nthMonday(m time.Month, n int) int {
	first := c.weekday(c.yday(m, 1))
	return 1 + (int(time.Monday)-int(first)+7)%7 + 7*(n-1)
}

// find returns the index of the entry on yday.
func (c *calendar) find(yday int) (int, bool) {
	for i, e := range c.e[:c.n] {
		if e.yday == yday {
			return i, true
		}
		if e.yday > yday {
			break
		}
	}
	return 0, false
}

// insert adds an entry keeping c.e sorted. Two holidays never share a day
// within the supported years; a duplicate is a bug in the rules below.
func (c *calendar) insert(yday int, name string, k kind) {
	i := c.n
	for i > 0 && c.e[i-1].yday > yday {
		c.e[i] = c.e[i-1]
		i--
	}
	if i > 0 && c.e[i-1].yday == yday {
		panic("jpholiday: two holidays on one day")
	}
	c.e[i] = entry{yday: yday, name: name, kind: k}
	c.n++
}

func (c *calendar) add(m time.Month, d int, name string) {
	c.insert(c.yday(m, d), name, kindShukujitsu)
}

// build computes the holidays of year.
func (c *calendar) build(year int) {
	*c = calendar{year: year}
	if year < minYear || year > maxYear {
		return
	}
	c.leap = year%4 == 0 && (year%100 != 0 || year%400 == 0)
	c.jan1 = time.Date(year, time.January, 1, 0, 0, 0, 0, time.UTC).Weekday()
	c.addShukujitsu()
	c.addSpecialRestDays()
	c.addSubstitutes()
	c.addSandwiched()
}

// addShukujitsu adds the 国民の祝日 of Article 2 as it stood in c.year,
// including the one-year moves for the Tokyo Olympics (Act No. 57 of 2018
// for 2020, Act No. 68 of 2020 for 2021).
func (c *calendar) addShukujitsu() {
	y := c.year
	c.add(time.January, 1, "元日")

	// 成人の日: January 15; the second Monday of January from 2000
	// (Happy Monday, Act No. 141 of 1998).
	if y < 2000 {
		c.add(time.January, 15, "成人の日")
	} else {
		c.add(time.January, c.nthMonday(time.January, 2), "成人の日")
	}

	// 建国記念の日: from 1967 (added in 1966, date set by Cabinet Order).
	if y >= 1967 {
		c.add(time.February, 11, "建国記念の日")
	}

	// 天皇誕生日 of the present Emperor: February 23 from 2020.
	if y >= 2020 {
		c.add(time.February, 23, "天皇誕生日")
	}

	c.add(time.March, vernalEquinoxDay(y), "春分の日")

	// April 29: 天皇誕生日 (Shōwa) until 1988, みどりの日 1989-2006,
	// 昭和の日 from 2007 (Act No. 43 of 2005).
	switch {
	case y <= 1988:
		c.add(time.April, 29, "天皇誕生日")
	case y <= 2006:
		c.add(time.April, 29, "みどりの日")
	default:
		c.add(time.April, 29, "昭和の日")
	}

	c.add(time.May, 3, "憲法記念日")
	// みどりの日 moved to May 4 from 2007; before that May 4 was usually a
	// 国民の休日.
	if y >= 2007 {
		c.add(time.May, 4, "みどりの日")
	}
	c.add(time.May, 5, "こどもの日")

	// 海の日: July 20 from 1996; the third Monday of July from 2003
	// (Act No. 59 of 2001).
	switch {
	case y == 2020:
		c.add(time.July, 23, "海の日")
	case y == 2021:
		c.add(time.July, 22, "海の日")
	case y >= 2003:
		c.add(time.July, c.nthMonday(time.July, 3), "海の日")
	case y >= 1996:
		c.add(time.July, 20, "海の日")
	}

	// 山の日: August 11 from 2016 (Act No. 43 of 2014).
	switch {
	case y == 2020:
		c.add(time.August, 10, "山の日")
	case y == 2021:
		c.add(time.August, 8, "山の日")
	case y >= 2016:
		c.add(time.August, 11, "山の日")
	}

	// 敬老の日: September 15 from 1966; the third Monday of September
	// from 2003.
	switch {
	case y >= 2003:
		c.add(time.September, c.nthMonday(time.September, 3), "敬老の日")
	case y >= 1966:
		c.add(time.September, 15, "敬老の日")
	}

	c.add(time.September, autumnalEquinoxDay(y), "秋分の日")

	// 体育の日: October 10 from 1966; the second Monday of October from
	// 2000; renamed スポーツの日 from 2020 (Act No. 57 of 2018). For 2019
	// the Cabinet Office list, and the data set, call it
	// "体育の日（スポーツの日）".
	switch {
	case y == 2020:
		c.add(time.July, 24, "スポーツの日")
	case y == 2021:
		c.add(time.July, 23, "スポーツの日")
	case y >= 2022:
		c.add(time.October, c.nthMonday(time.October, 2), "スポーツの日")
	case y == 2019:
		c.add(time.October, c.nthMonday(time.October, 2), "体育の日（スポーツの日）")
	case y >= 2000:
		c.add(time.October, c.nthMonday(time.October, 2), "体育の日")
	case y >= 1966:
		c.add(time.October, 10, "体育の日")
	}

	c.add(time.November, 3, "文化の日")
	c.add(time.November, 23, "勤労感謝の日")

	// 天皇誕生日 of the Heisei Emperor: December 23, 1989-2018. There was
	// none in 2019.
	if y >= 1989 && y <= 2018 {
		c.add(time.December, 23, "天皇誕生日")
	}
}

// addSpecialRestDays adds the rest days made by one-off acts.
func (c *calendar) addSpecialRestDays() {
	switch c.year {
	case 1959: // Act No. 16 of 1959: wedding of Crown Prince Akihito.
		c.insert(c.yday(time.April, 10), "結婚の儀", kindRestDay)
	case 1989: // Act No. 4 of 1989: funeral of Emperor Shōwa.
		c.insert(c.yday(time.February, 24), "大喪の礼", kindRestDay)
	case 1990: // Act No. 24 of 1990: enthronement ceremony.
		c.insert(c.yday(time.November, 12), "即位礼正殿の儀", kindRestDay)
	case 1993: // Act No. 32 of 1993: wedding of Crown Prince Naruhito.
		c.insert(c.yday(time.June, 9), "結婚の儀", kindRestDay)
	case 2019: // Act No. 99 of 2018: enthronement day and ceremony.
		c.insert(c.yday(time.May, 1), "休日（祝日扱い）", kindDeemed)
		c.insert(c.yday(time.October, 22), "休日（祝日扱い）", kindDeemed)
	}
}

// addSubstitutes applies Article 3(2), in force from April 12, 1973: when a
// 国民の祝日 falls on a Sunday, the next day is a holiday; from 2007 the next
// day that is not a 国民の祝日 is (Act No. 43 of 2005).
func (c *calendar) addSubstitutes() {
	if c.year < 1973 {
		return
	}
	start := 1
	if c.year == 1973 {
		start = c.yday(time.April, 12)
	}
	// Substitutes are inserted after their Sunday, so the loop sees every
	// original entry; it skips the inserted ones by kind.
	for i := 0; i < c.n; i++ {
		e := c.e[i]
		if e.kind != kindShukujitsu || e.yday < start || c.weekday(e.yday) != time.Sunday {
			continue
		}
		d := e.yday + 1
		if c.year >= 2007 {
			for {
				if _, taken := c.find(d); !taken {
					break
				}
				d++
			}
		} else if _, taken := c.find(d); taken {
			continue
		}
		prev, _ := c.find(d - 1)
		c.insert(d, substituteName(c.e[prev].name), kindSubstitute)
	}
}

// substituteNames maps a holiday name to the name of a substitute holiday
// following it; precomputed so that Name does not allocate. Read-only.
var substituteNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{
		"元日", "成人の日", "建国記念の日", "天皇誕生日", "春分の日", "みどりの日", "昭和の日",
		"憲法記念日", "こどもの日", "海の日", "山の日", "敬老の日", "秋分の日", "体育の日",
		"スポーツの日", "文化の日", "勤労感謝の日",
	} {
		m[n] = n + " 振替休日"
	}
	return m
}()

func substituteName(prev string) string {
	if n, ok := substituteNames[prev]; ok {
		return n
	}
	return prev + " 振替休日"
}

// addSandwiched applies Article 3(3), in force from December 27, 1985: a day
// whose previous and next days are both 国民の祝日 is a holiday. Until 2006 a
// Sunday or a substitute holiday did not become one; from 2007 only a day
// that is not already a holiday is excluded.
func (c *calendar) addSandwiched() {
	if c.year < 1986 {
		return
	}
	counts := func(k kind) bool { return k == kindShukujitsu || k == kindDeemed }
	// Collect first: inserting while scanning would make the freshly
	// inserted day look like the neighbour of the next one.
	var mids [maxPerYear]int
	n := 0
	for i := 0; i+1 < c.n; i++ {
		a, b := c.e[i], c.e[i+1]
		// Adjacent in the sorted list, so the middle day holds no holiday.
		if !counts(a.kind) || !counts(b.kind) || b.yday-a.yday != 2 {
			continue
		}
		if c.year < 2007 && c.weekday(a.yday+1) == time.Sunday {
			continue
		}
		mids[n] = a.yday + 1
		n++
	}
	for _, d := range mids[:n] {
		c.insert(d, "休日", kindSandwiched)
	}
}

// vernalEquinoxDay returns the day of March of the vernal equinox day, by the
// standard approximation (valid 1900-2099) in integer arithmetic scaled by
// 10^6. Go's integer division truncates toward zero, which is what the
// 1900-1979 form of the formula needs.
func vernalEquinoxDay(y int) int {
	if y < 1980 {
		return (20835700 + 242194*(y-1980) - 1000000*((y-1983)/4)) / 1000000
	}
	return (20843100 + 242194*(y-1980) - 1000000*((y-1980)/4)) / 1000000
}

// autumnalEquinoxDay returns the day of September of the autumnal equinox
// day; see vernalEquinoxDay.
func autumnalEquinoxDay(y int) int {
	if y < 1980 {
		return (23258800 + 242194*(y-1980) - 1000000*((y-1983)/4)) / 1000000
	}
	return (23248800 + 242194*(y-1980) - 1000000*((y-1980)/4)) / 1000000
}
