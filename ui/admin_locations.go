package ui

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// AdminLocationsPage is the data of admin/locations.html: the city's 交付場所 (spec 2(3)エ).
type AdminLocationsPage struct {
	BasePage
	Locations []booking.Location
}

// AdminLocationFormPage is the data of admin/locations_form.html, for adding and editing.
type AdminLocationFormPage struct {
	BasePage
	ID       uuid.UUID // uuid.Nil when adding
	Title    string    // the location's saved name when editing
	Fields   []adminField
	Guidance adminField
	Active   bool
}

// Action is where the form posts.
func (p *AdminLocationFormPage) Action() string {
	if p.ID == uuid.Nil {
		return "/admin/locations"
	}
	return "/admin/locations/" + p.ID.String() + "/edit"
}

// locationForm is the location form as posted.
type locationForm struct {
	Name, Address, Guidance, SortOrder string
	Active                             bool
}

func (u *UI) adminLocationsList(c *fiber.Ctx) error {
	locs, err := u.deps.Booking.Locations(c.UserContext(), web.TenantOf(c).ID, false)
	if err != nil {
		return err
	}
	p := &AdminLocationsPage{BasePage: u.base(c), Locations: locs}
	if err := u.staffTakeFlash(c, &p.BasePage); err != nil {
		return err
	}
	return u.render(c, "admin/locations", p)
}

func (u *UI) adminLocationNew(c *fiber.Ctx) error {
	locs, err := u.deps.Booking.Locations(c.UserContext(), web.TenantOf(c).ID, false)
	if err != nil {
		return err
	}
	next := 0
	for _, l := range locs {
		next = max(next, l.SortOrder+1)
	}
	return u.render(c, "admin/locations_form", u.locationPage(c, uuid.Nil, "", locationForm{SortOrder: strconv.Itoa(next), Active: true}, nil))
}

func (u *UI) adminLocationEdit(c *fiber.Ctx) error {
	l, err := u.adminLocation(c)
	if err != nil {
		return err
	}
	f := locationForm{Name: l.Name, Address: l.Address, Guidance: l.Guidance, SortOrder: strconv.Itoa(l.SortOrder), Active: l.Active}
	return u.render(c, "admin/locations_form", u.locationPage(c, l.ID, l.Name, f, nil))
}

func (u *UI) adminLocationCreate(c *fiber.Ctx) error {
	f := parseLocationForm(c)
	l, errs := f.location()
	if len(errs) == 0 {
		created, err := u.deps.Booking.AddLocation(c.UserContext(), web.TenantOf(c), l, staffActorOf(c))
		if e := tenant.AsError(err); e != nil && len(e.Fields) > 0 {
			errs = e.Fields
		} else if err != nil {
			return err
		} else {
			return u.staffFlashRedirect(c, "admin.locations.created", "/admin/locations/"+created.ID.String()+"/schedule")
		}
	}
	c.Status(fiber.StatusUnprocessableEntity)
	return u.render(c, "admin/locations_form", u.locationPage(c, uuid.Nil, "", f, errs))
}

func (u *UI) adminLocationUpdate(c *fiber.Ctx) error {
	old, err := u.adminLocation(c)
	if err != nil {
		return err
	}
	f := parseLocationForm(c)
	l, errs := f.location()
	if len(errs) == 0 {
		l.ID = old.ID
		_, err := u.deps.Booking.UpdateLocation(c.UserContext(), web.TenantOf(c), l, staffActorOf(c))
		if e := tenant.AsError(err); e != nil && len(e.Fields) > 0 {
			errs = e.Fields
		} else if err != nil {
			return err
		} else {
			return u.staffFlashRedirect(c, "admin.locations.updated", "/admin/locations")
		}
	}
	c.Status(fiber.StatusUnprocessableEntity)
	return u.render(c, "admin/locations_form", u.locationPage(c, old.ID, old.Name, f, errs))
}

// adminLocation loads the location named by :id; an unknown id, a malformed one and another
// city's location are all not_found.
func (u *UI) adminLocation(c *fiber.Ctx) (*booking.Location, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return nil, tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	return u.deps.Booking.LocationByID(c.UserContext(), web.TenantOf(c).ID, id)
}

func parseLocationForm(c *fiber.Ctx) locationForm {
	return locationForm{
		Name: strings.Clone(c.FormValue("name")), Address: strings.Clone(c.FormValue("address")),
		Guidance: strings.Clone(c.FormValue("guidance")), SortOrder: strings.Clone(c.FormValue("sort_order")),
		Active: c.FormValue("active") != "",
	}
}

// location checks the form; the domain checks lengths and the unique name.
func (f locationForm) location() (booking.Location, map[string]string) {
	errs := map[string]string{}
	l := booking.Location{Name: strings.TrimSpace(f.Name), Address: strings.TrimSpace(f.Address),
		Guidance: strings.TrimSpace(strings.ReplaceAll(f.Guidance, "\r\n", "\n")), Active: f.Active}
	if n, ok := parseWhole(f.SortOrder, 0, 999); ok {
		l.SortOrder = n
	} else {
		errs["sort_order"] = "admin.locations.sort_order.invalid"
	}
	if e := tenant.AsError(l.Validate()); e != nil {
		for k, v := range e.Fields {
			errs[k] = v
		}
	}
	return l, errs
}

func (u *UI) locationPage(c *fiber.Ctx, id uuid.UUID, title string, f locationForm, errs map[string]string) *AdminLocationFormPage {
	p := &AdminLocationFormPage{BasePage: u.base(c), ID: id, Title: title, Active: f.Active}
	p.Errors = errs
	field := func(name, label, hint, value string, optional bool) adminField {
		return adminField{Lang: p.Lang, Name: name, Label: label, Hint: hint, Value: value, Error: errs[name], Optional: optional, Autocomplete: "off"}
	}
	order := field("sort_order", "admin.locations.sort_order", "admin.locations.sort_order.hint", f.SortOrder, false)
	order.InputMode, order.Class = "numeric", "input-2"
	p.Fields = []adminField{
		field("name", "admin.locations.name", "admin.locations.name.hint", f.Name, false),
		field("address", "admin.locations.address", "admin.locations.address.hint", f.Address, true),
		order,
	}
	p.Guidance = field("guidance", "admin.locations.guidance", "admin.locations.guidance.hint", f.Guidance, true)
	p.Guidance.Rows = 8
	return p
}
