package ui

// Bar charts drawn as SVG by the server (no script, nothing from outside; the page scales the SVG
// to its width): a row per place, each with its bars over a shared axis of column labels. The
// dashboard's fill rate and the monthly report use it, each with the same figures in a table for
// screen readers. The partial "bar-chart" (templates/partials/chart.html) draws a BarChart.

// Geometry, in SVG user units.
const (
	chartBarW   = 34
	chartRowH   = 96 // one row: its name, then its bars
	chartBarTop = 22 // from the row's top to the full-scale line
	chartBarMax = 56 // bar height at full scale
	chartAxisH  = 22 // the column labels under the last row
)

// BarChart is a laid-out chart.
type BarChart struct {
	ID, Title string // the svg's id and its accessible title
	HintID    string // id of the text that explains the chart (aria-describedby)
	Width     int
	Height    int
	Rows      []ChartRow
	Axis      []ChartTick
}

// ChartRow is one row of bars (a place).
type ChartRow struct {
	Name        string
	NameY, Base int // baselines of the name and of the bars
	Top         int // the full-scale line
	Bars        []ChartBar
}

// ChartBar is one bar with its label above it.
type ChartBar struct {
	X, Y, W, H int
	LabelY     int
	Label      string
	None       bool // nothing to draw (e.g. a closed day): the label alone, greyed
	Alert      bool // drawn in the alert colour
}

// ChartTick is a column label on the axis.
type ChartTick struct {
	X     int
	Label string
	Alert bool
}

// ChartValue is one bar's figure: V on a scale of Max, shown as Label.
type ChartValue struct {
	V, Max int
	Label  string
	None   bool
	Alert  bool
}

// layoutBarChart lays out a chart of len(names) rows and len(cols) columns of width colW;
// values[i][j] is row i's bar in column j. A non-zero figure is never invisible.
func layoutBarChart(id, title, hintID string, colW int, names []string, cols []ChartTick, values [][]ChartValue) *BarChart {
	ch := &BarChart{ID: id, Title: title, HintID: hintID, Width: len(cols) * colW, Height: len(names)*chartRowH + chartAxisH}
	barW := min(chartBarW, colW-8)
	for i, name := range names {
		top := i * chartRowH
		row := ChartRow{Name: name, NameY: top + 15, Top: top + chartBarTop, Base: top + chartBarTop + chartBarMax}
		for j, v := range values[i] {
			h := 0
			if v.Max > 0 {
				h = min(v.V, v.Max) * chartBarMax / v.Max
			}
			if v.V > 0 && h < 2 {
				h = 2
			}
			row.Bars = append(row.Bars, ChartBar{X: j*colW + (colW-barW)/2, Y: row.Base - h, W: barW, H: h,
				LabelY: row.Base - h - 3, Label: v.Label, None: v.None, Alert: v.Alert})
		}
		ch.Rows = append(ch.Rows, row)
	}
	for j, c := range cols {
		c.X = j*colW + colW/2
		ch.Axis = append(ch.Axis, c)
	}
	return ch
}
