package callcenter

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/vendor"
	"github.com/madoguchi/madoguchi/ui/web"
)

// CityPage is the data of a city's pages: the city, and the call in progress (nil: none).
type CityPage struct {
	Page
	T      *tenant.Tenant
	Call   *vendor.Call
	CardNo string // the check form's values, kept after a refusal
	Birth  string
	Family bool // the refused check was a family member's
	// Refusal is the message of a refused check (no card or birthday mismatch, lock), with Args.
	Refusal string
	Args    map[string]any
}

func (u *UI) cityPage(c *fiber.Ctx) *CityPage {
	return &CityPage{Page: u.Page(c), T: cityOf(c), Call: call(c)}
}

// cityHome is the city's first page: the check of a caller, the call in progress, the board.
func (u *UI) cityHome(c *fiber.Ctx) error {
	if err := u.served(c, cityOf(c).Slug); err != nil {
		return err
	}
	p := u.cityPage(c)
	if err := u.TakeFlash(c, &p.Page); err != nil {
		return err
	}
	return u.Render(c, "city", p)
}

// verify checks a caller's card number and birthday (booking.Service.VerifyCaller): a match
// starts a new call for this city; an unknown card and a wrong birthday get the same answer.
func (u *UI) verify(c *fiber.Ctx) error { return u.check(c, false) }

// family checks a family member's card during the call and adds it to the call (up to the
// largest party).
func (u *UI) family(c *fiber.Ctx) error {
	if call(c) == nil {
		return u.FlashRedirect(c, "callcenter.call.none", "/c/"+cityOf(c).Slug)
	}
	return u.check(c, true)
}

func (u *UI) check(c *fiber.Ctx, family bool) error {
	t := cityOf(c)
	p := u.cityPage(c)
	p.CardNo, p.Birth, p.Family = strings.Clone(c.FormValue("card_no")), strings.Clone(c.FormValue("birth")), family
	if family && len(p.Call.Cards) >= booking.MaxParty {
		p.Refusal = "callcenter.family.full"
		return u.Render(c.Status(fiber.StatusUnprocessableEntity), "city", p)
	}
	caller, err := u.deps.Booking.VerifyCaller(ctx(c), t, booking.CallerCheck{CardNo: p.CardNo, Birth: p.Birth, Family: family}, actorOf(c))
	if f := vendor.FormError(err); f != nil {
		p.Fail(f, "card_no", "birth")
		return u.RenderForm(c, "city", p)
	}
	if e := tenant.AsError(err); e != nil && (e.Code == tenant.Unauthorized || e.Code == tenant.Throttled) {
		p.Refusal, p.Args = operatorWording(e.Key), e.Args
		return u.Render(c.Status(web.StatusOf(e.Code)), "city", p)
	}
	if err != nil {
		return err
	}
	s := vendor.SessionOf(c)
	if !family {
		s.Call = &vendor.Call{Slug: t.Slug, Started: u.now()}
	}
	if !slices.Contains(s.Call.Cards, caller.Card.ID) {
		s.Call.Cards = append(s.Call.Cards, caller.Card.ID)
	}
	if err := u.Sess.Save(c, s); err != nil {
		return err
	}
	return c.Redirect("/c/"+t.Slug+"/caller", fiber.StatusSeeOther)
}

// operatorWording replaces the citizens' login messages with the operator's.
func operatorWording(key string) string {
	switch key {
	case "login.failed":
		return "callcenter.verify.mismatch"
	case "login.locked":
		return "callcenter.verify.locked"
	case "login.hard_locked":
		return "callcenter.verify.hard_locked"
	}
	return key
}

// endCall forgets the call's cards: the next caller starts with a check.
func (u *UI) endCall(c *fiber.Ctx) error {
	s := vendor.SessionOf(c)
	s.Call = nil
	return u.FlashRedirect(c, "callcenter.call.ended", "/c/"+cityOf(c).Slug)
}

// CallerPage is the data of caller.html: the call's cards and the caller's booking.
type CallerPage struct {
	CityPage
	Cards       []booking.Card           // the call's cards, the caller's first
	Reservation *booking.ReservationView // the caller's active booking; nil: none
	FirstDay    booking.Date             // citizens' first day: before it, acting needs a reason
	Bookable    bool                     // every card of the call may be booked (none holds a booking)
}

// callerPage loads the call's cards and the caller's booking, or nil when there is no call for
// this city (the handler sends the operator to the check).
func (u *UI) callerPage(c *fiber.Ctx) (*CallerPage, error) {
	cl := call(c)
	if cl == nil {
		return nil, nil
	}
	t := cityOf(c)
	p := &CallerPage{CityPage: *u.cityPage(c), FirstDay: booking.CitizensFirstDay(t, u.now()), Bookable: true}
	cards, err := u.deps.Booking.BookingCards(ctx(c), t, cl.Cards)
	if err != nil {
		return nil, err
	}
	p.Cards = cards // in the call's order: the caller first
	for _, card := range p.Cards {
		if card.Status == booking.CardReserved || card.Status == booking.CardIssued {
			p.Bookable = false
		}
	}
	p.Reservation, err = u.deps.Booking.CurrentReservation(ctx(c), t, cl.Cards[0])
	if tenant.ErrorCode(err) == tenant.NotFound {
		p.Reservation, err = nil, nil
	}
	return p, err
}

// caller shows the checked caller: each card's status, the caller's booking with everyone in it,
// and what the operator may do next.
func (u *UI) caller(c *fiber.Ctx) error {
	p, err := u.callerPage(c)
	if err != nil {
		return err
	}
	if p == nil {
		return u.FlashRedirect(c, "callcenter.call.none", "/c/"+cityOf(c).Slug)
	}
	if err := u.TakeFlash(c, &p.Page); err != nil {
		return err
	}
	return u.Render(c, "caller", p)
}
