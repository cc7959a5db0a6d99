package ops

import (
	"embed"
	"slices"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

//go:embed templates
var templatesFS embed.FS

// Page is embedded in every page's data of the ops console: the shared page data, who is logged
// in, and the error summary in the form's order.
type Page struct {
	web.Page
	Login   string       // the logged-in member's login id; "" before the login and for an operator
	Summary []FieldError // the fields in error, in the order of the form
}

// FieldError is one line of the error summary: the field (its control's id is "f-"+Field) and
// the message key.
type FieldError struct {
	Field, Key string
}

// page fills the common page data from the request.
func (u *UI) page(c *fiber.Ctx) Page {
	p := Page{Page: u.core.Page(c)}
	// The menu is for the ops team: not before the login ends, nor for an operator refused here.
	if s, a := sessionOf(c), accountOf(c); s != nil && s.LoggedIn() && a != nil && a.Role == tenant.OpsRoleOps {
		p.Login = s.Login
	}
	return p
}

// fail puts a form's field errors into the page: each beside its field, and in the summary in
// order (the fields of the form, first to last); fields not named in order follow, sorted.
func (p *Page) fail(fields map[string]string, order ...string) {
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
func formError(err error) map[string]string {
	if e := tenant.AsError(err); e != nil && len(e.Fields) > 0 && e.Code != tenant.Internal && e.Code != tenant.Unavailable {
		return e.Fields
	}
	return nil
}

// render executes a page (web.Views.Render: a template error never sends half a page).
func (u *UI) render(c *fiber.Ctx, page string, data any) error {
	return u.views.Render(c, page, data)
}

// renderForm re-renders a form with its errors (422).
func (u *UI) renderForm(c *fiber.Ctx, page string, data any) error {
	return u.render(c.Status(fiber.StatusUnprocessableEntity), page, data)
}

// ErrorPage is the data of errors/error.html.
type ErrorPage struct {
	Page
	web.ErrorPage
	Session bool // a session with a login (finished or not): the page offers to log out
}

// RenderError renders the ops console's error page (web.ErrorPages).
func (u *UI) RenderError(c *fiber.Ctx, p web.ErrorPage) error {
	s := sessionOf(c)
	return u.render(c, "errors/error", &ErrorPage{Page: u.page(c), ErrorPage: p, Session: s != nil && s.account() != uuid.Nil})
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
