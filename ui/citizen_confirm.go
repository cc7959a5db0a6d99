package ui

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// ConfirmPage is the data of citizen/confirm.html: check answers, e-mail, book.
type ConfirmPage struct {
	BasePage
	Slot       *booking.Slot
	Location   *booking.Location
	Cards      []*booking.Card
	Expires    time.Time
	Email      string
	Email2     string
	Changing   *booking.ReservationView
	ExpiredKey string
	// InMaintenance is the planned maintenance the chosen time falls in (nil: none): the page
	// warns that online change and cancel are unavailable then, while the visit stands.
	InMaintenance *Notice
}

func (u *UI) confirmPage(c *fiber.Ctx, sess *CitizenSession) (*ConfirmPage, error) {
	if sess.HoldID == uuid.Nil {
		return nil, nil
	}
	t := web.TenantOf(c)
	h, err := u.deps.Booking.HoldByID(c.UserContext(), t, sess.HoldID)
	if tenant.ErrorCode(err) == tenant.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	slot, err := u.deps.Booking.SlotByID(c.UserContext(), t, h.SlotID)
	if err != nil {
		return nil, err
	}
	loc, err := u.deps.Booking.LocationByID(c.UserContext(), t.ID, slot.LocationID)
	if err != nil {
		return nil, err
	}
	cards, err := u.sessionCards(c, sess)
	if err != nil {
		return nil, err
	}
	p := &ConfirmPage{BasePage: u.base(c), Slot: slot, Location: loc, Cards: cards, Expires: h.ExpiresAt, Email: sess.Email, Email2: sess.Email}
	p.InMaintenance = maintenanceAt(p.Notices, slot.StartsAt)
	if sess.Changing != uuid.Nil {
		if p.Changing, err = u.deps.Booking.ReservationByID(c.UserContext(), t, sess.Changing); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// citizenConfirmShow shows the held time with its expiry and asks for the e-mail address.
func (u *UI) citizenConfirmShow(c *fiber.Ctx) error {
	sess := citizenOf(c)
	p, err := u.confirmPage(c, sess)
	if err != nil {
		return err
	}
	if p == nil {
		return u.holdExpired(c, sess)
	}
	return u.render(c, "citizen/confirm", p)
}

// holdExpired explains plainly that the held time ran out, keeping the party.
func (u *UI) holdExpired(c *fiber.Ctx, sess *CitizenSession) error {
	sess.HoldID, sess.HoldSlot = uuid.Nil, uuid.Nil
	if err := u.sess.Save(c, sess); err != nil {
		return err
	}
	c.Status(fiber.StatusConflict)
	return u.render(c, "citizen/expired", &ConfirmPage{BasePage: u.base(c)})
}

// citizenReserve books (or moves the reservation to) the held time. The confirm page's data
// (slot, place, cards) is read only when the page is shown again (a wrong address): a booking
// reads just its hold before the booking transaction itself.
func (u *UI) citizenReserve(c *fiber.Ctx) error {
	sess := citizenOf(c)
	email, email2 := strings.TrimSpace(c.FormValue("email")), strings.TrimSpace(c.FormValue("email2"))
	if sess.HoldID == uuid.Nil {
		return u.holdExpired(c, sess)
	}
	t, actor := web.TenantOf(c), tenant.Citizen("")
	if sess.Changing == uuid.Nil {
		var fields map[string]string
		if _, err := booking.ValidateEmail(email); err != nil {
			fields = tenant.AsError(err).Fields
		} else if email != email2 {
			fields = map[string]string{"email2": "reserve.email.mismatch"}
		}
		if fields != nil {
			p, err := u.confirmPage(c, sess)
			if err != nil {
				return err
			}
			if p == nil {
				return u.holdExpired(c, sess)
			}
			p.Email, p.Email2 = email, email2
			return u.confirmInvalid(c, p, fields)
		}
	}
	// The hold must still be there: one that ran out is told as such, never booked anew.
	if _, err := u.deps.Booking.HoldByID(c.UserContext(), t, sess.HoldID); tenant.ErrorCode(err) == tenant.NotFound {
		return u.holdExpired(c, sess)
	} else if err != nil {
		return err
	}
	var r *booking.Reservation
	var err error
	if sess.Changing != uuid.Nil {
		r, err = u.deps.Booking.Change(c.UserContext(), t, sess.Changing, sess.HoldSlot, sess.HoldID, actor)
	} else {
		r, err = u.deps.Booking.Reserve(c.UserContext(), t, booking.ReserveInput{SlotID: sess.HoldSlot, HoldID: sess.HoldID,
			CardIDs: sess.Cards(), Email: email, Lang: web.LangOf(c), Actor: actor})
	}
	if e := tenant.AsError(err); e != nil && e.Code == tenant.Conflict {
		sess.HoldID, sess.HoldSlot = uuid.Nil, uuid.Nil
		if err := u.sess.Save(c, sess); err != nil {
			return err
		}
		c.Status(fiber.StatusConflict)
		return u.render(c, "citizen/expired", &ConfirmPage{BasePage: u.base(c), ExpiredKey: e.Key})
	}
	if err != nil {
		return err
	}
	sess.HoldID, sess.HoldSlot, sess.Changing, sess.DoneID, sess.Email = uuid.Nil, uuid.Nil, uuid.Nil, r.ID, email
	if err := u.sess.Save(c, sess); err != nil {
		return err
	}
	return c.Redirect("/done", fiber.StatusSeeOther)
}

func (u *UI) confirmInvalid(c *fiber.Ctx, p *ConfirmPage, fields map[string]string) error {
	p.Errors = fields
	c.Status(fiber.StatusUnprocessableEntity)
	return u.render(c, "citizen/confirm", p)
}

// citizenHoldRelease gives the held time back and returns to the day's times.
func (u *UI) citizenHoldRelease(c *fiber.Ctx) error {
	sess := citizenOf(c)
	back := "/locations"
	if sess.HoldSlot != uuid.Nil {
		if s, err := u.deps.Booking.SlotByID(c.UserContext(), web.TenantOf(c), sess.HoldSlot); err == nil {
			back = "/times?location=" + s.LocationID.String() + "&day=" + booking.DateFromDB(s.Day).String()
		}
	}
	u.releaseSessionHold(c, sess)
	if err := u.sess.Save(c, sess); err != nil {
		return err
	}
	return c.Redirect(back, fiber.StatusSeeOther)
}
