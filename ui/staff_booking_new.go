package ui

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// Booking on a citizen's behalf (channel "staff"), in steps that each have their own address so
// Back and a second tab work: card numbers → place → day → time (held) → e-mail and check →
// booked. The cards travel as ids in the query ("cards=id,id"); every step loads them again in
// this tenant, so another city's id is not found.

// NewBookingLine is one card-number box of the first step, echoed back with its error.
type NewBookingLine struct {
	N        int
	Value    string
	ErrKey   string
	Existing *booking.Reservation
}

// NewBookingPage is the data of the staff/bookings_new*.html pages.
type NewBookingPage struct {
	BasePage
	Self       string
	Lines      []NewBookingLine
	Cards      []booking.Card
	CardsParam string // "id,id" for links and hidden fields
	Locations  []booking.Location
	Location   *booking.Location
	OneLoc     bool
	// calendar
	Month      booking.Date
	Weeks      [][]*booking.DayAvailability
	Prev, Next string
	Today      booking.Date
	// times
	Day   booking.Date
	Slots []booking.Slot
	// confirm
	Hold     *booking.Hold
	Slot     *booking.Slot
	Email    string
	Email2   string
	MailLang string
	ErrorKey string
}

// Party is the number of cards being booked.
func (p *NewBookingPage) Party() int { return len(p.Cards) }

// Q returns the query string that carries the cards, and the location when chosen, to the next
// step.
func (p *NewBookingPage) Q() string {
	v := url.Values{"cards": {p.CardsParam}}
	if p.Location != nil {
		v.Set("location", p.Location.ID.String())
	}
	return v.Encode()
}

// parseCardIDs reads "id,id" as typed into a link; anything malformed is not found.
func parseCardIDs(raw string) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	for _, s := range strings.Split(raw, ",") {
		id, err := uuid.Parse(strings.TrimSpace(s))
		if err != nil {
			return nil, tenant.Errorf(tenant.NotFound, "error.not_found")
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// newBookingPage loads the cards named by raw ("id,id") for a later step.
func (u *UI) newBookingPage(c *fiber.Ctx, raw string) (*NewBookingPage, error) {
	ids, err := parseCardIDs(raw)
	if err != nil {
		return nil, err
	}
	cards, err := u.deps.Booking.BookingCards(c.UserContext(), web.TenantOf(c), ids)
	if tenant.ErrorCode(err) == tenant.Invalid {
		return nil, tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	if err != nil {
		return nil, err
	}
	p := &NewBookingPage{BasePage: u.base(c), Self: selfURL(c), Cards: cards, Today: booking.DateOf(u.now())}
	parts := make([]string, len(cards))
	for i, cd := range cards {
		parts[i] = cd.ID.String()
	}
	p.CardsParam = strings.Join(parts, ",")
	return p, nil
}

// staffBookingNewShow is the first step: up to six card numbers (a family books together).
func (u *UI) staffBookingNewShow(c *fiber.Ctx) error {
	p := &NewBookingPage{BasePage: u.base(c), Self: selfURL(c)}
	for i := 1; i <= booking.MaxParty; i++ {
		p.Lines = append(p.Lines, NewBookingLine{N: i})
	}
	if err := u.staffTakeFlash(c, &p.BasePage); err != nil {
		return err
	}
	return u.render(c, "staff/bookings_new", p)
}

// staffBookingNewCards looks the typed numbers up; every refused line is named with its reason
// (and the booking that already holds the card), else the clerk goes on to the place.
func (u *UI) staffBookingNewCards(c *fiber.Ctx) error {
	p := &NewBookingPage{BasePage: u.base(c), Self: "/admin/bookings/new"}
	inputs := make([]string, booking.MaxParty)
	for i := range inputs {
		inputs[i] = strings.Clone(c.FormValue(fmt.Sprintf("card%d", i+1)))
		p.Lines = append(p.Lines, NewBookingLine{N: i + 1, Value: inputs[i]})
	}
	lines, err := u.deps.Booking.LookupCards(c.UserContext(), web.TenantOf(c), inputs, staffActorOf(c))
	if e := tenant.AsError(err); e != nil && e.Code == tenant.Invalid {
		p.Errors = e.Fields
		if len(e.Fields) == 0 {
			p.Errors = map[string]string{"card1": e.Key}
		}
		for _, l := range lines {
			p.Lines[l.Line-1].ErrKey, p.Lines[l.Line-1].Existing = l.ErrKey, l.Existing
		}
		for f, key := range p.Errors {
			var n int
			if _, err := fmt.Sscanf(f, "card%d", &n); err == nil && n >= 1 && n <= len(p.Lines) {
				p.Lines[n-1].ErrKey = key
			}
		}
		c.Status(fiber.StatusUnprocessableEntity)
		return u.render(c, "staff/bookings_new", p)
	}
	if err != nil {
		return err
	}
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = l.Card.ID.String()
	}
	return c.Redirect("/admin/bookings/new/place?"+url.Values{"cards": {strings.Join(parts, ",")}}.Encode(), fiber.StatusSeeOther)
}
