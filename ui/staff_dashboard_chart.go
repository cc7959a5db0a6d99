package ui

import (
	"context"
	"fmt"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// The dashboard's chart: the fill rate of each active place for the next 14 days, drawn as an SVG
// by the server (no script, nothing from outside), with the same figures in a table for screen
// readers.

// fillChartDays is how many days the chart shows, today first.
const fillChartDays = 14

// Geometry of the chart, in SVG user units (the SVG scales to the page's width).
const (
	fillColW   = 50 // one day
	fillBarW   = 34
	fillRowH   = 96 // one place: its name, then its bars
	fillBarTop = 22 // from the row's top to the 100 % line
	fillBarMax = 56 // bar height at 100 %
	fillAxisH  = 22 // the day labels under the last row
)

// FillChart is the data of the chart.
type FillChart struct {
	Width, Height int
	Places        []FillChartPlace
	Days          []FillChartDay
	Source        []booking.PlaceFill // the figures, for the table
}

// FillChartPlace is one place's row of bars.
type FillChartPlace struct {
	Name        string
	NameY, Base int // baseline of the name and of the bars
	Top         int // the 100 % line
	Bars        []FillBar
}

// FillBar is one day's bar.
type FillBar struct {
	X, Y, W, H int
	Percent    int
	Closed     bool // no capacity that day
	Full       bool // 90 % or more
	LabelY     int
}

// FillChartDay is a day label on the axis.
type FillChartDay struct {
	X       int
	Label   string
	Weekend bool
}

// fillChart reads the figures and lays the chart out; nil when the city has no active place.
func (u *UI) fillChart(ctx context.Context, t *tenant.Tenant, today booking.Date) (*FillChart, error) {
	places, err := u.deps.Booking.FillRates(ctx, t, today, fillChartDays)
	if err != nil || len(places) == 0 {
		return nil, err
	}
	ch := &FillChart{Width: fillChartDays * fillColW, Height: len(places)*fillRowH + fillAxisH, Source: places}
	for i, p := range places {
		top := i * fillRowH
		row := FillChartPlace{Name: p.Name, NameY: top + 15, Top: top + fillBarTop, Base: top + fillBarTop + fillBarMax}
		for j, d := range p.Days {
			pct := min(d.Percent(), 100)
			h := pct * fillBarMax / 100
			if d.Capacity > 0 && d.Booked > 0 && h < 2 {
				h = 2 // a booking is never invisible
			}
			row.Bars = append(row.Bars, FillBar{X: j*fillColW + (fillColW-fillBarW)/2, Y: row.Base - h, W: fillBarW, H: h,
				Percent: d.Percent(), Closed: d.Capacity == 0, Full: d.Percent() >= 90, LabelY: row.Base - h - 3})
		}
		ch.Places = append(ch.Places, row)
	}
	for j := range fillChartDays {
		d := today.AddDays(j)
		wd := d.Weekday()
		ch.Days = append(ch.Days, FillChartDay{X: j*fillColW + fillColW/2, Label: fmt.Sprintf("%d/%d", d.Month, d.Day),
			Weekend: wd == 0 || wd == 6 || !booking.IsOpeningDay(d)})
	}
	return ch, nil
}
