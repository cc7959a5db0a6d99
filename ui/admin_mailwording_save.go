package ui

import (
	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// adminMailTemplateSave saves the city's wording of one kind and language (the domain checks
// it and writes the audit log); a wording that cannot be used is shown again with the reasons
// (422) and nothing is saved.
func (u *UI) adminMailTemplateSave(c *fiber.Ctx) error {
	kind, lang, err := mailTemplateParams(c)
	if err != nil {
		return err
	}
	f := parseMailTemplateForm(c)
	in := booking.MailTemplateInput{Kind: kind, Lang: lang, Subject: f.Subject, Body: f.Body}
	err = u.deps.Booking.SaveMailTemplate(c.UserContext(), web.TenantOf(c), in, staffActorOf(c))
	if tenant.ErrorCode(err) == tenant.Invalid {
		cur, cerr := u.deps.Booking.MailTemplateOf(c.UserContext(), web.TenantOf(c), kind, lang)
		if cerr != nil {
			return cerr
		}
		c.Status(fiber.StatusUnprocessableEntity)
		return u.render(c, "admin/mail_template", u.mailTemplatePage(c, cur, f, err))
	}
	if err != nil {
		return err
	}
	return u.staffFlashRedirect(c, "mailwording.saved", mailTemplatePath(kind, lang))
}
