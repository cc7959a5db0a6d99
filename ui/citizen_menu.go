package ui

import (
	"slices"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// MenuPage is the data of citizen/menu.html: who is booking, and the current reservation.
type MenuPage struct {
	BasePage
	Cards       []*booking.Card
	Reservation *booking.ReservationView
	Max         int
}

// sessionCards loads the session's cards (the logged-in one first).
func (u *UI) sessionCards(c *fiber.Ctx, sess *CitizenSession) ([]*booking.Card, error) {
	return u.deps.Booking.CardsByID(c.UserContext(), web.TenantOf(c).ID, sess.Cards())
}

func (u *UI) citizenMenu(c *fiber.Ctx) error {
	sess := citizenOf(c)
	cards, err := u.sessionCards(c, sess)
	if err != nil {
		return err
	}
	p := &MenuPage{BasePage: u.base(c), Cards: cards, Max: booking.MaxParty}
	p.Flash, err = u.takeFlash(c, sess)
	if err != nil {
		return err
	}
	v, err := u.deps.Booking.CurrentReservation(c.UserContext(), web.TenantOf(c), sess.CardID)
	if err != nil && tenant.ErrorCode(err) != tenant.NotFound {
		return err
	}
	p.Reservation = v
	return u.render(c, "citizen/menu", p)
}

func (u *UI) citizenFamilyShow(c *fiber.Ctx) error {
	return u.render(c, "citizen/family", u.loginPage(c, true))
}

// citizenFamilyAdd adds a family member's card after checking its number and MMDD through the
// same login path (and lockout counters) as the first card.
func (u *UI) citizenFamilyAdd(c *fiber.Ctx) error {
	form := parseLoginForm(c)
	sess := citizenOf(c)
	if len(sess.Cards()) >= booking.MaxParty {
		return u.loginFailed(c, "citizen/family", form, true, &tenant.Error{Code: tenant.Invalid, Key: "error.invalid",
			Fields: map[string]string{"card_no": "family.too_many"}})
	}
	card, err := u.deps.Booking.Login(c.UserContext(), web.TenantOf(c), form.input(c))
	if err != nil {
		return u.loginFailed(c, "citizen/family", form, true, err)
	}
	if slices.Contains(sess.Cards(), card.ID) {
		return u.loginFailed(c, "citizen/family", form, true, &tenant.Error{Code: tenant.Invalid, Key: "error.invalid",
			Fields: map[string]string{"card_no": "family.duplicate"}})
	}
	u.releaseSessionHold(c, sess)
	sess.Family = append(sess.Family, card.ID)
	if err := u.flash(c, sess, "family.added"); err != nil {
		return err
	}
	return c.Redirect("/menu", fiber.StatusSeeOther)
}

// citizenFamilyRemove takes a family member off this booking.
func (u *UI) citizenFamilyRemove(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.FormValue("card"))
	if err != nil {
		return tenant.Errorf(tenant.Invalid, "error.bad_request")
	}
	sess := citizenOf(c)
	sess.Family = slices.DeleteFunc(sess.Family, func(x uuid.UUID) bool { return x == id })
	u.releaseSessionHold(c, sess)
	if err := u.flash(c, sess, "family.removed"); err != nil {
		return err
	}
	return c.Redirect("/menu", fiber.StatusSeeOther)
}
