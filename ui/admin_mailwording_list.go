package ui

import (
	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/ui/web"
)

// AdminMailTemplatesPage is the data of admin/mail_templates.html: every kind of citizen mail
// in every language, marked as the city's own wording or the default.
type AdminMailTemplatesPage struct {
	BasePage
	Templates []booking.MailTemplateView
}

// adminMailTemplateList lists the mails the admin can reword.
func (u *UI) adminMailTemplateList(c *fiber.Ctx) error {
	list, err := u.deps.Booking.MailTemplateList(c.UserContext(), web.TenantOf(c))
	if err != nil {
		return err
	}
	p := &AdminMailTemplatesPage{BasePage: u.base(c), Templates: list}
	if err := u.staffTakeFlash(c, &p.BasePage); err != nil {
		return err
	}
	return u.render(c, "admin/mail_templates", p)
}
