package ui

import (
	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/ui/web"
)

// AdminMailTemplateResetPage is the data of admin/mail_template_reset.html: the check before a
// city's wording is replaced by the default, showing both subjects.
type AdminMailTemplateResetPage struct {
	BasePage
	Current *booking.MailTemplateView
	Default booking.MailTemplateView
}

// KindKey names the kind of mail; LangKey its language.
func (p *AdminMailTemplateResetPage) KindKey() string {
	return "mailwording.kind." + string(p.Current.Kind)
}

// LangKey names the language of the mail.
func (p *AdminMailTemplateResetPage) LangKey() string { return "mailwording.lang." + p.Current.Lang }

// Back is the edit page.
func (p *AdminMailTemplateResetPage) Back() string {
	return mailTemplatePath(p.Current.Kind, p.Current.Lang)
}

// adminMailTemplateResetConfirm asks before going back to the default wording.
func (u *UI) adminMailTemplateResetConfirm(c *fiber.Ctx) error {
	kind, lang, err := mailTemplateParams(c)
	if err != nil {
		return err
	}
	cur, err := u.deps.Booking.MailTemplateOf(c.UserContext(), web.TenantOf(c), kind, lang)
	if err != nil {
		return err
	}
	subj, body := booking.DefaultMailTemplate(kind, lang)
	p := &AdminMailTemplateResetPage{BasePage: u.base(c), Current: cur,
		Default: booking.MailTemplateView{Kind: kind, Lang: lang, Subject: subj, Body: body}}
	return u.render(c, "admin/mail_template_reset", p)
}
