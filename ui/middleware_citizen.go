package ui

import (
	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// withSession loads the session (starting an anonymous one, stored once a page with forms is
// served so they carry a CSRF token bound to it) and marks the response uncacheable.
func (u *UI) withSession(c *fiber.Ctx) error {
	sess, err := u.session(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return web.NextThenKeep(c, sess, func() error { return u.sess.Save(c, sess) })
}

// requireCitizen lets only a logged-in card through (others go to the login page) and renews the
// session's idle timeout: 30 minutes from the citizen's last request, not from the last change.
func (u *UI) requireCitizen(c *fiber.Ctx) error {
	sess := citizenOf(c)
	if sess == nil || !sess.LoggedIn() {
		if web.IsAPI(c) {
			return tenant.Errorf(tenant.Unauthorized, "error.unauthorized")
		}
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	if err := u.sess.Touch(c, sess); err != nil {
		return err
	}
	return c.Next()
}
