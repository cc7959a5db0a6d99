package vendor

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
)

// PasswordPage is the data of password.html.
type PasswordPage struct {
	Page
	Forced bool // the issued password must be changed before anything else
}

func (u *Base) passwordShow(c *fiber.Ctx) error {
	acc := AccountOf(c)
	if !SessionOf(c).LoggedIn() && !acc.MustChange {
		return c.Redirect("/mfa", fiber.StatusSeeOther) // a first login whose password is already changed
	}
	return u.Render(c, "password", &PasswordPage{Page: u.Page(c), Forced: acc.MustChange})
}

// passwordSubmit changes the password (tenant.OpsAccounts.ChangePassword: the current one and the
// password rules); at a first login the TOTP enrolment follows.
func (u *Base) passwordSubmit(c *fiber.Ctx) error {
	s, acc := SessionOf(c), AccountOf(c)
	cur, next := strings.Clone(c.FormValue("current_password")), strings.Clone(c.FormValue("new_password"))
	var err error
	if next != c.FormValue("new_password2") {
		err = &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{"new_password2": "staff.password.mismatch"}}
	} else {
		err = u.Ops.ChangePassword(c.UserContext(), acc.ID, cur, next, c.IP())
	}
	if f := FormError(err); f != nil {
		p := &PasswordPage{Page: u.Page(c), Forced: acc.MustChange}
		p.Fail(f, "current_password", "new_password", "new_password2")
		return u.RenderForm(c, "password", p)
	}
	if tenant.ErrorCode(err) == tenant.Unauthorized { // disabled meanwhile
		return u.signOut(c)
	}
	if err != nil {
		return err
	}
	if !s.LoggedIn() {
		s.PendingAt = u.Now() // the enrolment's time counts from the new password
		if err := u.Sess.Save(c, s); err != nil {
			return err
		}
		return c.Redirect("/mfa", fiber.StatusSeeOther)
	}
	return u.FlashRedirect(c, "ops.password.changed", "/")
}
