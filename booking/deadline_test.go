package booking_test

import (
	"testing"
	"time"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

func deadlineCity(n int, opening bool) *tenant.Tenant {
	return &tenant.Tenant{Settings: tenant.Settings{BookingDeadlineDays: &n, DeadlineOpeningDays: opening}}
}

func day(s string) booking.Date {
	t, err := time.ParseInLocation("2006-01-02", s, booking.JST)
	if err != nil {
		panic(err)
	}
	return booking.DateOf(t)
}

func TestDeadlineInOpeningDays(t *testing.T) {
	for _, c := range []struct {
		n       int
		opening bool
		visit   string
		want    string
	}{
		{1, false, "2027-01-04", "2027-01-03"},
		{1, true, "2027-01-04", "2026-12-28"}, // 12-29 … 01-03 closed: back to Monday 12-28
		{1, true, "2027-01-12", "2027-01-08"}, // 01-11 成人の日, then the weekend
		{2, true, "2026-12-14", "2026-12-10"}, // Fri, Thu
		{2, false, "2026-12-14", "2026-12-12"},
		{3, true, "2026-05-07", "2026-04-28"}, // Golden Week: 05-06 振替休日 … 05-02 closed; 05-01, 04-30, 04-29 昭和の日, 04-28
		{0, true, "2026-12-13", "2026-12-13"}, // same day, even a Sunday (休日開庁)
		{1, true, "2026-12-13", "2026-12-11"}, // a Sunday visit (休日開庁): the Friday before
	} {
		got := booking.DeadlineDay(deadlineCity(c.n, c.opening), day(c.visit))
		if got != day(c.want) {
			t.Errorf("DeadlineDay(N=%d, opening=%v, %s) = %s, want %s", c.n, c.opening, c.visit, got, c.want)
		}
	}
	for _, c := range []struct {
		d    string
		want bool
	}{{"2026-12-07", true}, {"2026-12-12", false}, {"2026-12-29", false}, {"2027-01-03", false}, {"2027-01-04", true}, {"2026-11-23", false}} {
		if got := booking.IsOpeningDay(day(c.d)); got != c.want {
			t.Errorf("IsOpeningDay(%s) = %v, want %v", c.d, got, c.want)
		}
	}
	// FirstBookableDay is the first day whose deadline has not passed, every day of a year.
	for _, opening := range []bool{false, true} {
		for n := 0; n <= 3; n++ {
			city := deadlineCity(n, opening)
			for today := day("2026-04-01"); today.Before(day("2027-04-01")); today = today.AddDays(1) {
				want := today
				for booking.DeadlineDay(city, want).Before(today) {
					want = want.AddDays(1)
				}
				if got := booking.FirstBookableDay(city, today.Time(23, 59)); got != want {
					t.Fatalf("FirstBookableDay(N=%d, opening=%v, %s) = %s, want %s", n, opening, today, got, want)
				}
			}
		}
	}
}
