package ui

import (
	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/ui/web"
)

// adminMailTemplateReset goes back to the default wording (the domain deletes the city's row
// and writes the audit log).
func (u *UI) adminMailTemplateReset(c *fiber.Ctx) error {
	kind, lang, err := mailTemplateParams(c)
	if err != nil {
		return err
	}
	removed, err := u.deps.Booking.ResetMailTemplate(c.UserContext(), web.TenantOf(c), kind, lang, staffActorOf(c))
	if err != nil {
		return err
	}
	msg := "mailwording.reset.done"
	if !removed {
		msg = "mailwording.reset.already"
	}
	return u.staffFlashRedirect(c, msg, mailTemplatePath(kind, lang))
}
