package ui

import (
	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// adminMailTemplatePreview renders the wording as typed with a sample booking of the city and
// shows it under the form, which keeps the input; nothing is saved. A wording that cannot be
// used is shown with the reasons (422).
func (u *UI) adminMailTemplatePreview(c *fiber.Ctx) error {
	kind, lang, err := mailTemplateParams(c)
	if err != nil {
		return err
	}
	f := parseMailTemplateForm(c)
	in := booking.MailTemplateInput{Kind: kind, Lang: lang, Subject: f.Subject, Body: f.Body}
	prev, err := u.deps.Booking.PreviewMail(c.UserContext(), web.TenantOf(c), in, booking.MailEnv{BaseDomain: u.deps.BaseDomain})
	if err != nil && tenant.ErrorCode(err) != tenant.Invalid {
		return err
	}
	cur, cerr := u.deps.Booking.MailTemplateOf(c.UserContext(), web.TenantOf(c), kind, lang)
	if cerr != nil {
		return cerr
	}
	p := u.mailTemplatePage(c, cur, f, err)
	p.Preview = prev
	if err != nil {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return u.render(c, "admin/mail_template", p)
}
