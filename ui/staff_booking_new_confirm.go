package ui

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// newBookingHeld loads the cards and the hold of the confirm step. A hold that is not found
// (used, expired and swept, or another city's id) returns the page with Hold nil.
func (u *UI) newBookingHeld(c *fiber.Ctx, cards, hold string) (*NewBookingPage, error) {
	p, err := u.newBookingPage(c, cards)
	if err != nil {
		return nil, err
	}
	holdID, err := uuid.Parse(strings.TrimSpace(hold))
	if err != nil {
		return nil, tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	t := web.TenantOf(c)
	p.Hold, err = u.deps.Booking.HoldByID(c.UserContext(), t, holdID)
	if tenant.ErrorCode(err) == tenant.NotFound || (err == nil && p.Hold.Places != p.Party()) {
		p.Hold = nil
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	if p.Slot, err = u.deps.Booking.SlotByID(c.UserContext(), t, p.Hold.SlotID); err != nil {
		return nil, err
	}
	if p.Location, err = u.deps.Booking.LocationByID(c.UserContext(), t.ID, p.Slot.LocationID); err != nil {
		return nil, err
	}
	p.MailLang = "ja"
	return p, nil
}

// newBookingGone explains that the booking could not be made (time taken, hold gone, a card
// booked meanwhile) and offers to choose again with the same cards.
func (u *UI) newBookingGone(c *fiber.Ctx, p *NewBookingPage, key string) error {
	if k, ok := goneKeys[key]; ok {
		key = k
	}
	p.ErrorKey = key
	return u.render(c, "staff/bookings_new_gone", p)
}

// goneKeys words the domain's refusals for the clerk rather than the citizen.
var goneKeys = map[string]string{
	"slot.full":           "behalf.gone.slot_full",
	"slot.closed":         "behalf.gone.slot_closed",
	"hold.expired":        "behalf.gone.hold_expired",
	"card.already_booked": "behalf.gone.card_booked",
	"card.not_found":      "behalf.hold.gone",
}

// staffBookingNewConfirm is the check page: who, where, when, the held time's expiry, the
// optional e-mail address (typed twice) and the language of the mails.
func (u *UI) staffBookingNewConfirm(c *fiber.Ctx) error {
	p, err := u.newBookingHeld(c, c.Query("cards"), c.Query("hold"))
	if err != nil {
		return err
	}
	if p.Hold == nil {
		c.Status(fiber.StatusNotFound)
		return u.newBookingGone(c, p, "behalf.hold.gone")
	}
	return u.render(c, "staff/bookings_new_confirm", p)
}

// staffBookingNewReserve books the held time. The hold makes the request idempotent (the domain
// keys the booking by it): a second submit of the same form (double click, reload) shows the
// booking the first one made instead of a second one. A form whose hold lapsed still books the
// time when it is free, as the clerk asked.
func (u *UI) staffBookingNewReserve(c *fiber.Ctx) error {
	p, err := u.newBookingHeld(c, c.FormValue("cards"), c.FormValue("hold"))
	if err != nil {
		return err
	}
	holdID, _ := uuid.Parse(strings.TrimSpace(c.FormValue("hold"))) // newBookingHeld parsed it
	slotID, err := uuid.Parse(strings.TrimSpace(c.FormValue("slot")))
	if p.Hold != nil {
		slotID, err = p.Slot.ID, nil
	}
	if err != nil {
		c.Status(fiber.StatusNotFound)
		return u.newBookingGone(c, p, "behalf.hold.gone")
	}
	p.Email, p.Email2 = strings.TrimSpace(c.FormValue("email")), strings.TrimSpace(c.FormValue("email2"))
	p.MailLang = strings.Clone(c.FormValue("mail_lang"))
	if fields := confirmFields(p); len(fields) > 0 {
		if p.Hold == nil {
			c.Status(fiber.StatusNotFound)
			return u.newBookingGone(c, p, "behalf.hold.gone")
		}
		p.Errors = fields
		c.Status(fiber.StatusUnprocessableEntity)
		return u.render(c, "staff/bookings_new_confirm", p)
	}
	ids := make([]uuid.UUID, len(p.Cards))
	for i, cd := range p.Cards {
		ids[i] = cd.ID
	}
	r, err := u.deps.Booking.Reserve(c.UserContext(), web.TenantOf(c), booking.ReserveInput{SlotID: slotID, HoldID: holdID,
		CardIDs: ids, Email: p.Email, Lang: p.MailLang, Actor: staffActorOf(c)})
	if e := tenant.AsError(err); e != nil && (e.Code == tenant.Conflict || e.Key == "slot.closed" || e.Code == tenant.NotFound) {
		if p.Hold != nil { // nothing was booked: give the held places back at once, not after ten minutes
			if err := u.deps.Booking.ReleaseHold(c.UserContext(), web.TenantOf(c), p.Hold.ID); err != nil {
				u.log.Warn("release hold", "request_id", web.RequestIDOf(c), "err", err)
			}
		}
		c.Status(web.StatusOf(e.Code))
		return u.newBookingGone(c, p, e.Key)
	}
	if err != nil {
		return err
	}
	if r.Replayed {
		return u.staffFlashRedirect(c, "behalf.already_done", "/admin/bookings/"+r.ID.String())
	}
	return u.staffFlashRedirect(c, "behalf.done", "/admin/bookings/"+r.ID.String())
}

// confirmFields checks the confirm form: the optional e-mail address typed twice alike and the
// language of the mails.
func confirmFields(p *NewBookingPage) map[string]string {
	fields := map[string]string{}
	if _, err := booking.ValidateEmail(p.Email); err != nil {
		fields = tenant.AsError(err).Fields
	} else if p.Email != p.Email2 {
		fields["email2"] = "reserve.email.mismatch"
	}
	if p.MailLang != "ja" && p.MailLang != "en" {
		fields["mail_lang"] = "behalf.lang.invalid"
	}
	return fields
}
