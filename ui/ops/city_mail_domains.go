package ops

import (
	"strings"
	"unicode"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/ui/vendor"
)

// cityMailDomainsShow is the form of the domains the city may send mail From.
func (u *UI) cityMailDomainsShow(c *fiber.Ctx) error {
	p, err := u.cityPage(c)
	if err != nil {
		return err
	}
	p.Value = strings.Join(p.City.MailDomains, "\n")
	return u.Render(c, "city_mail_domains", p)
}

// cityMailDomainsSave replaces them (tenant.Service.SetMailDomains). The domains may be typed one
// a line or separated by commas or spaces; none leaves the city on the platform's sender.
func (u *UI) cityMailDomainsSave(c *fiber.Ctx) error {
	text := strings.Clone(c.FormValue("mail_domains"))
	list := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '、' || r == '，' || unicode.IsSpace(r) })
	if _, err := u.deps.Cities.SetMailDomains(c.UserContext(), slugOf(c), list, actorOf(c)); err != nil {
		if f := vendor.FormError(err); f != nil {
			return u.refuseCity(c, "city_mail_domains", text, f)
		}
		return err
	}
	return u.doneCity(c, "ops.mail_domains.saved", "")
}
