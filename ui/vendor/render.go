package vendor

import (
	"slices"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// Page is embedded in every page's data of a vendor console: the shared page data, who is logged
// in, the error summary in the form's order and, on the call center's, the city served.
type Page struct {
	web.Page
	Login   string         // the logged-in member's login id; "" before the login and for another role
	Role    tenant.OpsRole // the logged-in member's role (with Login)
	Summary []FieldError   // the fields in error, in the order of the form
	City    *Banner        // the city the page acts for (the call center's banner); nil elsewhere
}

// Banner is the city a call-center page acts for, as its banner shows it on every page.
type Banner struct {
	Slug, Name, Kana string
	Colour           string // the city's banner colour (#rrggbb)
	Training         bool   // a training city (研修用): the training banner goes with the city's
}

// FieldError is one line of the error summary: the field (its control's id is "f-"+Field) and
// the message key.
type FieldError struct {
	Field, Key string
}

// Page fills the common page data from the request (and the console's Decorate).
func (u *Base) Page(c *fiber.Ctx) Page {
	p := Page{Page: u.Core.Page(c)}
	// The menu is for the console's members: not before the login ends, nor for another role.
	if s, a := SessionOf(c), AccountOf(c); s != nil && s.LoggedIn() && a != nil && u.member(a) {
		p.Login, p.Role = s.Login, a.Role
	}
	if u.Decorate != nil {
		u.Decorate(c, &p)
	}
	return p
}

// fail puts a form's field errors into the page: each beside its field, and in the summary in
// order (the fields of the form, first to last); fields not named in order follow, sorted.
func (p *Page) Fail(fields map[string]string, order ...string) {
	p.Errors = fields
	var rest []string
	for f := range fields {
		if !slices.Contains(order, f) {
			rest = append(rest, f)
		}
	}
	sort.Strings(rest)
	for _, f := range append(slices.Clone(order), rest...) {
		if k, ok := fields[f]; ok {
			p.Summary = append(p.Summary, FieldError{Field: f, Key: k})
		}
	}
}

// formError returns the fields of a domain refusal that names them (shown beside the fields,
// answered 422), or nil for any other error, which the error handler answers.
func FormError(err error) map[string]string {
	if e := tenant.AsError(err); e != nil && len(e.Fields) > 0 && e.Code != tenant.Internal && e.Code != tenant.Unavailable {
		return e.Fields
	}
	return nil
}

// render executes a page (web.Views.Render: a template error never sends half a page).
func (u *Base) Render(c *fiber.Ctx, page string, data any) error {
	return u.Views.Render(c, page, data)
}

// renderForm re-renders a form with its errors (422).
func (u *Base) RenderForm(c *fiber.Ctx, page string, data any) error {
	return u.Render(c.Status(fiber.StatusUnprocessableEntity), page, data)
}

// ErrorPage is the data of errors/error.html.
type ErrorPage struct {
	Page
	web.ErrorPage
	Session bool // a session with a login (finished or not): the page offers to log out
}

// RenderError renders the console's error page (web.ErrorPages).
func (u *Base) RenderError(c *fiber.Ctx, p web.ErrorPage) error {
	s := SessionOf(c)
	return u.Render(c, "errors/error", &ErrorPage{Page: u.Page(c), ErrorPage: p, Session: s != nil && s.account() != uuid.Nil})
}

// Field is one labelled input of a form, as the shared "admin-field" partial draws it.
type Field struct {
	Lang         string
	Name         string // form name; the control's id is "f-"+Name, which the error summary links to
	Label        string // message keys
	Hint         string
	Error        string
	Value        string
	Optional     bool
	Type         string // input type, "text" unless set
	InputMode    string
	Autocomplete string
	Class        string // extra classes of the control
}

// Describedby is the value of the control's aria-describedby: its hint and error, if any.
func (f Field) Describedby() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, "h-"+f.Name)
	}
	if f.Error != "" {
		ids = append(ids, "e-"+f.Name)
	}
	return strings.Join(ids, " ")
}

// InputType is the control's type attribute.
func (f Field) InputType() string {
	if f.Type == "" {
		return "text"
	}
	return f.Type
}
