package ui

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// A status change of every card the list's filter matches (e.g. all 取込済 cards → 通知書送付済 on
// the day the notices are posted): a check page with the count first, then one all-or-nothing
// change (booking.ChangeCardStatusByFilter). The count the clerk saw travels with the form; if
// the cards matching the filter are no longer that many, nothing changes and the page says so.

// StaffCardsChangePage is the data of staff/cards_change.html.
type StaffCardsChangePage struct {
	BasePage
	Query, Status, To string
	Count             int
	Checked           bool   // the change may be made: the count is shown with the button
	Message           string // a refused change, translated
	BackURL           string
}

func (u *UI) cardsChangePage(c *fiber.Ctx, q, status, to string) *StaffCardsChangePage {
	return &StaffCardsChangePage{BasePage: u.base(c), Query: q, Status: status, To: to, BackURL: admCardsURL(q, status, 1)}
}

// refuse fills the page from a refused check or change (invalid or conflict) and sets the status;
// any other error is returned for the error handler.
func (u *UI) cardsChangeRefused(c *fiber.Ctx, p *StaffCardsChangePage, err error) error {
	e := tenant.AsError(err)
	if e == nil || (e.Code != tenant.Invalid && e.Code != tenant.Conflict) {
		return err
	}
	p.Checked = false
	if e.Code == tenant.Invalid {
		p.Message = u.locales.T(p.Lang, admFirstField(e.Fields), nil)
	} else {
		p.Message = u.admMessage(p.Lang, e)
	}
	c.Status(web.StatusOf(e.Code))
	return u.render(c, "staff/cards_change", p)
}

// staffCardsChangeShow is the check page: what will change, and how many cards.
func (u *UI) staffCardsChangeShow(c *fiber.Ctx) error {
	p := u.cardsChangePage(c, strings.Clone(c.Query("q")), strings.Clone(c.Query("status")), strings.Clone(c.Query("to")))
	n, err := u.deps.Booking.CountCardsForChange(c.UserContext(), web.TenantOf(c),
		booking.CardFilter{No: p.Query, Status: booking.CardStatus(p.Status)}, booking.CardStatus(p.To))
	if err != nil {
		return u.cardsChangeRefused(c, p, err)
	}
	p.Count, p.Checked = n, n > 0
	return u.render(c, "staff/cards_change", p)
}

// staffCardsChange makes the change the check page showed.
func (u *UI) staffCardsChange(c *fiber.Ctx) error {
	p := u.cardsChangePage(c, strings.Clone(c.FormValue("q")), strings.Clone(c.FormValue("status")), strings.Clone(c.FormValue("to")))
	expect, _ := strconv.Atoi(c.FormValue("expect"))
	f := booking.CardFilter{No: p.Query, Status: booking.CardStatus(p.Status)}
	if _, err := u.deps.Booking.ChangeCardStatusByFilter(c.UserContext(), web.TenantOf(c), f, booking.CardStatus(p.To), expect, staffActorOf(c)); err != nil {
		return u.cardsChangeRefused(c, p, err)
	}
	return u.staffFlashRedirect(c, "cards.filter.done", admCardsURL(p.Query, p.To, 1))
}
