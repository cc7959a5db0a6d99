package ui

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// DashboardPage is the data of staff/dashboard.html: today's and tomorrow's bookings.
type DashboardPage struct {
	BasePage
	StaffLogin string
	Days       []DashboardDay
	LiveURL    string     // the days' live stream (data-live); "" when the screens are not live
	Chart      *FillChart // the next 14 days' fill rate per place; nil without places
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
	var err error
	if p.Days, err = u.dashboardDays(c.UserContext(), web.TenantOf(c), booking.DateOf(u.now())); err != nil {
		return err
	}
	if p.Chart, err = u.fillChart(c.UserContext(), web.TenantOf(c), booking.DateOf(u.now()), u.locales.T(p.Lang, "staff.dashboard.fill.title", nil)); err != nil {
		return err
	}
	if u.liveDashboard != nil {
		p.LiveURL = "/admin/live/dashboard"
	}
	return u.render(c, "staff/dashboard", p)
}

// dashboardDays reads today's and tomorrow's slots with their bookings (the page and its live
// fragment).
func (u *UI) dashboardDays(ctx context.Context, t *tenant.Tenant, today booking.Date) ([]DashboardDay, error) {
	var days []DashboardDay
	for _, d := range []booking.Date{today, today.AddDays(1)} {
		slots, err := u.deps.Booking.DaySummary(ctx, t, d)
		if err != nil {
			return nil, err
		}
		dd := DashboardDay{Day: d, Slots: slots}
		for _, sl := range slots {
			dd.Capacity += sl.Capacity
			dd.Booked += sl.Booked
			dd.Visited += sl.Visited
		}
		days = append(days, dd)
	}
	return days, nil
}
