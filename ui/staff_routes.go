package ui

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// staffRoutes registers the city staff pages under /admin (reached over LGWAN).
func (u *UI) staffRoutes(city fiber.Router) {
	open := func(h fiber.Handler) []fiber.Handler { return []fiber.Handler{u.staffSession, u.csrfProtect, h} }
	staff := func(h fiber.Handler) []fiber.Handler {
		return []fiber.Handler{u.staffSession, u.csrfProtect, u.requireStaff, h}
	}
	city.Use("/admin", u.adminIPAllow)                         // every /admin request, login included: the city's allow-list (ui/admin_ip_allow.go)
	city.Get("/admin/login", open(u.staffLoginShow)...)        // anyone
	city.Post("/admin/login", open(u.staffLoginSubmit)...)     // anyone (throttled per account)
	city.Post("/admin/logout", open(u.staffLogout)...)         // staff
	city.Get("/admin/password", staff(u.staffPasswordShow)...) // staff, admin (also when a change is forced)
	city.Post("/admin/password", staff(u.staffPasswordSubmit)...)
	city.Get("/admin", staff(u.staffDashboard)...)                   // staff, admin
	city.Get("/admin/checkin", staff(u.staffCheckinShow)...)         // staff, admin
	city.Post("/admin/checkin", staff(u.staffCheckinScan)...)        // staff, admin
	city.Post("/admin/checkin/issue", staff(u.staffCheckinIssue)...) // staff, admin

	admin := func(h fiber.Handler) []fiber.Handler {
		return []fiber.Handler{u.staffSession, u.csrfProtect, u.requireStaff, u.requireAdmin, h}
	}
	u.staffBookingNewRoutes(city, staff)      // ui/staff_booking_new_routes.go: book on a citizen's behalf (before /:id)
	u.staffBookingRoutes(city, staff)         // ui/staff_booking_routes.go: bookings, exports, print views
	u.staffCardRoutes(city, staff)            // ui/staff_card_routes.go: cards and progress
	u.adminRoutes(city, admin)                // ui/admin_routes.go: accounts, audit log
	u.adminSettingsRoutes(city, staff, admin) // ui/admin_settings_routes.go: settings, locations, schedules, help
	u.adminMailTemplateRoutes(city, admin)    // ui/admin_mailtpl_routes.go: the wording of the citizen mails

	u.staffMFARoutes(city, open, staff, admin) // ui/staff_mfa_routes.go: TOTP login code, enrolment, admin reset
	u.adminImportRoutes(city, admin)           // ui/admin_import_routes.go: card CSV imports, mapping profile
}

// requireAdmin lets only the city's administrators (市管理者) through.
func (u *UI) requireAdmin(c *fiber.Ctx) error {
	if s := staffOf(c); s == nil || s.StaffRole != string(tenant.RoleAdmin) {
		return tenant.Errorf(tenant.Forbidden, "error.forbidden")
	}
	return c.Next()
}

// staffSession loads the staff session (its own cookie) into the request, creating an anonymous
// one for the login form.
func (u *UI) staffSession(c *fiber.Ctx) error {
	t := tenantOf(c)
	s, err := u.staff.load(c, t)
	if err != nil {
		return err
	}
	if s == nil {
		s = &Session{TenantID: t.ID, CSRF: randomID(32)}
		if c.Method() == fiber.MethodGet {
			if err := u.staff.save(c, s); err != nil {
				return err
			}
		}
	}
	c.Locals(localSession, s)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Next()
}

// requireStaff lets only a logged-in, enabled staff account through; an account that must change
// its password is sent to the password page first.
func (u *UI) requireStaff(c *fiber.Ctx) error {
	s, _ := c.Locals(localSession).(*Session)
	if s == nil || s.StaffID == uuid.Nil {
		return c.Redirect("/admin/login", fiber.StatusSeeOther)
	}
	acc, err := u.deps.Accounts.ByID(c.UserContext(), tenantOf(c), s.StaffID)
	if tenant.ErrorCode(err) == tenant.NotFound || (err == nil && acc.Disabled) {
		_ = u.staff.destroy(c, s) // a disabled account's sessions end at its next request
		return c.Redirect("/admin/login", fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	s.StaffRole = string(acc.Role) // the account's current role, not the one at login
	if acc.MustChange && c.Path() != "/admin/password" {
		return c.Redirect("/admin/password", fiber.StatusSeeOther)
	}
	if u.mfaEnrolmentDue(c, acc) { // the city requires TOTP: enrol before anything else
		return c.Redirect("/admin/mfa", fiber.StatusSeeOther)
	}
	return c.Next()
}

// staffActorOf is the logged-in staff member as the domain and the audit log record them (the
// address is copied out of Fiber's buffer, which is reused after the handler returns).
func staffActorOf(c *fiber.Ctx) booking.Actor {
	return booking.Staff(staffOf(c).StaffLogin, strings.Clone(c.IP()))
}

// staffTakeFlash moves the staff session's one-time message into the page and clears it.
func (u *UI) staffTakeFlash(c *fiber.Ctx, b *BasePage) error {
	s := staffOf(c)
	if s == nil || s.Flash == "" {
		return nil
	}
	b.Flash, s.Flash = s.Flash, ""
	return u.staff.save(c, s)
}

// staffSetFlash stores a one-time message for the staff member's next page.
func (u *UI) staffSetFlash(c *fiber.Ctx, key string) error {
	s := staffOf(c)
	s.Flash = key
	return u.staff.save(c, s)
}

// staffFlashRedirect stores a one-time message and redirects (POST/redirect/GET).
func (u *UI) staffFlashRedirect(c *fiber.Ctx, key, to string) error {
	if err := u.staffSetFlash(c, key); err != nil {
		return err
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}

func staffOf(c *fiber.Ctx) *Session {
	s, _ := c.Locals(localSession).(*Session)
	return s
}
