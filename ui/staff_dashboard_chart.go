package ui

import (
	"context"
	"fmt"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// The dashboard's chart: the fill rate of each active place for the next 14 days (a bar chart,
// chart.go), with the same figures in a table for screen readers.

// fillChartDays is how many days the chart shows, today first.
const fillChartDays = 14

// fillColW is the width of one day's column.
const fillColW = 50

// FillChart is the chart and its figures (for the table).
type FillChart struct {
	*BarChart
	Source []booking.PlaceFill
}

// fillChart reads the figures and lays the chart out; nil when the city has no active place.
func (u *UI) fillChart(ctx context.Context, t *tenant.Tenant, today booking.Date, title string) (*FillChart, error) {
	places, err := u.deps.Booking.FillRates(ctx, t, today, fillChartDays)
	if err != nil || len(places) == 0 {
		return nil, err
	}
	names := make([]string, len(places))
	values := make([][]ChartValue, len(places))
	for i, p := range places {
		names[i] = p.Name
		for _, d := range p.Days {
			v := ChartValue{V: d.Percent(), Max: 100, Label: fmt.Sprintf("%d%%", d.Percent()), Alert: d.Percent() >= 90}
			if d.Capacity == 0 {
				v = ChartValue{None: true, Label: "－"} // closed that day
			} else if d.Booked > 0 && v.V == 0 {
				v.V = 1 // a booking is never invisible
			}
			values[i] = append(values[i], v)
		}
	}
	var cols []ChartTick
	for j := range fillChartDays {
		d := today.AddDays(j)
		wd := d.Weekday()
		cols = append(cols, ChartTick{Label: fmt.Sprintf("%d/%d", d.Month, d.Day), Alert: wd == 0 || wd == 6 || !booking.IsOpeningDay(d)})
	}
	return &FillChart{BarChart: layoutBarChart("fill-chart", title, "fill-hint", fillColW, names, cols, values), Source: places}, nil
}
