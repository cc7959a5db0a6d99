package ui

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// One card typed by staff (a card that missed the J-LIS file, a re-issued notice), checked as a
// row of the card CSV import is: the same refusals with the same reasons, shown by field.

// StaffCardNewPage is the data of staff/cards_new.html.
type StaffCardNewPage struct {
	BasePage
	Row     booking.CardRow
	Reasons map[string][]string // form field → the import's reasons for it
	Message string              // the heading of the error summary, translated
	Fields  []CardNewField
}

// CardNewField is one input of the entry form.
type CardNewField struct {
	Name, Value string
	Required    bool
	Numeric     bool
	Errors      []string // translated key errors and the import's reasons
}

// fields lays out the form with what was typed and the errors of each field.
func (u *UI) cardNewFields(p *StaffCardNewPage) {
	r := p.Row
	p.Fields = []CardNewField{
		{Name: "card_no", Value: r.CardNo, Required: true, Numeric: true}, {Name: "birth", Value: r.Birth, Required: true, Numeric: true},
		{Name: "name", Value: r.Name}, {Name: "name_kana", Value: r.NameKana}, {Name: "storage_pos", Value: r.StoragePos},
	}
	for i := range p.Fields {
		f := &p.Fields[i]
		if k, ok := p.Errors[f.Name]; ok {
			f.Errors = append(f.Errors, u.locales.T(p.Lang, k, nil))
		}
		f.Errors = append(f.Errors, p.Reasons[f.Name]...)
	}
}

// cardRowFields maps the import's column names to the form's fields.
var cardRowFields = map[string]string{"製造管理番号": "card_no", "生年月日": "birth", "氏名": "name", "氏名カナ": "name_kana", "保管位置": "storage_pos"}

func (u *UI) staffCardNewShow(c *fiber.Ctx) error {
	p := &StaffCardNewPage{BasePage: u.base(c)}
	if err := u.staffTakeFlash(c, &p.BasePage); err != nil {
		return err
	}
	u.cardNewFields(p)
	return u.render(c, "staff/cards_new", p)
}

// staffCardNew adds the card and comes back to an empty form for the next one (the card is then
// on the list as 取込済); a refused card
// shows the form again with what was typed and why (422, or 409 for a known number).
func (u *UI) staffCardNew(c *fiber.Ctx) error {
	p := &StaffCardNewPage{BasePage: u.base(c), Row: booking.CardRow{
		CardNo: strings.Clone(c.FormValue("card_no")), Birth: strings.Clone(c.FormValue("birth")), Name: strings.Clone(c.FormValue("name")),
		NameKana: strings.Clone(c.FormValue("name_kana")), StoragePos: strings.Clone(c.FormValue("storage_pos"))}}
	_, err := u.deps.Booking.AddCardByHand(c.UserContext(), web.TenantOf(c), p.Row, staffActorOf(c))
	if err == nil {
		return u.staffFlashRedirect(c, "cards.new.done", "/admin/cards/new")
	}
	e := tenant.AsError(err)
	var re *booking.CardRowError
	switch {
	case errors.As(err, &re):
		p.Reasons = map[string][]string{}
		for _, r := range re.Reasons {
			f := cardRowFields[r.Column]
			p.Reasons[f] = append(p.Reasons[f], r.Text)
		}
	case e != nil && e.Code == tenant.Conflict:
		p.Errors = e.Fields
	default:
		return err
	}
	p.Message = u.locales.T(p.Lang, "cards.new.refused", nil)
	u.cardNewFields(p)
	c.Status(web.StatusOf(e.Code))
	return u.render(c, "staff/cards_new", p)
}
