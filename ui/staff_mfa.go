package ui

import (
	"encoding/base64"
	"html/template"
	"strings"

	"github.com/gofiber/fiber/v2"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// StaffMFAPage is the data of staff/mfa.html: a member's own TOTP (認証アプリ) page.
type StaffMFAPage struct {
	BasePage
	Enabled  bool
	Required bool         // the city requires TOTP: it cannot be turned off
	QR       template.URL // enrolment: the otpauth:// address as an inline PNG (CSP img-src 'self' data:)
	Secret   string       // enrolment: the same key in groups of four, for typing in by hand
}

// staffMFAPage builds the page; while not enrolled it makes (once per session) the secret to
// enrol with, which is saved only when a code confirms it.
func (u *UI) staffMFAPage(c *fiber.Ctx) (*StaffMFAPage, error) {
	t, s := web.TenantOf(c), staffOf(c)
	acc, err := u.deps.Accounts.ByID(c.UserContext(), t, s.StaffID)
	if err != nil {
		return nil, err
	}
	p := &StaffMFAPage{BasePage: u.base(c), Enabled: acc.TOTPEnabled, Required: t.Settings.TOTPRequired}
	if acc.TOTPEnabled {
		return p, nil
	}
	if s.MFASecret == "" {
		if s.MFASecret, err = tenant.NewTOTPSecret(t, acc.LoginID); err != nil {
			return nil, err
		}
		if err := u.staffSess.Save(c, s); err != nil {
			return nil, err
		}
	}
	url, err := tenant.TOTPURL(t, acc.LoginID, s.MFASecret)
	if err != nil {
		return nil, err
	}
	png, err := qrcode.Encode(url, qrcode.Medium, 240)
	if err != nil {
		return nil, err
	}
	p.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	var groups []string
	for i := 0; i < len(s.MFASecret); i += 4 {
		groups = append(groups, s.MFASecret[i:min(i+4, len(s.MFASecret))])
	}
	p.Secret = strings.Join(groups, " ")
	return p, nil
}

func (u *UI) staffMFAShow(c *fiber.Ctx) error {
	p, err := u.staffMFAPage(c)
	if err != nil {
		return err
	}
	if err := u.staffTakeFlash(c, &p.BasePage); err != nil {
		return err
	}
	return u.render(c, "staff/mfa", p)
}

// staffMFAFormError re-renders the page with per-field errors (422) for a domain invalid error.
func (u *UI) staffMFAFormError(c *fiber.Ctx, err error) error {
	e := tenant.AsError(err)
	if e == nil || e.Code != tenant.Invalid {
		return err
	}
	p, perr := u.staffMFAPage(c)
	if perr != nil {
		return perr
	}
	p.Errors = e.Fields
	c.Status(fiber.StatusUnprocessableEntity)
	return u.render(c, "staff/mfa", p)
}

// staffMFAEnable saves the session's secret once the member's current password (re-authentication)
// checks out and a code from the member's app matches the secret.
func (u *UI) staffMFAEnable(c *fiber.Ctx) error {
	s := staffOf(c)
	err := u.deps.Accounts.EnableTOTP(c.UserContext(), web.TenantOf(c), s.StaffID, strings.Clone(c.FormValue("password")),
		s.MFASecret, strings.Clone(c.FormValue("code")), c.IP())
	if err != nil {
		return u.staffMFAFormError(c, err)
	}
	s.MFASecret = ""
	return u.staffFlashRedirect(c, "mfa.enabled", "/admin/mfa")
}

// staffMFADisable turns TOTP off after the password and a current code.
func (u *UI) staffMFADisable(c *fiber.Ctx) error {
	err := u.deps.Accounts.DisableTOTP(c.UserContext(), web.TenantOf(c), staffOf(c).StaffID,
		strings.Clone(c.FormValue("password")), strings.Clone(c.FormValue("code")), c.IP())
	if err != nil {
		return u.staffMFAFormError(c, err)
	}
	return u.staffFlashRedirect(c, "mfa.disabled", "/admin/mfa")
}

// adminAccountMFAReset turns a member's TOTP off (lost phone) and ends their sessions.
func (u *UI) adminAccountMFAReset(c *fiber.Ctx) error {
	id, err := admParamID(c)
	if err != nil {
		return err
	}
	if _, err := u.deps.Accounts.ResetTOTP(c.UserContext(), web.TenantOf(c), id, staffActorOf(c)); err != nil {
		return err
	}
	if err := u.adminEndSessions(c, id); err != nil {
		return err
	}
	return u.adminDone(c, id, "mfa.reset.done")
}
