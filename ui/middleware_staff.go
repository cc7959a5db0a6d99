package ui

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// staffSession loads the staff session (its own cookie) into the request, starting an anonymous
// one for the login form (stored once the form is served).
func (u *UI) staffSession(c *fiber.Ctx) error {
	scope := web.TenantOf(c).ID.String()
	s, err := u.staffSess.Load(c, scope)
	if err != nil {
		return err
	}
	if s == nil {
		s = u.staffSess.New(scope)
	}
	web.SetSession(c, s)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return web.NextThenKeep(c, s, func() error { return u.staffSess.Save(c, s) })
}

// requireStaff lets only a logged-in, enabled staff account through; an account that must change
// its password is sent to the password page first, and only then, where the city requires TOTP,
// to the enrolment page.
func (u *UI) requireStaff(c *fiber.Ctx) error {
	s := staffOf(c)
	if s == nil || s.StaffID == uuid.Nil {
		return c.Redirect("/admin/login", fiber.StatusSeeOther)
	}
	acc, err := u.deps.Accounts.ByID(c.UserContext(), web.TenantOf(c), s.StaffID)
	if tenant.ErrorCode(err) == tenant.NotFound || (err == nil && acc.Disabled) {
		_ = u.staffSess.Destroy(c, s) // a disabled account's sessions end at its next request
		return c.Redirect("/admin/login", fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	if err := u.staffSess.Touch(c, s); err != nil { // idle: 30 minutes from the last request
		return err
	}
	s.StaffRole = string(acc.Role) // the account's current role, not the one at login
	// The password first; a required TOTP enrolment follows it.
	if acc.MustChange {
		if c.Path() != "/admin/password" {
			return c.Redirect("/admin/password", fiber.StatusSeeOther)
		}
		return c.Next()
	}
	if u.mfaEnrolmentDue(c, acc) { // the city requires TOTP: enrol before anything else
		return c.Redirect("/admin/mfa", fiber.StatusSeeOther)
	}
	return c.Next()
}

// mfaEnrolmentDue reports whether the city requires TOTP and acc has none yet, on a page other
// than the enrolment page itself: requireStaff then sends the member there first.
func (u *UI) mfaEnrolmentDue(c *fiber.Ctx, acc *tenant.Account) bool {
	t := web.TenantOf(c)
	return t != nil && t.Settings.TOTPRequired && !acc.TOTPEnabled && !strings.HasPrefix(c.Path(), "/admin/mfa")
}

// requireAdmin lets only the city's administrators (市管理者) through. It runs after requireStaff,
// which has put the account's current role into the session.
func (u *UI) requireAdmin(c *fiber.Ctx) error {
	if s := staffOf(c); s == nil || s.StaffRole != string(tenant.RoleAdmin) {
		return tenant.Errorf(tenant.Forbidden, "error.forbidden")
	}
	return c.Next()
}
