package ui

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/ui/web"
)

// The citizen's guide to booking (市民向けの予約案内): one A4 sheet or two the city prints to post
// at its counters or hand out with the 交付通知書. It is filled from the city's own settings and
// places — the booking site's address with its QR code, the places with their addresses and
// weekly hours, the change/cancel deadline as the city counts it, the phone number — and names
// the buttons with the citizen screens' own words (the same locale keys), so the guide and the
// screens cannot drift apart. It is in Japanese only, like the manuals.

// GuidePage is the data of help/guide.html.
type GuidePage struct {
	HelpPage
	QR     template.HTML // the booking site's address as an inline SVG QR code
	Places []GuidePlace
	// MarginCSS stays empty: a notice for citizens carries no title or time of printing in its
	// margins (the print views' margin boxes are for staff's lists).
	MarginCSS string
}

// GuidePlace is a place as the guide prints it.
type GuidePlace struct {
	Name, Address string
	Hours         []GuideHours // empty: the place opens on announced days only
}

// GuideHours is a line of opening hours: "月～金曜日" and "8:30～17:00、17:15～19:00".
type GuideHours struct{ Days, Times string }

// helpGuide is the printable guide for citizens.
func (u *UI) helpGuide(c *fiber.Ctx) error {
	places, err := u.deps.Booking.PlaceHours(c.UserContext(), web.TenantOf(c))
	if err != nil {
		return err
	}
	p := &GuidePage{HelpPage: *u.helpPage(c)}
	if p.QR, err = qrSVG(p.SiteURL, "qr-title", "予約サイトのアドレスのQRコード"); err != nil {
		return err
	}
	for _, pl := range places {
		g := GuidePlace{Name: pl.Name, Address: pl.Address}
		for _, h := range pl.Hours {
			g.Hours = append(g.Hours, GuideHours{Days: weekdaysJA(h.Weekdays), Times: spansJA(h.Spans)})
		}
		p.Places = append(p.Places, g)
	}
	return u.render(c, "help/guide", p)
}

// weekdaysJA writes weekdays (Monday first) as a citizen reads them: runs of three or more
// days with "～", the rest with "・", e.g. "月～金曜日", "月・水・金曜日", "月～水・土曜日".
func weekdaysJA(wds []time.Weekday) string {
	// Monday = 0 … Sunday = 6, so that a run may cross from Saturday into Sunday.
	idx := func(wd time.Weekday) int { return (int(wd) + 6) % 7 }
	var parts []string
	for i := 0; i < len(wds); {
		j := i
		for j+1 < len(wds) && idx(wds[j+1]) == idx(wds[j])+1 {
			j++
		}
		switch {
		case j-i >= 2:
			parts = append(parts, booking.WeekdayJA(wds[i])+"～"+booking.WeekdayJA(wds[j]))
		default:
			for k := i; k <= j; k++ {
				parts = append(parts, booking.WeekdayJA(wds[k]))
			}
		}
		i = j + 1
	}
	return strings.Join(parts, "・") + "曜日"
}

// spansJA writes opening spans as "8:30～17:00、17:15～19:00".
func spansJA(spans []booking.Span) string {
	clock := func(t booking.ClockTime) string { return fmt.Sprintf("%d:%02d", int(t)/60, int(t)%60) }
	parts := make([]string, len(spans))
	for i, s := range spans {
		parts[i] = clock(s.Start) + "～" + clock(s.End)
	}
	return strings.Join(parts, "、")
}

// qrSVG draws s as a QR code (error correction M, the standard four-module quiet zone) in SVG:
// one path of a rectangle per run of dark modules on a white square, scaled by CSS, sharp at any print resolution. The
// picture is labelled by a <title> with id titleID holding label (plain text, escaped here).
func qrSVG(s, titleID, label string) (template.HTML, error) {
	q, err := qrcode.New(s, qrcode.Medium)
	if err != nil {
		return "", err
	}
	bits := q.Bitmap() // with the quiet zone
	n := len(bits)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-labelledby="%s" shape-rendering="crispEdges">`,
		n, n, template.HTMLEscapeString(titleID))
	fmt.Fprintf(&b, `<title id="%s">%s</title><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`,
		template.HTMLEscapeString(titleID), template.HTMLEscapeString(label), n, n)
	for y, row := range bits {
		for x := 0; x < len(row); x++ {
			if !row[x] {
				continue
			}
			w := 1 // a run of dark modules is one rectangle
			for x+w < len(row) && row[x+w] {
				w++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x, y, w, w)
			x += w
		}
	}
	b.WriteString(`"/></svg>`)
	return template.HTML(b.String()), nil // only numbers and escaped text
}
