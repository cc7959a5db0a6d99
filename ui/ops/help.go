package ops

import (
	"github.com/gofiber/fiber/v2"
)

// HelpPage is the data of help.html, the 運用マニュアル of the vendor's ops team. The text is
// written in the template, in Japanese; the host names come from here.
type HelpPage struct {
	Page
	BaseDomain string
}

func (u *UI) help(c *fiber.Ctx) error {
	return u.Render(c, "help", &HelpPage{Page: u.Page(c), BaseDomain: u.deps.BaseDomain})
}
