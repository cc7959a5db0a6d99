package ui

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// StaffLoginPage is the data of staff/login.html and staff/password.html.
type StaffLoginPage struct {
	BasePage
	LoginID  string
	ErrorKey string
	Forced   bool
}

func (u *UI) staffLoginShow(c *fiber.Ctx) error {
	return u.render(c, "staff/login", &StaffLoginPage{BasePage: u.base(c)})
}

func (u *UI) staffLoginSubmit(c *fiber.Ctx) error {
	login, pw := strings.Clone(c.FormValue("login_id")), strings.Clone(c.FormValue("password"))
	acc, err := u.deps.Accounts.Authenticate(c.UserContext(), web.TenantOf(c), login, pw, c.IP())
	if e := tenant.AsError(err); e != nil && (e.Code == tenant.Unauthorized || e.Code == tenant.Throttled) {
		c.Status(web.StatusOf(e.Code))
		return u.render(c, "staff/login", &StaffLoginPage{BasePage: u.base(c), LoginID: login, ErrorKey: e.Key})
	}
	if err != nil {
		return err
	}
	if acc.TOTPEnabled { // the code page (ui/staff_login_code.go) finishes the login
		return u.staffMFAPending(c, acc)
	}
	return u.staffLoggedIn(c, acc)
}

// staffLoggedIn starts the authenticated session under a new id and opens the dashboard.
func (u *UI) staffLoggedIn(c *fiber.Ctx, acc *tenant.Account) error {
	s := staffOf(c)
	*s = StaffSession{Session: web.Session{ID: s.ID, Scope: s.Scope}, StaffID: acc.ID, StaffLogin: acc.LoginID, StaffRole: string(acc.Role), AuthAt: u.now()}
	if err := u.staffSess.Renew(c, s); err != nil {
		return err
	}
	return c.Redirect("/admin", fiber.StatusSeeOther)
}

func (u *UI) staffLogout(c *fiber.Ctx) error {
	if err := u.staffSess.Destroy(c, staffOf(c)); err != nil {
		return err
	}
	return c.Redirect("/admin/login", fiber.StatusSeeOther)
}

func (u *UI) staffPasswordShow(c *fiber.Ctx) error {
	acc, err := u.deps.Accounts.ByID(c.UserContext(), web.TenantOf(c), staffOf(c).StaffID)
	if err != nil {
		return err
	}
	return u.render(c, "staff/password", &StaffLoginPage{BasePage: u.base(c), Forced: acc.MustChange})
}

// staffPasswordSubmit changes the password after checking the current one and the policy.
func (u *UI) staffPasswordSubmit(c *fiber.Ctx) error {
	cur, next, again := c.FormValue("current_password"), c.FormValue("new_password"), c.FormValue("new_password2")
	var err error
	if next != again {
		err = &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{"new_password2": "staff.password.mismatch"}}
	} else {
		err = u.deps.Accounts.ChangePassword(c.UserContext(), web.TenantOf(c), staffOf(c).StaffID, cur, next)
	}
	if e := tenant.AsError(err); e != nil && e.Code == tenant.Invalid {
		p := &StaffLoginPage{BasePage: u.base(c)}
		p.Errors = e.Fields
		c.Status(fiber.StatusUnprocessableEntity)
		return u.render(c, "staff/password", p)
	}
	if err != nil {
		return err
	}
	return u.staffFlashRedirect(c, "staff.password.changed", "/admin")
}
