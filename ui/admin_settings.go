package ui

import (
	"maps"
	"math"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// AdminSettingsPage is the data of admin/settings.html: the city's own settings (spec 3(3)オ,
// ク②).
type AdminSettingsPage struct {
	BasePage
	Booking []adminField // 予約の受付
	Contact []adminField // 市民へのご案内・メール
	Card    []adminField // 製造管理番号
	Retain  []adminField // 個人情報の保存期間

	Security securitySection // ログインとアクセスの制限 (ui/admin_settings_security.go)

	DeadlineOpeningDays bool // the deadline counts 開庁日 (booking.DeadlineDay)
}

// settingsForm is the settings form as posted (strings, re-shown on errors).
type settingsForm struct {
	DeadlineDays, HorizonDays, ReminderHour, Phone, MailFrom, CardPattern string
	NameDays, EmailDays, CardDays                                         string // retention periods

	TOTPRequired        bool
	AllowList           string // one entry a line
	DeadlineOpeningDays bool   // the deadline counts 開庁日
}

func settingsFormOf(t *tenant.Tenant) settingsForm {
	return settingsForm{
		DeadlineDays: strconv.Itoa(booking.DeadlineDays(t)),
		HorizonDays:  strconv.Itoa(booking.HorizonDays(t)),
		ReminderHour: strconv.Itoa(booking.ReminderHour(t)),
		Phone:        t.Settings.CallCenterPhone,
		MailFrom:     t.Settings.MailFrom,
		CardPattern:  t.Settings.CardNumberPattern,
		NameDays:     strconv.Itoa(booking.NameRetentionDays(t)),
		EmailDays:    strconv.Itoa(booking.EmailRetentionDays(t)),
		CardDays:     strconv.Itoa(booking.CardRetentionDays(t)),
		TOTPRequired: t.Settings.TOTPRequired,
		AllowList:    strings.Join(t.Settings.AdminAllowList, "\n"),

		DeadlineOpeningDays: t.Settings.DeadlineOpeningDays,
	}
}

func (u *UI) settingsPage(c *fiber.Ctx, f settingsForm, errs map[string]string) *AdminSettingsPage {
	p := &AdminSettingsPage{BasePage: u.base(c), DeadlineOpeningDays: f.DeadlineOpeningDays}
	p.Errors = errs
	lang := p.Lang
	field := func(name, label, hint, value string) adminField {
		return adminField{Lang: lang, Name: name, Label: label, Hint: hint, Value: value, Error: errs[name], Autocomplete: "off"}
	}
	num := func(af adminField) adminField { af.InputMode, af.Class = "numeric", "input-2"; return af }
	opt := func(af adminField) adminField { af.Optional = true; return af }
	p.Booking = []adminField{
		num(field("booking_deadline_days", "admin.settings.deadline", "admin.settings.deadline.hint", f.DeadlineDays)),
		num(field("horizon_days", "admin.settings.horizon", "admin.settings.horizon.hint", f.HorizonDays)),
		num(field("reminder_hour", "admin.settings.reminder_hour", "admin.settings.reminder_hour.hint", f.ReminderHour)),
	}
	phone := opt(field("call_center_phone", "admin.settings.phone", "admin.settings.phone.hint", f.Phone))
	phone.Type, phone.Class = "tel", "input-code"
	mail := opt(field("mail_from", "admin.settings.mail_from", "admin.settings.mail_from.hint", f.MailFrom))
	mail.Type = "email"
	p.Contact = []adminField{phone, mail}
	pat := opt(field("card_number_pattern", "admin.settings.card_pattern", "admin.settings.card_pattern.hint", f.CardPattern))
	pat.Class = "mono"
	p.Card = []adminField{pat}
	p.Retain = []adminField{
		opt(num(field("retention_name_days", "retention.settings.name", "retention.settings.name.hint", f.NameDays))),
		opt(num(field("retention_email_days", "retention.settings.email", "retention.settings.email.hint", f.EmailDays))),
		opt(num(field("retention_card_days", "retention.settings.card", "retention.settings.card.hint", f.CardDays))),
	}
	p.Security = u.securitySection(c, f, errs)
	return p
}

func (u *UI) adminSettingsShow(c *fiber.Ctx) error {
	t, err := tenant.NewService(u.deps.DB).BySlug(c.UserContext(), web.TenantOf(c).Slug) // fresh: the resolver caches
	if err != nil {
		return err
	}
	p := u.settingsPage(c, settingsFormOf(t), nil)
	if err := u.staffTakeFlash(c, &p.BasePage); err != nil {
		return err
	}
	return u.render(c, "admin/settings", p)
}

// adminSettingsSave parses the form and saves it through booking.UpdateSettings (validation, the
// audit line and the slots of new days when the booking horizon grew, in one transaction); a
// refused form comes back with every wrong field marked.
func (u *UI) adminSettingsSave(c *fiber.Ctx) error {
	f := settingsForm{
		DeadlineDays: strings.Clone(c.FormValue("booking_deadline_days")), HorizonDays: strings.Clone(c.FormValue("horizon_days")),
		ReminderHour: strings.Clone(c.FormValue("reminder_hour")), Phone: strings.Clone(c.FormValue("call_center_phone")),
		MailFrom: strings.Clone(c.FormValue("mail_from")), CardPattern: strings.Clone(c.FormValue("card_number_pattern")),
		NameDays: strings.Clone(c.FormValue("retention_name_days")), EmailDays: strings.Clone(c.FormValue("retention_email_days")),
		CardDays:     strings.Clone(c.FormValue("retention_card_days")),
		TOTPRequired: c.FormValue("totp_required") == "1", AllowList: strings.Clone(c.FormValue("admin_allow_list")),
		DeadlineOpeningDays: c.FormValue("deadline_opening_days") == "1",
	}
	st, errs := f.settings()
	actor := staffActorOf(c)
	if len(errs) == 0 {
		_, err := u.deps.Booking.UpdateSettings(c.UserContext(), web.TenantOf(c), st, actor)
		e := tenant.AsError(err)
		if e == nil || len(e.Fields) == 0 {
			if err != nil {
				return err
			}
			return u.staffFlashRedirect(c, "admin.settings.saved", "/admin/settings")
		}
		errs = maps.Clone(e.Fields) // the rules ValidateSettings does not know: the sender's domain
	}
	// Every wrong field at once: what could not be read as typed, then the domain's rules.
	if _, err := booking.ValidateSettings(st, actor.IP); tenant.AsError(err) != nil {
		for k, v := range tenant.AsError(err).Fields {
			if _, ok := errs[k]; !ok {
				errs[k] = v
			}
		}
	}
	c.Status(fiber.StatusUnprocessableEntity)
	return u.render(c, "admin/settings", u.settingsPage(c, f, errs))
}

// settings reads the form as typed (full-width digits and dashes accepted) into settings; a
// number that cannot be read is marked with its field's message key. The rules (ranges, formats,
// the allow-list) are booking.ValidateSettings'.
func (f settingsForm) settings() (tenant.Settings, map[string]string) {
	errs := map[string]string{}
	st := tenant.Settings{CallCenterPhone: normalizePhone(f.Phone), MailFrom: halfWidth(f.MailFrom),
		CardNumberPattern: strings.TrimSpace(f.CardPattern), TOTPRequired: f.TOTPRequired, DeadlineOpeningDays: f.DeadlineOpeningDays}
	for _, n := range []struct {
		field, value, key string
		optional          bool
		out               **int
	}{
		{"booking_deadline_days", f.DeadlineDays, "admin.settings.deadline.invalid", false, &st.BookingDeadlineDays},
		{"reminder_hour", f.ReminderHour, "admin.settings.reminder_hour.invalid", false, &st.ReminderHour},
		{"retention_name_days", f.NameDays, "retention.settings.name.invalid", true, &st.RetentionNameDays},
		{"retention_email_days", f.EmailDays, "retention.settings.email.invalid", true, &st.RetentionEmailDays},
		{"retention_card_days", f.CardDays, "retention.settings.card.invalid", true, &st.RetentionCardDays},
	} {
		if n.optional && halfWidth(n.value) == "" {
			continue // blank: the default
		}
		if v, ok := parseWhole(n.value, math.MinInt32, math.MaxInt32); ok {
			*n.out = &v
		} else {
			errs[n.field] = n.key
		}
	}
	if v, ok := parseWhole(f.HorizonDays, math.MinInt32, math.MaxInt32); ok {
		st.HorizonDays = v
	} else {
		errs["horizon_days"] = "admin.settings.horizon.invalid"
	}
	for _, line := range strings.Split(halfWidthLines(f.AllowList), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			st.AdminAllowList = append(st.AdminAllowList, line)
		}
	}
	return st, errs
}

// normalizePhone maps full-width characters and every kind of dash to ASCII and drops spaces.
func normalizePhone(s string) string {
	s = strings.NewReplacer(" ", "", "ー", "-", "−", "-", "‐", "-", "–", "-", "—", "-", "―", "-").Replace(halfWidth(s))
	return s
}
