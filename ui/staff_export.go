package ui

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// ExportPage is the data of staff/bookings_export.html: the CSV download form.
type ExportPage struct {
	BasePage
	Self                                 string
	From, To, Location, Status, Encoding string
	Locations                            []booking.Location
	Statuses                             []booking.ReservationStatus
}

// exportTimeout bounds one streamed export (the rows are read while they are sent).
const exportTimeout = 10 * time.Minute

func (u *UI) exportPage(c *fiber.Ctx) (*ExportPage, error) {
	locs, err := u.deps.Booking.Locations(c.UserContext(), web.TenantOf(c).ID, false)
	if err != nil {
		return nil, err
	}
	p := &ExportPage{BasePage: u.base(c), Self: selfURL(c), Locations: locs, Statuses: booking.ReservationStatuses,
		From: strings.Clone(c.Query("from")), To: strings.Clone(c.Query("to")), Location: strings.Clone(c.Query("location")),
		Status: strings.Clone(c.Query("status")), Encoding: strings.Clone(c.Query("encoding"))}
	if p.Encoding == "" {
		p.Encoding = string(booking.EncodingUTF8)
	}
	return p, nil
}

func (u *UI) staffExportShow(c *fiber.Ctx) error {
	p, err := u.exportPage(c)
	if err != nil {
		return err
	}
	if len(c.Request().URI().QueryString()) == 0 {
		today := booking.DateOf(u.now())
		p.From, p.To = today.String(), today.String()
	}
	return u.render(c, "staff/bookings_export", p)
}

// staffExportCSV streams the reservations as CSV (booking.ExportCSV): the filter is checked
// first so a mistake gets the form back with a 422; then the body is written chunk by chunk
// after the handler returns (chunked transfer, no Content-Length), from a transaction opened by
// the stream writer. Nothing of the request may be touched there: fasthttp reuses it.
func (u *UI) staffExportCSV(c *fiber.Ctx) error {
	p, err := u.exportPage(c)
	if err != nil {
		return err
	}
	t := web.TenantOf(c)
	f := booking.ExportFilter{Status: booking.ReservationStatus(p.Status)}
	fields := map[string]string{}
	var ok bool
	if f.From, ok = parseDay(p.From); !ok {
		fields["from"] = "staff.bookings.filter.date_invalid"
	}
	if f.To, ok = parseDay(p.To); !ok {
		fields["to"] = "staff.bookings.filter.date_invalid"
	}
	if p.Location != "" {
		id, err := uuid.Parse(p.Location)
		if err == nil {
			_, err = u.deps.Booking.LocationByID(c.UserContext(), t.ID, id)
		}
		if err != nil && tenant.ErrorCode(err) != tenant.NotFound && tenant.ErrorCode(err) != tenant.Internal {
			return err
		}
		if err != nil {
			fields["location"] = "staff.bookings.filter.location_invalid"
		}
		f.LocationID = id
	}
	enc := booking.Encoding(p.Encoding)
	if enc != booking.EncodingUTF8 && enc != booking.EncodingSJIS {
		fields["encoding"] = "staff.export.encoding_invalid"
	}
	if err := f.Validate(); err != nil {
		for k, v := range tenant.AsError(err).Fields {
			fields[k] = v
		}
	}
	if len(fields) > 0 {
		p.Errors = fields
		c.Status(fiber.StatusUnprocessableEntity)
		return u.render(c, "staff/bookings_export", p)
	}

	name := exportFileName(f, enc)
	charset := "utf-8"
	if enc == booking.EncodingSJIS {
		charset = "Shift_JIS"
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset="+charset+"; header=present")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, name, url.PathEscape(name)))
	svc, v, log, reqID, slug := u.deps.Booking, staffActorOf(c), u.log, web.RequestIDOf(c), strings.Clone(t.Slug)
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
		defer cancel()
		res, err := svc.ExportCSV(ctx, t, f, enc, w, w.Flush, v)
		if err != nil {
			// The status line is gone already; the log and the audit row ("incomplete"/"failed") tell.
			log.Error("csv export failed", "request_id", reqID, "tenant", slug, "err", err)
			return
		}
		log.Info("csv export", "request_id", reqID, "tenant", slug, "rows", res.Rows, "replaced", res.Replaced, "bytes", res.Bytes)
	})
	return nil
}

// exportFileName is an ASCII file name that says the range and the encoding, e.g.
// yoyaku_2026-06-01_2026-06-30_utf8.csv.
func exportFileName(f booking.ExportFilter, enc booking.Encoding) string {
	part := func(d booking.Date) string {
		if d == (booking.Date{}) {
			return "all"
		}
		return d.String()
	}
	name := "yoyaku_" + part(f.From)
	if f.To != f.From {
		name += "_" + part(f.To)
	}
	return name + "_" + string(enc) + ".csv"
}
