package callcenter

import "github.com/gofiber/fiber/v2"

// help is the operator manual (オペレーター向けマニュアル).
func (u *UI) help(c *fiber.Ctx) error {
	p := u.Page(c)
	return u.Render(c, "help", &p)
}
