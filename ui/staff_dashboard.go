package ui

import (
	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/ui/web"
)

// DashboardPage is the data of staff/dashboard.html: today's and tomorrow's bookings.
type DashboardPage struct {
	BasePage
	StaffLogin string
	Days       []DashboardDay
}

// DashboardDay is one day of the dashboard.
type DashboardDay struct {
	Day                       booking.Date
	Slots                     []booking.SlotSummary
	Capacity, Booked, Visited int
}

// FillPercent is the day's booked share of its capacity.
func (d DashboardDay) FillPercent() int {
	if d.Capacity == 0 {
		return 0
	}
	return d.Booked * 100 / d.Capacity
}

func (u *UI) staffDashboard(c *fiber.Ctx) error {
	s := staffOf(c)
	p := &DashboardPage{BasePage: u.base(c), StaffLogin: s.StaffLogin}
	if err := u.staffTakeFlash(c, &p.BasePage); err != nil {
		return err
	}
	today := booking.DateOf(u.now())
	for _, d := range []booking.Date{today, today.AddDays(1)} {
		slots, err := u.deps.Booking.DaySummary(c.UserContext(), web.TenantOf(c), d)
		if err != nil {
			return err
		}
		dd := DashboardDay{Day: d, Slots: slots}
		for _, sl := range slots {
			dd.Capacity += sl.Capacity
			dd.Booked += sl.Booked
			dd.Visited += sl.Visited
		}
		p.Days = append(p.Days, dd)
	}
	return u.render(c, "staff/dashboard", p)
}
