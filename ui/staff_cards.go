package ui

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// StaffCardsPage is the data of staff/cards.html: counts per status, the search form, one page
// of cards and the bulk status form.
type StaffCardsPage struct {
	BasePage
	Query    string // the number as typed
	Status   string
	Statuses []booking.CardStatus
	Counts   []StaffCardCount
	All      int
	List     *booking.CardList // nil when the search was refused
	Selected map[string]bool   // card ids ticked before a refused bulk change
	To       string            // target status of a refused bulk change
	Message  string            // a refused change, translated
	PrevURL  string
	NextURL  string
	// FilterQuery is the list's filter as the start of a query string ("q=…&status=…&"), for the
	// CSV and print links; Next the statuses the filtered cards may all be changed to.
	FilterQuery template.URL
	Next        []booking.CardStatus
}

// StaffCardCount is one row of the counts table.
type StaffCardCount struct {
	Status booking.CardStatus
	N      int
	URL    string
}

// StaffCardPage is the data of staff/cards_detail.html.
type StaffCardPage struct {
	BasePage
	Rec         *booking.CardRecord
	Locked      bool
	LockUnknown bool // Redis did not answer
	Message     string
	To          string
}

func admCardsURL(q, status string, page int) string {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	if status != "" {
		v.Set("status", status)
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return "/admin/cards"
	}
	return "/admin/cards?" + v.Encode()
}

// cardsFilterQuery is "q=…&status=…&" without the empty ones.
func cardsFilterQuery(q, status string) template.URL {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	if status != "" {
		v.Set("status", status)
	}
	if len(v) == 0 {
		return ""
	}
	return template.URL(v.Encode() + "&")
}

// admMessage translates a domain error whose Args name card statuses ("from", "to") with the
// statuses' labels.
func (u *UI) admMessage(lang string, e *tenant.Error) string {
	args := map[string]any{}
	for k, v := range e.Args {
		args[k] = v
	}
	for _, k := range []string{"from", "to"} {
		if v, ok := args[k].(string); ok {
			args[k] = u.locales.T(lang, "cards.status."+v, nil)
		}
	}
	return u.locales.T(lang, e.Key, args)
}

func admPageNo(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// cardsPage searches and fills the list page; a refused search (bad number) comes back as
// field errors with status 422.
func (u *UI) cardsPage(c *fiber.Ctx, q, status string, page int) (*StaffCardsPage, error) {
	p := &StaffCardsPage{BasePage: u.base(c), Query: q, Status: status, Statuses: booking.CardStatuses}
	list, err := u.deps.Booking.SearchCards(c.UserContext(), web.TenantOf(c), booking.CardQuery{No: q, Status: booking.CardStatus(status), Page: page},
		staffActorOf(c))
	if e := tenant.AsError(err); e != nil && e.Code == tenant.Invalid {
		p.Errors = e.Fields
		c.Status(fiber.StatusUnprocessableEntity)
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	p.List, p.All = list, list.All
	p.FilterQuery = cardsFilterQuery(list.No, status)
	if status != "" {
		p.Next = booking.NextCardStatuses(booking.CardStatus(status))
	}
	for _, st := range booking.CardStatuses {
		p.Counts = append(p.Counts, StaffCardCount{Status: st, N: list.Counts[st], URL: admCardsURL("", string(st), 1)})
	}
	if list.Page > 1 {
		p.PrevURL = admCardsURL(q, status, list.Page-1)
	}
	if list.Page < list.Pages() {
		p.NextURL = admCardsURL(q, status, list.Page+1)
	}
	return p, nil
}

func (u *UI) staffCards(c *fiber.Ctx) error {
	q, status := strings.Clone(c.Query("q")), strings.Clone(c.Query("status"))
	p, err := u.cardsPage(c, q, status, admPageNo(c.Query("page")))
	if err != nil {
		return err
	}
	if err := u.staffTakeFlash(c, &p.BasePage); err != nil {
		return err
	}
	return u.render(c, "staff/cards", p)
}

// admFormIDs reads the repeated "id" form field; a malformed id is not_found, as another city's
// id is.
func admFormIDs(c *fiber.Ctx) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	for _, raw := range c.Request().PostArgs().PeekMulti("id") {
		id, err := uuid.ParseBytes(raw)
		if err != nil {
			return nil, tenant.Errorf(tenant.NotFound, "error.not_found")
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// staffCardsBulkStatus changes the ticked cards to one status, all or nothing. A refused change
// shows the list again with the boxes still ticked and the reason; another city's card is 404.
func (u *UI) staffCardsBulkStatus(c *fiber.Ctx) error {
	ids, err := admFormIDs(c)
	if err != nil {
		return err
	}
	to := strings.Clone(c.FormValue("to"))
	q, status, page := strings.Clone(c.FormValue("q")), strings.Clone(c.FormValue("status")), admPageNo(c.FormValue("page"))
	err = u.deps.Booking.ChangeCardStatus(c.UserContext(), web.TenantOf(c), ids, booking.CardStatus(to), staffActorOf(c))
	e := tenant.AsError(err)
	if err == nil {
		if err := u.staffSetFlash(c, "cards.bulk.done"); err != nil {
			return err
		}
		return c.Redirect(admCardsURL(q, status, page), fiber.StatusSeeOther)
	}
	if e == nil || (e.Code != tenant.Conflict && e.Code != tenant.Invalid) {
		return err
	}
	p, perr := u.cardsPage(c, q, status, page)
	if perr != nil {
		return perr
	}
	p.To, p.Selected = to, map[string]bool{}
	for _, id := range ids {
		p.Selected[id.String()] = true
	}
	if e.Code == tenant.Invalid {
		p.Message = u.locales.T(p.Lang, admFirstField(e.Fields), nil)
	} else {
		p.Message = u.admMessage(p.Lang, e)
	}
	c.Status(web.StatusOf(e.Code))
	return u.render(c, "staff/cards", p)
}

func admFirstField(fields map[string]string) string {
	for _, k := range []string{"to", "id", "q", "status"} {
		if v, ok := fields[k]; ok {
			return v
		}
	}
	for _, v := range fields {
		return v
	}
	return "error.invalid"
}

func admParamID(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	return id, nil
}

// cardPage loads a card's record (audit-logged as card.view) and its lock state.
func (u *UI) cardPage(c *fiber.Ctx, id uuid.UUID) (*StaffCardPage, error) {
	rec, err := u.deps.Booking.CardRecord(c.UserContext(), web.TenantOf(c), id, staffActorOf(c))
	if err != nil {
		return nil, err
	}
	p := &StaffCardPage{BasePage: u.base(c), Rec: rec}
	locked, err := u.deps.Booking.CardHardLocked(c.UserContext(), web.TenantOf(c), rec.Card.CardNo)
	if err != nil {
		u.log.Warn("card lock state unknown", "request_id", web.RequestIDOf(c), "tenant", web.TenantSlug(c), "err", err)
		p.LockUnknown = true
	}
	p.Locked = locked
	return p, nil
}

func (u *UI) staffCard(c *fiber.Ctx) error {
	id, err := admParamID(c)
	if err != nil {
		return err
	}
	p, err := u.cardPage(c, id)
	if err != nil {
		return err
	}
	if err := u.staffTakeFlash(c, &p.BasePage); err != nil {
		return err
	}
	return u.render(c, "staff/cards_detail", p)
}

// staffCardStatus changes one card's status; a refused change shows the card again with why.
func (u *UI) staffCardStatus(c *fiber.Ctx) error {
	id, err := admParamID(c)
	if err != nil {
		return err
	}
	to := strings.Clone(c.FormValue("to"))
	err = u.deps.Booking.ChangeCardStatus(c.UserContext(), web.TenantOf(c), []uuid.UUID{id}, booking.CardStatus(to), staffActorOf(c))
	e := tenant.AsError(err)
	if err == nil {
		if err := u.staffSetFlash(c, "cards.changed"); err != nil {
			return err
		}
		return c.Redirect("/admin/cards/"+id.String(), fiber.StatusSeeOther)
	}
	if e == nil || (e.Code != tenant.Conflict && e.Code != tenant.Invalid) {
		return err
	}
	p, perr := u.cardPage(c, id)
	if perr != nil {
		return perr
	}
	p.To = to
	if e.Code == tenant.Invalid {
		p.Message = u.locales.T(p.Lang, admFirstField(e.Fields), nil)
	} else {
		p.Message = u.admMessage(p.Lang, e)
	}
	c.Status(web.StatusOf(e.Code))
	return u.render(c, "staff/cards_detail", p)
}

// staffCardUnlock lifts a card's citizen login lock once the clerk confirms they checked the
// holder's identity (ticked box).
func (u *UI) staffCardUnlock(c *fiber.Ctx) error {
	id, err := admParamID(c)
	if err != nil {
		return err
	}
	if c.FormValue("confirmed") != "1" {
		p, err := u.cardPage(c, id)
		if err != nil {
			return err
		}
		p.Errors = map[string]string{"confirmed": "cards.unlock.confirm_required"}
		c.Status(fiber.StatusUnprocessableEntity)
		return u.render(c, "staff/cards_detail", p)
	}
	if err := u.deps.Booking.UnlockCardByID(c.UserContext(), web.TenantOf(c), id, staffActorOf(c)); err != nil {
		return err
	}
	if err := u.staffSetFlash(c, "cards.unlock.done"); err != nil {
		return err
	}
	return c.Redirect("/admin/cards/"+id.String(), fiber.StatusSeeOther)
}
