package callcenter

import (
	"crypto/rand"
	"encoding/hex"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/vendor"
)

// BookPage is the data of book.html: the time chosen for the call's cards, and the form.
type BookPage struct {
	CallerPage
	Slot     *booking.Slot
	Location *booking.Location
	// NeedsReason: the new time, or the booking being moved, is inside the citizens' deadline.
	NeedsReason bool
	Email       string
	MailLang    string
	Reason      string
	Note        string
	Key         string // the form's request key: a second submit finds the first booking
	Full        bool   // the time was taken meanwhile (409)
}

// Change reports whether the form moves the caller's booking rather than booking anew.
func (p *BookPage) Change() bool { return p.Reservation != nil }

// Party is how many places the booking takes.
func (p *BookPage) Party() int {
	if p.Reservation != nil {
		return p.Reservation.PartySize
	}
	return len(p.Cards)
}

// bookPage loads the call and the chosen slot (?slot= or the form's slot); nil without a call.
func (u *UI) bookPage(c *fiber.Ctx, slot string) (*BookPage, error) {
	cp, err := u.callerPage(c)
	if err != nil || cp == nil {
		return nil, err
	}
	id, err := uuid.Parse(strings.TrimSpace(slot))
	if err != nil {
		return nil, tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	t := cityOf(c)
	p := &BookPage{CallerPage: *cp, MailLang: "ja"}
	if p.Slot, err = u.deps.Booking.SlotByID(ctx(c), t, id); err != nil {
		return nil, err
	}
	if p.Location, err = u.deps.Booking.LocationByID(ctx(c), t.ID, p.Slot.LocationID); err != nil {
		return nil, err
	}
	p.NeedsReason = booking.DateFromDB(p.Slot.Day).Before(p.FirstDay) ||
		(p.Reservation != nil && booking.DateOf(p.Reservation.StartsAt).Before(p.FirstDay))
	return p, nil
}

// bookShow is the confirmation form for a time picked on the board: who is booked (or whose
// booking moves), the e-mail address for the confirmation (optional), the reason when the time
// or the booking is inside the citizens' deadline, and a note of the call.
func (u *UI) bookShow(c *fiber.Ctx) error {
	p, err := u.bookPage(c, c.Query("slot"))
	if err != nil {
		return err
	}
	if p == nil {
		return u.FlashRedirect(c, "callcenter.call.none", "/c/"+cityOf(c).Slug)
	}
	p.Key = newKey()
	return u.Render(c, "book", p)
}

func newKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// bookSubmit books the call's cards on the slot (booking.Service.Reserve), or moves the caller's
// booking there (booking.Service.Change), as the operator: channel callcenter, with the reason
// and the note. Taken meanwhile, the form comes back with 満席 and the board's new count.
func (u *UI) bookSubmit(c *fiber.Ctx) error {
	p, err := u.bookPage(c, c.FormValue("slot"))
	if err != nil {
		return err
	}
	if p == nil {
		return u.FlashRedirect(c, "callcenter.call.none", "/c/"+cityOf(c).Slug)
	}
	t := cityOf(c)
	p.Email, p.MailLang = strings.TrimSpace(c.FormValue("email")), c.FormValue("mail_lang")
	p.Reason, p.Note, p.Key = strings.TrimSpace(c.FormValue("reason")), strings.TrimSpace(c.FormValue("note")), c.FormValue("key")
	a := actorOf(c).WithReason(p.Reason)
	var r *booking.Reservation
	// The form says what it was for: a booking sent twice is found again by its key (Reserve),
	// a change sent twice finds the booking already moved.
	if c.FormValue("change") != "" {
		switch {
		case p.Reservation == nil || p.Reservation.ID.String() != c.FormValue("change"):
			return u.FlashRedirect(c, "callcenter.book.gone", "/c/"+t.Slug+"/caller")
		case p.Reservation.SlotID == p.Slot.ID:
			return c.Redirect("/c/"+t.Slug+"/done/"+p.Reservation.ID.String(), fiber.StatusSeeOther)
		}
		r, err = u.deps.Booking.Change(ctx(c), t, p.Reservation.ID, p.Slot.ID, uuid.Nil, a)
	} else {
		r, err = u.deps.Booking.Reserve(ctx(c), t, booking.ReserveInput{SlotID: p.Slot.ID, CardIDs: vendor.SessionOf(c).Call.Cards,
			Email: p.Email, Lang: p.MailLang, Actor: a, Note: p.Note, RequestKey: p.Key})
	}
	if f := vendor.FormError(err); f != nil {
		p.Fail(f, "email", "reason", "note")
		return u.RenderForm(c, "book", p)
	}
	if e := tenant.AsError(err); e != nil && e.Key == "slot.full" {
		p.Full = true
		if p.Slot, err = u.deps.Booking.SlotByID(ctx(c), t, p.Slot.ID); err != nil {
			return err
		}
		return u.Render(c.Status(fiber.StatusConflict), "book", p)
	}
	if err != nil {
		return err
	}
	return c.Redirect("/c/"+t.Slug+"/done/"+r.ID.String(), fiber.StatusSeeOther)
}

// DonePage is the data of done.html: the booking as the operator reads it back to the caller.
type DonePage struct {
	CityPage
	R *booking.ReservationView
}

// done shows the read-back script of a booking: the date with the weekday, the time, the place
// and its address, what to bring and the booking code in groups (the read is logged).
func (u *UI) done(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	rv, err := u.deps.Booking.ReservationForStaff(ctx(c), cityOf(c), id, actorOf(c))
	if err != nil {
		return err
	}
	return u.Render(c, "done", &DonePage{CityPage: *u.cityPage(c), R: rv})
}

// CancelPage is the data of cancel.html.
type CancelPage struct {
	CallerPage
	NeedsReason bool
	Reason      string
}

// cancelPage loads the call and the caller's booking; nil without a call or a booking.
func (u *UI) cancelPage(c *fiber.Ctx) (*CancelPage, error) {
	cp, err := u.callerPage(c)
	if err != nil || cp == nil || cp.Reservation == nil {
		return nil, err
	}
	return &CancelPage{CallerPage: *cp, NeedsReason: booking.DateOf(cp.Reservation.StartsAt).Before(cp.FirstDay)}, nil
}

// cancelShow asks to confirm the cancellation of the caller's booking (with a reason inside the
// citizens' deadline).
func (u *UI) cancelShow(c *fiber.Ctx) error {
	p, err := u.cancelPage(c)
	if err != nil {
		return err
	}
	if p == nil {
		return u.FlashRedirect(c, "callcenter.call.none", "/c/"+cityOf(c).Slug)
	}
	return u.Render(c, "cancel", p)
}

// cancelSubmit cancels the caller's booking (booking.Service.Cancel) as the operator.
func (u *UI) cancelSubmit(c *fiber.Ctx) error {
	p, err := u.cancelPage(c)
	if err != nil {
		return err
	}
	if p == nil {
		return u.FlashRedirect(c, "callcenter.call.none", "/c/"+cityOf(c).Slug)
	}
	p.Reason = strings.TrimSpace(c.FormValue("reason"))
	err = u.deps.Booking.Cancel(ctx(c), cityOf(c), p.Reservation.ID, actorOf(c).WithReason(p.Reason))
	if f := vendor.FormError(err); f != nil {
		p.Fail(f, "reason")
		return u.RenderForm(c, "cancel", p)
	}
	if err != nil {
		return err
	}
	return u.FlashRedirect(c, "callcenter.cancel.done", "/c/"+cityOf(c).Slug+"/caller")
}
