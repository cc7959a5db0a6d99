package ui

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// openAPI describes every /api/v1 route; a test checks it against the registered routes.
//
//go:embed openapi.json
var openAPI string

// apiOpenAPI serves the OpenAPI document of the citizen API.
func (u *UI) apiOpenAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.SendString(openAPI)
}
