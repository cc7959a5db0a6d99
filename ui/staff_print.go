package ui

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/boombuler/barcode/code128"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// Print views for A4 from the browser (UX rule 19, §5.2): plain server-rendered tables styled by
// static/print.css (named page "madoguchi-a4": A4 portrait, margins, repeated table headers,
// rows not split, a page per location). The page title and the time of printing go into the page
// margin boxes through a small stylesheet of their own (/admin/print/page.css), because the CSP
// forbids inline styles; "n / N" comes from print.css.

// PrintPage is the common data of the print views.
type PrintPage struct {
	BasePage
	Self      string // this page's address with its query, for the language switch
	Heading   string // the document title, also in the top-left margin box
	PrintedAt string // 出力日時, JST
	MarginCSS string // URL of the margin-box stylesheet
	Date      string // the date field as typed
	Day       booking.Date
	Location  string // the location field
	Locations []booking.Location
	LocName   string // the chosen location's name ("" for all)
}

// PrintDayPage is the data of staff/print_day.html.
type PrintDayPage struct {
	PrintPage
	Groups []booking.DayListLocation
}

// PickRow is one card of the pick list with its barcode.
type PickRow struct {
	booking.PickItem
	Barcode template.URL
	Width   int
	Height  int
}

// PrintPickListPage is the data of staff/print_picklist.html.
type PrintPickListPage struct {
	PrintPage
	Rows []PickRow
}

// PrintSummaryPage is the data of staff/print_summary.html.
type PrintSummaryPage struct {
	PrintPage
	From, To     string
	Summary      *booking.StatusSummary
	CardStatuses []booking.CardStatus
	Statuses     []booking.ReservationStatus
}

// printPage reads the date (default today) and the optional location of a print view; bad
// input sets p.Errors.
func (u *UI) printPage(c *fiber.Ctx, titleKey string) (*PrintPage, error) {
	t := web.TenantOf(c)
	p := &PrintPage{BasePage: u.base(c), Self: selfURL(c), Date: strings.Clone(c.Query("date")), Location: strings.Clone(c.Query("location")),
		PrintedAt: u.now().In(booking.JST).Format("2006-01-02 15:04")}
	locs, err := u.deps.Booking.Locations(c.UserContext(), t.ID, false)
	if err != nil {
		return nil, err
	}
	p.Locations = locs
	fields := map[string]string{}
	if p.Date == "" {
		p.Day = booking.DateOf(u.now())
		p.Date = p.Day.String()
	} else if d, ok := parseDay(p.Date); ok && d != (booking.Date{}) {
		p.Day = d
	} else {
		fields["date"] = "staff.bookings.filter.date_invalid"
	}
	if p.Location != "" {
		id, err := uuid.Parse(p.Location)
		for _, l := range locs {
			if err == nil && l.ID == id {
				p.LocName = l.Name
			}
		}
		if p.LocName == "" {
			fields["location"] = "staff.bookings.filter.location_invalid"
		}
	}
	if len(fields) > 0 {
		p.Errors = fields
		return p, nil
	}
	p.Heading = u.locales.T(p.Lang, titleKey, nil) + " " + booking.FormatDate(p.Lang, p.Day)
	if p.LocName != "" {
		p.Heading += " " + p.LocName
	}
	p.MarginCSS = marginCSSURL(p.Heading)
	return p, nil
}

func marginCSSURL(title string) string {
	return "/admin/print/page.css?" + url.Values{"title": {title}}.Encode()
}

func (p *PrintPage) locationID() uuid.UUID {
	id, _ := uuid.Parse(p.Location)
	if p.LocName == "" {
		return uuid.Nil
	}
	return id
}

// staffPrintDay is the day's reservation list (交付予約者一覧), a page per location, by time.
func (u *UI) staffPrintDay(c *fiber.Ctx) error {
	pp, err := u.printPage(c, "staff.print.day.title")
	if err != nil {
		return err
	}
	p := &PrintDayPage{PrintPage: *pp}
	if len(p.Errors) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
		return u.render(c, "staff/print_day", p)
	}
	if p.Groups, err = u.deps.Booking.DayList(c.UserContext(), web.TenantOf(c), p.Day, p.locationID(), staffActorOf(c)); err != nil {
		return err
	}
	return u.render(c, "staff/print_day", p)
}

// staffPrintPickList is the pick list (引抜きリスト): every card of the day's booked reservations
// by storage position, with a Code 128 barcode of its number (check-in accepts card numbers) and
// a box to tick by hand.
func (u *UI) staffPrintPickList(c *fiber.Ctx) error {
	pp, err := u.printPage(c, "staff.print.picklist.title")
	if err != nil {
		return err
	}
	p := &PrintPickListPage{PrintPage: *pp}
	if len(p.Errors) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
		return u.render(c, "staff/print_picklist", p)
	}
	items, err := u.deps.Booking.PickList(c.UserContext(), web.TenantOf(c), p.Day, p.locationID(), staffActorOf(c))
	if err != nil {
		return err
	}
	for _, it := range items {
		src, w, h, err := barcodePNG(it.CardNo)
		if err != nil {
			return err
		}
		p.Rows = append(p.Rows, PickRow{PickItem: it, Barcode: src, Width: w, Height: h})
	}
	return u.render(c, "staff/print_picklist", p)
}

// staffPrintSummary counts cards by status (now) and reservations by location and status for a
// range of days (default: the current month).
func (u *UI) staffPrintSummary(c *fiber.Ctx) error {
	now := booking.DateOf(u.now())
	p := &PrintSummaryPage{PrintPage: PrintPage{BasePage: u.base(c), Self: selfURL(c), PrintedAt: u.now().In(booking.JST).Format("2006-01-02 15:04")},
		From: strings.Clone(c.Query("from")), To: strings.Clone(c.Query("to")),
		CardStatuses: booking.CardStatuses, Statuses: booking.ReservationStatuses}
	first := booking.Date{Year: now.Year, Month: now.Month, Day: 1}
	if p.From == "" {
		p.From = first.String()
	}
	if p.To == "" {
		p.To = booking.DateOf(first.Time(12, 0).AddDate(0, 1, -1)).String()
	}
	from, okF := parseDay(p.From)
	to, okT := parseDay(p.To)
	fields := map[string]string{}
	if !okF {
		fields["from"] = "staff.bookings.filter.date_invalid"
	}
	if !okT {
		fields["to"] = "staff.bookings.filter.date_invalid"
	}
	var err error
	if len(fields) == 0 {
		p.Summary, err = u.deps.Booking.Summary(c.UserContext(), web.TenantOf(c), from, to)
		if e := tenant.AsError(err); e != nil && e.Code == tenant.Invalid {
			fields = e.Fields
		} else if err != nil {
			return err
		}
	}
	if len(fields) > 0 {
		p.Errors = fields
		c.Status(fiber.StatusUnprocessableEntity)
		return u.render(c, "staff/print_summary", p)
	}
	p.Heading = u.locales.T(p.Lang, "staff.print.summary.title", nil) + " " +
		booking.FormatDate(p.Lang, from) + "～" + booking.FormatDate(p.Lang, to)
	p.MarginCSS = marginCSSURL(p.Heading)
	return u.render(c, "staff/print_summary", p)
}

// staffPrintPageCSS returns the margin boxes of the named print page: the title (top left), the
// time of printing (top right). The values are escaped as CSS strings.
func (u *UI) staffPrintPageCSS(c *fiber.Ctx) error {
	title := c.Query("title")
	if utf8.RuneCountInString(title) > 200 {
		title = string([]rune(title)[:200])
	}
	at := u.locales.T(web.LangOf(c), "staff.print.printed_at", map[string]any{"at": u.now().In(booking.JST).Format("2006-01-02 15:04")})
	c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
	return c.SendString(fmt.Sprintf("@page madoguchi-a4 {\n  @top-left { content: %s; }\n  @top-right { content: %s; }\n}\n",
		cssString(title), cssString(at)))
}

// cssString quotes s as a CSS string: quotes, backslashes, angle brackets, ampersands and
// control characters become hexadecimal escapes, so nothing can end the string or the rule.
func cssString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`"'\<>&{};`, r) {
			fmt.Fprintf(&b, "\\%06x ", r) // the space ends the escape and is consumed by it
			continue
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// barcodePNG draws s as Code 128 (2 px per module, 10-module quiet zones, 48 px high) and returns
// it as a data: URL with its size in CSS pixels.
func barcodePNG(s string) (template.URL, int, int, error) {
	bc, err := code128.Encode(s)
	if err != nil {
		return "", 0, 0, err
	}
	const module, quiet, height = 2, 10, 48
	modules := bc.Bounds().Dx()
	w := (modules + 2*quiet) * module
	img := image.NewPaletted(image.Rect(0, 0, w, height), color.Palette{color.White, color.Black})
	for x := 0; x < modules; x++ {
		if r, _, _, _ := bc.At(bc.Bounds().Min.X+x, bc.Bounds().Min.Y).RGBA(); r == 0 {
			for dx := 0; dx < module; dx++ {
				for y := 0; y < height; y++ {
					img.SetColorIndex((quiet+x)*module+dx, y, 1)
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", 0, 0, err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())), w, height, nil
}
