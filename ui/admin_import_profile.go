package ui

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// AdminImportProfilePage is the data of admin/import_profile.html: which column of the city's
// CSV holds each of our fields.
type AdminImportProfilePage struct {
	BasePage
	Fields []adminField
}

func (u *UI) importProfilePage(c *fiber.Ctx, p booking.ImportProfile, errs map[string]string) *AdminImportProfilePage {
	pg := &AdminImportProfilePage{BasePage: u.base(c)}
	pg.Errors = errs
	for _, f := range booking.ImportProfileFields {
		pg.Fields = append(pg.Fields, adminField{Lang: pg.Lang, Name: f.Field, Label: "import.profile." + f.Field,
			Hint: "import.profile." + f.Field + ".hint", Value: p.Value(f.Field), Error: errs[f.Field], Autocomplete: "off"})
	}
	return pg
}

func (u *UI) adminImportProfileShow(c *fiber.Ctx) error {
	p, err := u.deps.Booking.ImportProfile(c.UserContext(), web.TenantOf(c).ID)
	if err != nil {
		return err
	}
	pg := u.importProfilePage(c, p, nil)
	if err := u.staffTakeFlash(c, &pg.BasePage); err != nil {
		return err
	}
	return u.render(c, "admin/import_profile", pg)
}

// adminImportProfileSave validates and saves the mapping (audit-logged with before and after).
func (u *UI) adminImportProfileSave(c *fiber.Ctx) error {
	var p booking.ImportProfile
	for _, f := range booking.ImportProfileFields {
		p.SetImportProfileField(f.Field, strings.Clone(c.FormValue(f.Field)))
	}
	err := u.deps.Booking.SaveImportProfile(c.UserContext(), web.TenantOf(c).ID, p, staffActorOf(c))
	if e := tenant.AsError(err); e != nil && len(e.Fields) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
		return u.render(c, "admin/import_profile", u.importProfilePage(c, p, e.Fields))
	}
	if err != nil {
		return err
	}
	return u.staffFlashRedirect(c, "import.profile.saved", "/admin/imports/profile")
}
