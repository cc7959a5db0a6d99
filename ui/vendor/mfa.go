package vendor

import (
	"encoding/base64"
	"html/template"
	"strings"

	"github.com/gofiber/fiber/v2"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/madoguchi/madoguchi/tenant"
)

// MFAPage is the data of mfa.html: the TOTP enrolment of a first login (or after a reset).
type MFAPage struct {
	Page
	LoginID string
	QR      template.URL // the otpauth:// address as an inline PNG (CSP img-src 'self' data:)
	Secret  string       // the same key in groups of four, for typing in by hand
}

// mfaPage builds the enrolment page, making (once per session) the secret to enrol with, which
// is saved only when a code confirms it.
func (u *Base) mfaPage(c *fiber.Ctx) (*MFAPage, error) {
	s, acc := SessionOf(c), AccountOf(c)
	if s.MFASecret == "" {
		var err error
		if s.MFASecret, err = tenant.NewOpsTOTPSecret(acc.LoginID); err != nil {
			return nil, err
		}
		if err := u.Sess.Save(c, s); err != nil {
			return nil, err
		}
	}
	url, err := tenant.OpsTOTPURL(acc.LoginID, s.MFASecret)
	if err != nil {
		return nil, err
	}
	png, err := qrcode.Encode(url, qrcode.Medium, 240)
	if err != nil {
		return nil, err
	}
	var groups []string
	for i := 0; i < len(s.MFASecret); i += 4 {
		groups = append(groups, s.MFASecret[i:min(i+4, len(s.MFASecret))])
	}
	return &MFAPage{Page: u.Page(c), LoginID: acc.LoginID, Secret: strings.Join(groups, " "),
		QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))}, nil
}

// mfaNext sends an account to the step it needs instead of the enrolment: the password change
// first; with TOTP already on, the top page (logged in) or the code (not yet).
func (u *Base) mfaNext(c *fiber.Ctx, acc *tenant.OpsAccount) (string, bool) {
	switch {
	case acc.MustChange:
		return "/password", true
	case acc.TOTPEnabled && SessionOf(c).LoggedIn():
		return "/", true
	case acc.TOTPEnabled:
		return "/login/code", true
	}
	return "", false
}

func (u *Base) mfaShow(c *fiber.Ctx) error {
	if to, ok := u.mfaNext(c, AccountOf(c)); ok {
		return c.Redirect(to, fiber.StatusSeeOther)
	}
	p, err := u.mfaPage(c)
	if err != nil {
		return err
	}
	return u.Render(c, "mfa", p)
}

// mfaEnable saves the session's secret once a code from the member's app matches it
// (tenant.OpsAccounts.EnableTOTP), which finishes the login.
func (u *Base) mfaEnable(c *fiber.Ctx) error {
	s := SessionOf(c)
	acc, err := u.Ops.EnableTOTP(c.UserContext(), AccountOf(c).ID, s.MFASecret, strings.Clone(c.FormValue("code")), c.IP())
	if f := FormError(err); f != nil {
		p, perr := u.mfaPage(c)
		if perr != nil {
			return perr
		}
		p.Fail(f, "code")
		return u.RenderForm(c, "mfa", p)
	}
	switch tenant.ErrorCode(err) {
	case "":
		return u.loggedIn(c, acc)
	case tenant.Unauthorized: // disabled meanwhile
		return u.signOut(c)
	case tenant.Forbidden, tenant.Conflict: // the password first, or enrolled meanwhile
		if to, ok := u.mfaNext(c, AccountOf(c)); ok {
			return c.Redirect(to, fiber.StatusSeeOther)
		}
	}
	return err
}
