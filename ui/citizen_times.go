package ui

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// TimesPage is the data of citizen/times.html.
type TimesPage struct {
	BasePage
	Location *booking.Location
	Day      booking.Date
	Slots    []booking.Slot
	Party    int
	Notice   string
}

// citizenTimes lists a day's times with places left; full ones as text.
func (u *UI) citizenTimes(c *fiber.Ctx) error {
	sess := citizenOf(c)
	loc, err := u.location(c, c.Query("location"))
	if err != nil {
		return err
	}
	day, err := booking.ParseDate(c.Query("day"))
	if err != nil {
		return tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	slots, err := u.deps.Booking.SlotsOn(c.UserContext(), web.TenantOf(c), loc.ID, day, tenant.Citizen(""))
	if err != nil {
		return err
	}
	p := &TimesPage{BasePage: u.base(c), Location: loc, Day: day, Slots: slots, Party: len(sess.Cards())}
	if p.Flash, err = u.takeFlash(c, sess); err != nil {
		return err
	}
	if len(p.Errors) == 0 && c.Query("error") == "slot" {
		p.Errors = map[string]string{"slot": "times.slot.required"}
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return u.render(c, "citizen/times", p)
}

// citizenHold holds the chosen time for the party and moves on to the confirmation step. A time
// that filled up meanwhile sends the citizen back to the day with a notice.
func (u *UI) citizenHold(c *fiber.Ctx) error {
	sess := citizenOf(c)
	loc, day := c.FormValue("location"), c.FormValue("day")
	back := "/times?location=" + uuidOrEmpty(loc) + "&day=" + dateOrEmpty(day)
	slotID, err := uuid.Parse(c.FormValue("slot"))
	if err != nil {
		return c.Redirect(back+"&error=slot", fiber.StatusSeeOther)
	}
	h, err := u.deps.Booking.HoldSlot(c.UserContext(), web.TenantOf(c), slotID, len(sess.Cards()), sess.HoldID, tenant.Citizen(""))
	if e := tenant.AsError(err); e != nil && (e.Key == "slot.full" || e.Key == "slot.closed") {
		sess.HoldID, sess.HoldSlot = uuid.Nil, uuid.Nil
		if err := u.flash(c, sess, "times.slot.taken"); err != nil {
			return err
		}
		return c.Redirect(back, fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	sess.HoldID, sess.HoldSlot = h.ID, slotID
	if err := u.sess.Save(c, sess); err != nil {
		return err
	}
	return c.Redirect("/confirm", fiber.StatusSeeOther)
}

// releaseSessionHold gives back the session's held places (best effort: an expired hold is
// released by the sweeper anyway).
func (u *UI) releaseSessionHold(c *fiber.Ctx, sess *CitizenSession) {
	if sess.HoldID == uuid.Nil {
		return
	}
	if err := u.deps.Booking.ReleaseHold(c.UserContext(), web.TenantOf(c), sess.HoldID); err != nil {
		u.log.Warn("release hold", "request_id", web.RequestIDOf(c), "err", err)
	}
	sess.HoldID, sess.HoldSlot = uuid.Nil, uuid.Nil
}

func uuidOrEmpty(s string) string {
	if id, err := uuid.Parse(s); err == nil {
		return id.String()
	}
	return ""
}

func dateOrEmpty(s string) string {
	if d, err := booking.ParseDate(s); err == nil {
		return d.String()
	}
	return ""
}
