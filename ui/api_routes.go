package ui

import "github.com/gofiber/fiber/v2"

// apiRoutes registers the citizen JSON API under /api/v1 on city hosts.
func (u *UI) apiRoutes(city fiber.Router) {}
