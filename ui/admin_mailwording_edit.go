package ui

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// AdminMailTemplatePage is the data of admin/mail_template.html: one kind of citizen mail in
// one language, its subject and body as typed, the placeholders with their meaning, and the
// rendered preview when the admin asked for one.
type AdminMailTemplatePage struct {
	BasePage
	Kind     booking.OutboxKind
	MailLang string
	Current  *booking.MailTemplateView // what is saved now (its Custom, UpdatedBy, UpdatedAt)
	Subject  adminField
	Body     adminField
	Messages map[string]string // field → translated error (the error summary and the fields)
	Holders  []mailPlaceholder
	Preview  *booking.MailPreview
}

// mailPlaceholder is one row of the placeholder list.
type mailPlaceholder struct {
	Tag      string // {{.Code}}
	Meaning  string // message key
	Required bool   // this kind's body must show it (or its alternative)
}

// KindKey names the kind of mail (確認メール …); LangKey its language.
func (p *AdminMailTemplatePage) KindKey() string { return "mailwording.kind." + string(p.Kind) }

// LangKey names the language of the mail (日本語, 英語).
func (p *AdminMailTemplatePage) LangKey() string { return "mailwording.lang." + p.MailLang }

// Action is where the form saves.
func (p *AdminMailTemplatePage) Action() string { return mailTemplatePath(p.Kind, p.MailLang) }

func mailTemplatePath(kind booking.OutboxKind, lang string) string {
	return "/admin/settings/mail/" + string(kind) + "/" + lang
}

// mailTemplateForm is the form as posted.
type mailTemplateForm struct{ Subject, Body string }

func parseMailTemplateForm(c *fiber.Ctx) mailTemplateForm {
	return mailTemplateForm{Subject: strings.Clone(c.FormValue("subject")), Body: strings.Clone(c.FormValue("body"))}
}

// mailTemplateParams reads :kind and :lang; anything else is not_found.
func mailTemplateParams(c *fiber.Ctx) (booking.OutboxKind, string, error) {
	kind, lang := booking.OutboxKind(c.Params("kind")), c.Params("lang")
	if !booking.ValidMailTemplateKey(kind, lang) {
		return "", "", tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	return kind, strings.Clone(lang), nil
}

// mailTemplatePage builds the edit page; err (a domain invalid error) fills the messages.
func (u *UI) mailTemplatePage(c *fiber.Ctx, cur *booking.MailTemplateView, f mailTemplateForm, err error) *AdminMailTemplatePage {
	p := &AdminMailTemplatePage{BasePage: u.base(c), Kind: cur.Kind, MailLang: cur.Lang, Current: cur, Messages: map[string]string{}}
	if e := tenant.AsError(err); e != nil {
		p.Errors = e.Fields
		for field, key := range e.Fields {
			p.Messages[field] = u.locales.T(p.Lang, key, e.Args)
		}
	}
	p.Subject = adminField{Lang: p.Lang, Name: "subject", Label: "mailwording.subject", Hint: "mailwording.subject.hint", Value: f.Subject,
		Error: p.Messages["subject"], Autocomplete: "off"}
	p.Body = adminField{Lang: p.Lang, Name: "body", Label: "mailwording.body", Hint: "mailwording.body.hint", Value: f.Body,
		Error: p.Messages["body"], Rows: 22, Class: "mail-body"}
	required := map[string]bool{}
	for _, group := range booking.RequiredMailPlaceholders(cur.Kind) {
		for _, n := range group {
			required[n] = true
		}
	}
	for _, n := range booking.MailPlaceholders {
		if (n == "OldWhen" || n == "OldPlace") && cur.Kind != booking.KindChanged {
			continue // empty in every other kind
		}
		p.Holders = append(p.Holders, mailPlaceholder{Tag: "{{." + n + "}}", Meaning: "mailwording.ph." + n, Required: required[n]})
	}
	return p
}

// adminMailTemplateEdit shows the current wording of one kind and language in the form.
func (u *UI) adminMailTemplateEdit(c *fiber.Ctx) error {
	kind, lang, err := mailTemplateParams(c)
	if err != nil {
		return err
	}
	cur, err := u.deps.Booking.MailTemplateOf(c.UserContext(), web.TenantOf(c), kind, lang)
	if err != nil {
		return err
	}
	p := u.mailTemplatePage(c, cur, mailTemplateForm{Subject: cur.Subject, Body: cur.Body}, nil)
	if err := u.staffTakeFlash(c, &p.BasePage); err != nil {
		return err
	}
	return u.render(c, "admin/mail_template", p)
}
