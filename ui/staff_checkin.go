package ui

import (
	"strings"

	"github.com/google/uuid"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// CheckinPage is the data of staff/checkin.html: one autofocused field for a barcode reader.
type CheckinPage struct {
	BasePage
	Result     *booking.ReservationView
	Already    bool
	ResultKey  string
	ResultArgs map[string]any
}

func (u *UI) staffCheckinShow(c *fiber.Ctx) error {
	return u.render(c, "staff/checkin", &CheckinPage{BasePage: u.base(c)})
}

// staffCheckinScan marks the scanned reservation visited and shows it; the field is cleared and
// refocused for the next scan. Re-scanning is harmless.
func (u *UI) staffCheckinScan(c *fiber.Ctx) error {
	code := strings.Clone(c.FormValue("code"))
	v, already, err := u.deps.Booking.CheckIn(c.UserContext(), web.TenantOf(c), code,
		staffActorOf(c))
	p := &CheckinPage{BasePage: u.base(c), Result: v, Already: already}
	if e := tenant.AsError(err); e != nil && e.Code != tenant.Internal && e.Code != tenant.Unavailable {
		p.ResultKey = e.Key
		if e.Code == tenant.NotFound {
			p.ResultKey = "checkin.not_found"
		}
		c.Status(web.StatusOf(e.Code))
		return u.render(c, "staff/checkin", p)
	}
	if err != nil {
		return err
	}
	return u.render(c, "staff/checkin", p)
}

// staffCheckinIssue records that the visitor received their card(s): visited → issued, with
// history and audit, then returns to an empty scan field.
func (u *UI) staffCheckinIssue(c *fiber.Ctx) error {
	var ids []uuid.UUID
	for _, raw := range c.Request().PostArgs().PeekMulti("card") {
		id, err := uuid.Parse(string(raw))
		if err != nil {
			return tenant.Errorf(tenant.NotFound, "error.not_found")
		}
		ids = append(ids, id)
	}
	err := u.deps.Booking.ChangeCardStatus(c.UserContext(), web.TenantOf(c), ids, booking.CardIssued, staffActorOf(c))
	p := &CheckinPage{BasePage: u.base(c), ResultKey: "staff.checkin.issued"}
	if e := tenant.AsError(err); e != nil && e.Code != tenant.Internal && e.Code != tenant.Unavailable {
		p.ResultKey = e.Key
		p.ResultArgs = e.Args
		c.Status(web.StatusOf(e.Code))
	} else if err != nil {
		return err
	}
	return u.render(c, "staff/checkin", p)
}
