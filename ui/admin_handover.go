package ui

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/ui/web"
)

// AdminHandoverPage is the data of admin/handover.html: what the handover archive holds, and the
// button that downloads it.
type AdminHandoverPage struct {
	BasePage
}

// adminHandoverShow explains the archive of the city's complete data (for handing the city over
// to another vendor) before the 市管理者 downloads it.
func (u *UI) adminHandoverShow(c *fiber.Ctx) error {
	return u.render(c, "admin/handover", &AdminHandoverPage{BasePage: u.base(c)})
}

// adminHandoverExport streams the archive (booking.Service.ExportHandover: a zip of CSV files and
// manifest.json, read in one snapshot of the city, audit-logged before and after). The zip is
// written while it is read; when reading fails half-way the download ends short and the audit
// log says the export failed or is incomplete.
func (u *UI) adminHandoverExport(c *fiber.Ctx) error {
	t := web.TenantOf(c)
	name := fmt.Sprintf("handover_%s_%s.zip", t.Slug, u.now().In(booking.JST).Format("20060102-150405"))
	c.Set(fiber.HeaderContentType, "application/zip")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	svc, v, log, reqID, slug := u.deps.Booking, staffActorOf(c), u.log, web.RequestIDOf(c), strings.Clone(t.Slug)
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
		defer cancel()
		m, err := svc.ExportHandover(ctx, t, w, v)
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			// The status line is gone already; the log and the audit row tell.
			log.Error("handover export failed", "request_id", reqID, "tenant", slug, "err", err)
			return
		}
		log.Info("handover export", "request_id", reqID, "tenant", slug, "files", len(m.Files))
	})
	return nil
}
