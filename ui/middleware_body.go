package ui

import (
	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
)

// importUploadPath is the one route that may receive a body larger than maxFormBytes.
const importUploadPath = "/admin/imports"

// maxFormBytes is the body limit of every other request.
const maxFormBytes = 1 << 20

// appBodyLimit is the largest request body the server reads at all (fiber.Config.BodyLimit).
const appBodyLimit = booking.ImportMaxFileBytes + maxFormBytes

// bodyLimit refuses a body over maxFormBytes (413) except for the card CSV upload, which the
// app's BodyLimit (booking.ImportMaxFileBytes plus room for the form) bounds.
func (u *UI) bodyLimit(c *fiber.Ctx) error {
	if len(c.Request().Body()) > maxFormBytes && !(c.Method() == fiber.MethodPost && c.Path() == importUploadPath) {
		return fiber.ErrRequestEntityTooLarge
	}
	return c.Next()
}
