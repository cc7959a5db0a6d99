package ui

import "github.com/gofiber/fiber/v2"

// SetAdmitted sets the function the waiting room calls for each request it lets in, before the
// request's handler runs: a test holds a request in the room with it.
func SetAdmitted(d *Deps, f func(c *fiber.Ctx)) { d.admitted = f }
