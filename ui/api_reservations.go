package ui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

type apiReservationCreate struct {
	SlotID apiString `json:"slot_id"`
	Email  apiString `json:"email"`
	Lang   apiString `json:"lang"`
	Family apiFamily `json:"family"`
}

type apiReservationChange struct {
	SlotID apiString `json:"slot_id"`
}

// validate checks everything that costs no login attempt, so a typo in the e-mail address
// never spends a family member's lockout budget.
func (in *apiReservationCreate) validate() (uuid.UUID, error) {
	fields := map[string]string{}
	slot, err := apiUUID(string(in.SlotID))
	if err != nil {
		fields["slot_id"] = "api.slot_id.invalid"
	}
	if _, err := booking.ValidateEmail(string(in.Email)); err != nil {
		fields["email"] = "reserve.email.invalid"
	}
	if in.Lang != "" && in.Lang != "ja" && in.Lang != "en" {
		fields["lang"] = "api.lang.invalid"
	}
	if len(in.Family) >= booking.MaxParty {
		fields["family"] = "family.too_many"
	}
	if len(fields) > 0 {
		return uuid.Nil, &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: fields}
	}
	return slot, nil
}

// apiReservationCreate books a slot for the logged-in card and the family members in the body.
// Each member is verified through booking.Service.Login (the same lockout counters as every
// login) before anything is booked; one failure books nothing.
func (u *UI) apiReservationCreate(c *fiber.Ctx) error {
	var in apiReservationCreate
	if err := apiDecode(c, &in); err != nil {
		return err
	}
	slotID, err := in.validate()
	if err != nil {
		return err
	}
	if len(in.Family) > 0 {
		// Each member is a card check: flood-limited like the API's login (30 a minute per address).
		if err := u.apiFamily.Allow(c); err != nil {
			return err
		}
	}
	sess := citizenOf(c)
	t := web.TenantOf(c)
	cards := []uuid.UUID{sess.CardID}
	for i, m := range in.Family {
		prefix := fmt.Sprintf("family[%d].", i)
		li, err := m.loginInput(c, prefix)
		if err != nil {
			return err
		}
		card, err := u.deps.Booking.Login(c.UserContext(), t, li)
		if err != nil {
			return apiPrefixFields(err, prefix)
		}
		if slices.Contains(cards, card.ID) {
			return apiFieldError(prefix+"card_no", "family.duplicate")
		}
		cards = append(cards, card.ID)
	}
	r, err := u.deps.Booking.Reserve(c.UserContext(), t, booking.ReserveInput{SlotID: slotID, CardIDs: cards,
		Email: string(in.Email), Lang: string(in.Lang), Actor: tenant.Citizen(""), RequestKey: strings.Clone(c.Get("Idempotency-Key"))})
	if err != nil {
		return apiSlotError(err)
	}
	if r.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	v, err := u.deps.Booking.ReservationByID(c.UserContext(), t, r.ID)
	if err != nil {
		return err
	}
	c.Location("/api/v1/reservations/current")
	return c.Status(fiber.StatusCreated).JSON(u.toAPIReservation(t, v))
}

// apiSlotError names the slot when the id given matches no slot of this tenant (another city's
// slot id included: row-level security hides it).
func apiSlotError(err error) error {
	if e := tenant.AsError(err); e != nil && e.Code == tenant.NotFound && e.Key == "error.not_found" {
		return tenant.Errorf(tenant.NotFound, "slot.not_found").Wrap(err)
	}
	return err
}

// apiCurrent loads the reservation holding the logged-in card; not_found "reservation.none"
// when there is none.
func (u *UI) apiCurrent(c *fiber.Ctx) (*booking.ReservationView, error) {
	sess := citizenOf(c)
	v, err := u.deps.Booking.CurrentReservation(c.UserContext(), web.TenantOf(c), sess.CardID)
	if tenant.ErrorCode(err) == tenant.NotFound {
		return nil, tenant.Errorf(tenant.NotFound, "reservation.none").Wrap(err)
	}
	return v, err
}

// apiReservationCurrent returns the logged-in card's active reservation.
func (u *UI) apiReservationCurrent(c *fiber.Ctx) error {
	v, err := u.apiCurrent(c)
	if err != nil {
		return err
	}
	return c.JSON(u.toAPIReservation(web.TenantOf(c), v))
}

// apiReservationChange moves the active reservation to another slot (booking.Service.Change:
// the new places are taken before the old ones are given back, and only before the deadline).
func (u *UI) apiReservationChange(c *fiber.Ctx) error {
	var in apiReservationChange
	if err := apiDecode(c, &in); err != nil {
		return err
	}
	slotID, err := apiUUID(string(in.SlotID))
	if err != nil {
		return apiFieldError("slot_id", "api.slot_id.invalid")
	}
	v, err := u.apiCurrent(c)
	if err != nil {
		return err
	}
	t := web.TenantOf(c)
	if _, err := u.deps.Booking.Change(c.UserContext(), t, v.ID, slotID, uuid.Nil, tenant.Citizen("")); err != nil {
		return apiSlotError(err)
	}
	if v, err = u.deps.Booking.ReservationByID(c.UserContext(), t, v.ID); err != nil {
		return err
	}
	return c.JSON(u.toAPIReservation(t, v))
}

// apiReservationCancel cancels the active reservation (conflict "deadline.passed" after the
// deadline, as on the web).
func (u *UI) apiReservationCancel(c *fiber.Ctx) error {
	v, err := u.apiCurrent(c)
	if err != nil {
		return err
	}
	if err := u.deps.Booking.Cancel(c.UserContext(), web.TenantOf(c), v.ID, tenant.Citizen("")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
