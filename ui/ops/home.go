package ops

import (
	"sort"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
)

// fleetChartDays is how many days the fleet's bookings chart shows.
const fleetChartDays = 30

// HomePage is the data of home.html: the links to the console's pages and the fleet at a glance —
// per city today's bookings and visits, the fill of the coming 14 days, refused bookings, mail
// backlog and failures, imports running and login locks of the last hour (counts only, from the
// figures the worker's fleet job writes every five minutes), and the fleet's bookings per day.
type HomePage struct {
	Page
	Cities        []booking.CityFigures
	Sort          string             // the column the table is sorted by (fleetSorts)
	Sorts         []fleetColumn      // every sortable column, in the table's order
	Totals        booking.DayFigures // today's sums over the cities listed
	bookingsChart                    // the fleet's bookings per day
}

// fleetSorts orders the cities by one figure, the largest first (name: in the order of the slug).
var fleetSorts = map[string]func(a, b *booking.CityFigures) bool{
	"name":     func(a, b *booking.CityFigures) bool { return a.Slug < b.Slug },
	"bookings": func(a, b *booking.CityFigures) bool { return a.Bookings > b.Bookings },
	"visits":   func(a, b *booking.CityFigures) bool { return a.Visits > b.Visits },
	"fill":     func(a, b *booking.CityFigures) bool { return a.FillRate() > b.FillRate() },
	"errors":   func(a, b *booking.CityFigures) bool { return a.BookingErrors > b.BookingErrors },
	"mail":     func(a, b *booking.CityFigures) bool { return a.MailBacklog+a.MailFailed > b.MailBacklog+b.MailFailed },
	"imports":  func(a, b *booking.CityFigures) bool { return a.ImportsRunning > b.ImportsRunning },
	"locks":    func(a, b *booking.CityFigures) bool { return a.LoginLocks1h > b.LoginLocks1h },
}

// fleetColumn is a sortable column of the table: its sort name and its heading's message key.
type fleetColumn struct{ ID, Key string }

var fleetSortOrder = []fleetColumn{{"name", "ops.fleet.name"}, {"bookings", "ops.fleet.bookings"}, {"visits", "ops.fleet.visits"},
	{"fill", "ops.fleet.fill"}, {"errors", "ops.fleet.errors"}, {"mail", "ops.fleet.mail"}, {"imports", "ops.fleet.imports"},
	{"locks", "ops.fleet.locks"}}

func (u *UI) home(c *fiber.Ctx) error {
	p := &HomePage{Page: u.Page(c), Sort: c.Query("sort", "bookings"), Sorts: fleetSortOrder}
	if err := u.TakeFlash(c, &p.Page); err != nil {
		return err
	}
	less, ok := fleetSorts[p.Sort]
	if !ok {
		p.Sort, less = "bookings", fleetSorts["bookings"]
	}
	var err error
	if p.Cities, err = u.deps.Fleet.FleetOverview(c.UserContext()); err != nil {
		return err
	}
	sort.SliceStable(p.Cities, func(i, j int) bool { return less(&p.Cities[i], &p.Cities[j]) })
	for _, f := range p.Cities {
		p.Totals.Bookings += f.Bookings
		p.Totals.Visits += f.Visits
		p.Totals.BookingErrors += f.BookingErrors
		p.Totals.MailFailed += f.MailFailed
	}
	if p.bookingsChart, err = u.bookingsChart(c, nil, ""); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return u.Render(c, "home", p)
}

// bookingsChart is the data of the "bookings-chart" partial: the days and their chart, for the
// fleet or for one city (ChartCity names it).
type bookingsChart struct {
	Days      []booking.DayFigures
	Chart     fleetChart
	ChartCity string
}

// bookingsChart reads the bookings per day of the last fleetChartDays days, of the fleet (city
// nil) or of one city.
func (u *UI) bookingsChart(c *fiber.Ctx, city *uuid.UUID, name string) (bookingsChart, error) {
	days, err := u.deps.Fleet.FleetDaily(c.UserContext(), fleetChartDays, city)
	if err != nil {
		return bookingsChart{}, err
	}
	return bookingsChart{Days: days, Chart: newFleetChart(days), ChartCity: name}, nil
}

// fleetChart is the fleet's bookings per day as an SVG bar chart drawn on the server (no script,
// no third-party asset); the same figures are in the table under it for screen readers.
type fleetChart struct {
	Width, Height int
	Bars          []fleetBar
	Max           int
	Ticks         []fleetTick
}

type fleetBar struct {
	X, Y, W, H int
	Day        booking.Date
	Bookings   int
	Label      bool // the day is labelled under the axis (every seventh, and the last)
}

type fleetTick struct {
	Y     int
	Value int
}

const (
	chartTop, chartBottom, chartLeft = 10, 30, 48
	chartBarWidth, chartGap          = 14, 4
	chartPlot                        = 160
)

// newFleetChart lays the bars out: height proportional to the day's bookings against a rounded
// maximum, with three gridlines.
func newFleetChart(days []booking.DayFigures) fleetChart {
	max := 0
	for _, d := range days {
		max = maxInt(max, d.Bookings)
	}
	top := niceCeil(max)
	ch := fleetChart{Width: chartLeft + len(days)*(chartBarWidth+chartGap) + chartGap, Height: chartTop + chartPlot + chartBottom, Max: top}
	for i, d := range days {
		h := d.Bookings * chartPlot / top
		ch.Bars = append(ch.Bars, fleetBar{
			X: chartLeft + chartGap + i*(chartBarWidth+chartGap), Y: chartTop + chartPlot - h, W: chartBarWidth, H: h,
			Day: d.Day, Bookings: d.Bookings, Label: (len(days)-1-i)%7 == 0,
		})
	}
	for _, v := range []int{0, top / 2, top} {
		ch.Ticks = append(ch.Ticks, fleetTick{Y: chartTop + chartPlot - v*chartPlot/top, Value: v})
	}
	return ch
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten (at least 10), so the axis reads well.
func niceCeil(n int) int {
	for p := 10; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if v := m * p; v >= n {
				return v
			}
		}
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
