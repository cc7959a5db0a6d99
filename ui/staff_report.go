package ui

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// The monthly report (実績報告) for every staff member and admin, as the other lists and exports:
// a month picker, the figures per place as a table and a bar chart, the month's uptime and the
// incidents and maintenance that concerned the city (booking.MonthlyReport); the same figures as
// a CSV file (audit-logged) and as an A4 print view with the chart.

// reportColW is the width of one column of the report's chart.
const reportColW = 110

// StaffReportPage is the data of staff/report.html and staff/report_print.html.
type StaffReportPage struct {
	PrintPage
	Month      string // the month field as typed (YYYY-MM)
	Report     *booking.MonthReport
	Chart      *BarChart
	Prev, Next string // the neighbouring months ("" for a month not yet begun)
	Shown      string // the shown month, YYYY-MM ("" when refused)
	Action     string // the month form's target: the screen or the print view
	Message    string // why the CSV was refused (a bad encoding)
}

// reportPage reads the month (default: this month) and the report; bad input sets p.Errors.
func (u *UI) reportPage(c *fiber.Ctx, action string) (*StaffReportPage, error) {
	p := &StaffReportPage{Action: action, PrintPage: PrintPage{BasePage: u.base(c), Self: selfURL(c),
		PrintedAt: u.now().In(booking.JST).Format("2006-01-02 15:04")}, Month: strings.Clone(c.Query("month"))}
	if p.Month == "" {
		p.Month = booking.MonthOf(u.now()).String()
	}
	m, err := booking.ParseMonth(p.Month)
	if err == nil {
		p.Report, err = u.deps.Booking.MonthlyReport(c.UserContext(), web.TenantOf(c), m)
	}
	if e := tenant.AsError(err); e != nil && e.Code == tenant.Invalid {
		p.Errors, p.Report = e.Fields, nil
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	p.Shown = m.String()
	p.Prev = m.Prev().String()
	if !m.Next().Start().After(u.now()) {
		p.Next = m.Next().String()
	}
	p.Heading = u.locales.T(p.Lang, "staff.report.heading", map[string]any{"year": strconv.Itoa(m.Year), "month": strconv.Itoa(int(m.Month))})
	p.MarginCSS = marginCSSURL(p.Heading)
	p.Chart = u.reportChart(p.Lang, p.Report)
	return p, nil
}

// reportChart draws, per place, the month's bookings, visits, no-shows, cancellations and cards
// issued, all on one scale; nil without places.
func (u *UI) reportChart(lang string, r *booking.MonthReport) *BarChart {
	if len(r.Places) == 0 {
		return nil
	}
	keys := []string{"staff.report.col.bookings", "staff.report.col.visited", "staff.report.col.noshow", "staff.report.col.cancelled", "staff.report.col.issued"}
	var cols []ChartTick
	for _, k := range keys {
		cols = append(cols, ChartTick{Label: u.locales.T(lang, k, nil)})
	}
	top := 1
	for _, p := range r.Places {
		top = max(top, p.Bookings(), p.Visited, p.NoShow, p.Cancelled, p.Issued)
	}
	var names []string
	var values [][]ChartValue
	for _, p := range r.Places {
		name := p.Name
		if name == "" {
			name = u.locales.T(lang, "staff.report.noplace", nil)
		}
		names = append(names, name)
		row := []ChartValue{}
		for j, v := range []int{p.Bookings(), p.Visited, p.NoShow, p.Cancelled, p.Issued} {
			row = append(row, ChartValue{V: v, Max: top, Label: strconv.Itoa(v), Alert: j == 2})
		}
		values = append(values, row)
	}
	return layoutBarChart("report-chart", u.locales.T(lang, "staff.report.chart.title", nil), "report-chart-hint", reportColW, names, cols, values)
}

// staffReport is the report's screen.
func (u *UI) staffReport(c *fiber.Ctx) error {
	p, err := u.reportPage(c, "/admin/reports")
	if err != nil {
		return err
	}
	if p.Errors != nil {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return u.render(c, "staff/report", p)
}

// staffReportPrint is the report on A4, with the chart.
func (u *UI) staffReportPrint(c *fiber.Ctx) error {
	p, err := u.reportPage(c, "/admin/reports/print")
	if err != nil {
		return err
	}
	if p.Errors != nil {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return u.render(c, "staff/report_print", p)
}

// staffReportCSV streams the report as CSV (booking.ExportMonthlyReport, audit-logged). A refused
// month or encoding is the screen again with why (422), before any byte of the file.
func (u *UI) staffReportCSV(c *fiber.Ctx) error {
	enc := booking.Encoding(strings.Clone(c.Query("encoding", string(booking.EncodingUTF8))))
	m, err := booking.ParseMonth(strings.Clone(c.Query("month")))
	if err == nil && m.Start().After(u.now()) {
		err = &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{"month": "report.month.future"}}
	}
	if err != nil || (enc != booking.EncodingUTF8 && enc != booking.EncodingSJIS) {
		p, perr := u.reportPage(c, "/admin/reports")
		if perr != nil {
			return perr
		}
		if p.Errors == nil {
			if e := tenant.AsError(err); e != nil {
				p.Errors, p.Report, p.Chart = e.Fields, nil, nil
			} else {
				p.Message = u.locales.T(p.Lang, "staff.export.encoding_invalid", nil)
			}
		}
		c.Status(fiber.StatusUnprocessableEntity)
		return u.render(c, "staff/report", p)
	}
	t := web.TenantOf(c)
	charset := "utf-8"
	if enc == booking.EncodingSJIS {
		charset = "Shift_JIS"
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset="+charset+"; header=present")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="report_%s_%s.csv"`, m, enc))
	svc, v, log, reqID, slug := u.deps.Booking, staffActorOf(c), u.log, web.RequestIDOf(c), strings.Clone(t.Slug)
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
		defer cancel()
		res, err := svc.ExportMonthlyReport(ctx, t, m, enc, w, v)
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			log.Error("report csv export failed", "request_id", reqID, "tenant", slug, "err", err)
			return
		}
		log.Info("report csv export", "request_id", reqID, "tenant", slug, "rows", res.Rows, "bytes", res.Bytes)
	})
	return nil
}
