package ui

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
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
	t := tenantOf(c)
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

// staffBookingNewReserve books the held time. A second submit of the same form (double click,
// reload) finds the cards already booked in this time and shows that booking instead of a
// second one.
func (u *UI) staffBookingNewReserve(c *fiber.Ctx) error {
	p, err := u.newBookingHeld(c, c.FormValue("cards"), c.FormValue("hold"))
	if err != nil {
		return err
	}
	if p.Hold == nil { // used by the first of a double submit, or expired
		if r := u.alreadyBooked(c, c.FormValue("slot"), p.CardsParam); r != nil {
			return u.staffFlashRedirect(c, "behalf.already_done", "/admin/bookings/"+r.ID.String())
		}
		c.Status(fiber.StatusNotFound)
		return u.newBookingGone(c, p, "behalf.hold.gone")
	}
	p.Email, p.Email2 = strings.TrimSpace(c.FormValue("email")), strings.TrimSpace(c.FormValue("email2"))
	p.MailLang = strings.Clone(c.FormValue("mail_lang"))
	fields := map[string]string{}
	if _, err := booking.ValidateEmail(p.Email); err != nil {
		fields = tenant.AsError(err).Fields
	} else if p.Email != p.Email2 {
		fields["email2"] = "reserve.email.mismatch"
	}
	if p.MailLang != "ja" && p.MailLang != "en" {
		fields["mail_lang"] = "behalf.lang.invalid"
	}
	if len(fields) > 0 {
		p.Errors = fields
		c.Status(fiber.StatusUnprocessableEntity)
		return u.render(c, "staff/bookings_new_confirm", p)
	}
	ids := make([]uuid.UUID, len(p.Cards))
	for i, cd := range p.Cards {
		ids[i] = cd.ID
	}
	r, err := u.deps.Booking.Reserve(c.UserContext(), tenantOf(c), booking.ReserveInput{SlotID: p.Slot.ID, HoldID: p.Hold.ID,
		CardIDs: ids, Email: p.Email, Lang: p.MailLang, Actor: staffActorOf(c)})
	if e := tenant.AsError(err); e != nil && (e.Code == tenant.Conflict || e.Key == "slot.closed") {
		if r := u.alreadyBooked(c, p.Slot.ID.String(), p.CardsParam); r != nil {
			return u.staffFlashRedirect(c, "behalf.already_done", "/admin/bookings/"+r.ID.String())
		}
		// Nothing was booked: give the held places back at once rather than after ten minutes.
		if err := u.deps.Booking.ReleaseHold(c.UserContext(), tenantOf(c), p.Hold.ID); err != nil {
			u.log.Warn("release hold", "request_id", requestIDOf(c), "err", err)
		}
		c.Status(statusByCode[e.Code])
		return u.newBookingGone(c, p, e.Key)
	}
	if err != nil {
		return err
	}
	return u.staffFlashRedirect(c, "behalf.done", "/admin/bookings/"+r.ID.String())
}

// alreadyBooked returns the staff booking that holds exactly these cards in this slot (the first
// of a double submit), or nil.
func (u *UI) alreadyBooked(c *fiber.Ctx, slot, cards string) *booking.ReservationView {
	ids, err := parseCardIDs(cards)
	slotID, err2 := uuid.Parse(slot)
	if err != nil || err2 != nil || len(ids) == 0 {
		return nil
	}
	rv, err := u.deps.Booking.CurrentReservation(c.UserContext(), tenantOf(c), ids[0])
	if err != nil || rv.SlotID != slotID || rv.Channel != tenant.ChannelStaff || len(rv.Cards) != len(ids) {
		return nil
	}
	want := map[uuid.UUID]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for _, cd := range rv.Cards {
		if !want[cd.ID] {
			return nil
		}
	}
	return rv
}
