package ui

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
)

// Request helpers of the city console: the logged-in clerk as the domain records them, and the
// one-time flash messages of the citizen and staff sessions. What every console shares (the
// request id, the tenant, the session the guard loaded) is in package web.

// staffActorOf is the logged-in staff member as the domain and the audit log record them (the
// address is copied out of Fiber's buffer, which is reused after the handler returns).
func staffActorOf(c *fiber.Ctx) tenant.Actor {
	s := staffOf(c)
	return tenant.Staff(s.StaffID, s.StaffLogin, strings.Clone(c.IP()))
}

// flash stores a one-time message key shown on the citizen's next page.
func (u *UI) flash(c *fiber.Ctx, sess *CitizenSession, key string) error {
	sess.Flash = key
	return u.sess.Save(c, sess)
}

// takeFlash returns and clears the citizen session's flash message key.
func (u *UI) takeFlash(c *fiber.Ctx, sess *CitizenSession) (string, error) {
	f := sess.Flash
	if f == "" {
		return "", nil
	}
	sess.Flash = ""
	return f, u.sess.Save(c, sess)
}

// staffTakeFlash moves the staff session's one-time message into the page and clears it.
func (u *UI) staffTakeFlash(c *fiber.Ctx, b *BasePage) error {
	s := staffOf(c)
	if s == nil || s.Flash == "" {
		return nil
	}
	b.Flash, s.Flash = s.Flash, ""
	return u.staffSess.Save(c, s)
}

// staffSetFlash stores a one-time message for the staff member's next page.
func (u *UI) staffSetFlash(c *fiber.Ctx, key string) error {
	s := staffOf(c)
	s.Flash = key
	return u.staffSess.Save(c, s)
}

// staffFlashRedirect stores a one-time message and redirects (POST/redirect/GET).
func (u *UI) staffFlashRedirect(c *fiber.Ctx, key, to string) error {
	if err := u.staffSetFlash(c, key); err != nil {
		return err
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}
