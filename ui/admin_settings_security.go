package ui

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
)

// securitySection is the 「ログインとアクセスの制限」 part of admin/settings.html: TOTP for all
// staff, and the /admin allow-list with the lines that are wrong and the admin's own address.
type securitySection struct {
	TOTPRequired bool
	AllowList    string
	Error        string // message key of the allow-list field
	BadLines     []tenant.AllowListError
	ClientIP     string // the address this admin's requests come from, as the allow-list sees it
}

func (u *UI) securitySection(c *fiber.Ctx, f settingsForm, errs map[string]string) securitySection {
	sec := securitySection{TOTPRequired: f.TOTPRequired, AllowList: f.AllowList, Error: errs["admin_allow_list"], ClientIP: c.IP()}
	if sec.Error != "" {
		_, sec.BadLines = tenant.ParseAllowList(halfWidthLines(f.AllowList))
	}
	return sec
}

// halfWidthLines maps full-width ASCII to half-width as halfWidth does, keeping the line breaks
// (and so the line numbers of errors).
func halfWidthLines(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - (0xFF01 - 0x21)
		case r == '\u3000':
			return ' '
		}
		return r
	}, s)
}
