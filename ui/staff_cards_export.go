package ui

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// The card list as a whole, with the screen's filter (number and status): a CSV file and an A4
// print view, e.g. every card whose notice was sent and that has no booking yet (「通知書送付済」),
// for a reminder postcard.

// StaffCardsPrintPage is the data of staff/cards_print.html.
type StaffCardsPrintPage struct {
	PrintPage
	Query, Status string
	Statuses      []booking.CardStatus
	Print         *booking.CardPrint // nil when the filter was refused
	Max           int
	CSVURL        string
}

// cardFilterOf reads the screen's filter (q, status) from the query string.
func cardFilterOf(c *fiber.Ctx) booking.CardFilter {
	return booking.CardFilter{No: strings.Clone(c.Query("q")), Status: booking.CardStatus(strings.Clone(c.Query("status")))}
}

// cardsExportURL is the CSV of the list with filter f in encoding enc.
func cardsExportURL(f booking.CardFilter, enc booking.Encoding) string {
	v := url.Values{"encoding": {string(enc)}}
	if f.No != "" {
		v.Set("q", f.No)
	}
	if f.Status != "" {
		v.Set("status", string(f.Status))
	}
	return "/admin/cards.csv?" + v.Encode()
}

// staffCardsCSV streams the filtered card list as CSV (booking.ExportCards). A refused filter is
// the list page again with its field errors (422); the file itself is written after the handler
// returns, from a transaction the stream writer opens, touching nothing of the request.
func (u *UI) staffCardsCSV(c *fiber.Ctx) error {
	f := cardFilterOf(c)
	enc := booking.Encoding(strings.Clone(c.Query("encoding", string(booking.EncodingUTF8))))
	if enc != booking.EncodingUTF8 && enc != booking.EncodingSJIS {
		enc = ""
	}
	// A refused filter or encoding shows the list with why, before any byte of the file.
	if err := f.Validate(); err != nil || enc == "" {
		if e := tenant.AsError(err); err != nil && (e == nil || e.Code != tenant.Invalid) {
			return err
		}
		p, err := u.cardsPage(c, f.No, string(f.Status), 1)
		if err != nil {
			return err
		}
		if enc == "" {
			p.Message = u.locales.T(p.Lang, "staff.export.encoding_invalid", nil)
		}
		c.Status(fiber.StatusUnprocessableEntity)
		return u.render(c, "staff/cards", p)
	}
	t := web.TenantOf(c)
	name := "cards_" + string(enc) + ".csv"
	if f.Status != "" {
		name = "cards_" + string(f.Status) + "_" + string(enc) + ".csv"
	}
	charset := "utf-8"
	if enc == booking.EncodingSJIS {
		charset = "Shift_JIS"
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset="+charset+"; header=present")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s"`, name))
	svc, v, log, reqID, slug := u.deps.Booking, staffActorOf(c), u.log, web.RequestIDOf(c), strings.Clone(t.Slug)
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
		defer cancel()
		res, err := svc.ExportCards(ctx, t, f, enc, w, w.Flush, v)
		if err != nil {
			log.Error("card csv export failed", "request_id", reqID, "tenant", slug, "err", err)
			return
		}
		log.Info("card csv export", "request_id", reqID, "tenant", slug, "rows", res.Rows, "replaced", res.Replaced, "bytes", res.Bytes)
	})
	return nil
}

// staffCardsPrint is the A4 print view of the filtered card list (at most booking.MaxPrintCards
// cards; the page says when more match and links the CSV).
func (u *UI) staffCardsPrint(c *fiber.Ctx) error {
	f := cardFilterOf(c)
	p := &StaffCardsPrintPage{PrintPage: PrintPage{BasePage: u.base(c), Self: selfURL(c),
		PrintedAt: u.now().In(booking.JST).Format("2006-01-02 15:04")},
		Query: f.No, Status: string(f.Status), Statuses: booking.CardStatuses, Max: booking.MaxPrintCards}
	pr, err := u.deps.Booking.PrintCards(c.UserContext(), web.TenantOf(c), f, staffActorOf(c))
	if e := tenant.AsError(err); e != nil && e.Code == tenant.Invalid {
		p.Errors = e.Fields
		c.Status(fiber.StatusUnprocessableEntity)
		return u.render(c, "staff/cards_print", p)
	}
	if err != nil {
		return err
	}
	p.Print, p.CSVURL = pr, cardsExportURL(pr.Filter, booking.EncodingUTF8)
	p.Heading = u.locales.T(p.Lang, "cards.print.title", nil)
	if pr.Filter.Status != "" {
		p.Heading += "（" + u.locales.T(p.Lang, "cards.status."+string(pr.Filter.Status), nil) + "）"
	}
	p.MarginCSS = marginCSSURL(p.Heading)
	return u.render(c, "staff/cards_print", p)
}
