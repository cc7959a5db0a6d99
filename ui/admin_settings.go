package ui

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
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
}

// settingsForm is the settings form as posted (strings, re-shown on errors).
type settingsForm struct {
	DeadlineDays, HorizonDays, ReminderHour, Phone, MailFrom, CardPattern string
	NameDays, EmailDays, CardDays                                         string // retention periods

	TOTPRequired bool
	AllowList    string // one entry a line
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
	}
}

func (u *UI) settingsPage(c *fiber.Ctx, f settingsForm, errs map[string]string) *AdminSettingsPage {
	p := &AdminSettingsPage{BasePage: u.base(c)}
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
	t, err := tenant.NewService(u.deps.DB).BySlug(c.UserContext(), tenantOf(c).Slug) // fresh: the resolver caches
	if err != nil {
		return err
	}
	p := u.settingsPage(c, settingsFormOf(t), nil)
	if err := u.staffTakeFlash(c, &p.BasePage); err != nil {
		return err
	}
	return u.render(c, "admin/settings", p)
}

// adminSettingsSave validates every field, saves the settings with an audit line (before and
// after) and, when the booking horizon grew, makes the slots of the new days at once.
func (u *UI) adminSettingsSave(c *fiber.Ctx) error {
	f := settingsForm{
		DeadlineDays: strings.Clone(c.FormValue("booking_deadline_days")), HorizonDays: strings.Clone(c.FormValue("horizon_days")),
		ReminderHour: strings.Clone(c.FormValue("reminder_hour")), Phone: strings.Clone(c.FormValue("call_center_phone")),
		MailFrom: strings.Clone(c.FormValue("mail_from")), CardPattern: strings.Clone(c.FormValue("card_number_pattern")),
		NameDays: strings.Clone(c.FormValue("retention_name_days")), EmailDays: strings.Clone(c.FormValue("retention_email_days")),
		CardDays:     strings.Clone(c.FormValue("retention_card_days")),
		TOTPRequired: c.FormValue("totp_required") == "1", AllowList: strings.Clone(c.FormValue("admin_allow_list")),
	}
	st, errs := f.settings()
	f.security(&st, c.IP(), errs)
	if len(errs) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
		return u.render(c, "admin/settings", u.settingsPage(c, f, errs))
	}
	t, grew, err := u.saveSettings(c.UserContext(), tenantOf(c), st, staffActorOf(c))
	if err != nil {
		return err
	}
	if grew {
		if err := u.deps.Booking.GenerateSlots(c.UserContext(), t); err != nil {
			return err
		}
	}
	return u.staffFlashRedirect(c, "admin.settings.saved", "/admin/settings")
}

// saveSettings replaces the tenant's settings and writes "settings.update" to the audit log in
// the same transaction. It returns the updated tenant and whether the booking horizon grew.
func (u *UI) saveSettings(ctx context.Context, cur *tenant.Tenant, st tenant.Settings, ed booking.Actor) (*tenant.Tenant, bool, error) {
	var t tenant.Tenant
	var grew bool
	err := tenant.InTx(ctx, u.deps.DB, cur.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(&t).Where("id = ?", cur.ID).For("UPDATE").Scan(ctx); err != nil {
			return err
		}
		before := settingsAudit(t.Settings)
		oldHorizon := booking.HorizonDays(&t)
		if err := tenant.NewService(tx).UpdateSettings(ctx, t.ID, st); err != nil {
			return err
		}
		t.Settings = st
		grew = booking.HorizonDays(&t) > oldHorizon
		return tenant.Audit(ctx, tx, t.ID, tenant.AuditEntry{Actor: ed.ID, Action: "settings.update", Target: t.Slug,
			Before: before, After: settingsAudit(st), IP: ed.IP})
	})
	return &t, grew, err
}

func settingsAudit(st tenant.Settings) map[string]any {
	b, _ := json.Marshal(st)
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	return m
}

// phoneRE is the shape of a phone number as shown to citizens: digits in groups separated by
// hyphens or parentheses; settings also requires 10 or 11 digits starting with 0.
var phoneRE = regexp.MustCompile(`^[0-9()\-]{10,20}$`)

// settings checks the form and returns the settings, or message keys by field.
func (f settingsForm) settings() (tenant.Settings, map[string]string) {
	errs := map[string]string{}
	var st tenant.Settings
	if n, ok := parseWhole(f.DeadlineDays, 0, 30); ok {
		st.BookingDeadlineDays = &n
	} else {
		errs["booking_deadline_days"] = "admin.settings.deadline.invalid"
	}
	if n, ok := parseWhole(f.HorizonDays, 14, 365); ok {
		st.HorizonDays = n
	} else {
		errs["horizon_days"] = "admin.settings.horizon.invalid"
	}
	if n, ok := parseWhole(f.ReminderHour, 0, 23); ok {
		st.ReminderHour = &n
	} else {
		errs["reminder_hour"] = "admin.settings.reminder_hour.invalid"
	}
	if phone := normalizePhone(f.Phone); phone != "" {
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, phone)
		if !phoneRE.MatchString(phone) || len(digits) < 10 || len(digits) > 11 || digits[0] != '0' {
			errs["call_center_phone"] = "admin.settings.phone.invalid"
		}
		st.CallCenterPhone = phone
	}
	if a, err := booking.ValidateEmail(halfWidth(f.MailFrom)); err != nil {
		errs["mail_from"] = "admin.settings.mail_from.invalid"
	} else {
		st.MailFrom = a
	}
	pat := strings.TrimSpace(f.CardPattern)
	if key := checkCardPattern(pat); key != "" {
		errs["card_number_pattern"] = key
	}
	st.CardNumberPattern = pat
	for _, r := range []struct {
		name, value, key string
		rule             booking.RetentionRule
		out              **int
	}{
		{"retention_name_days", f.NameDays, "retention.settings.name.invalid", booking.NameRetention, &st.RetentionNameDays},
		{"retention_email_days", f.EmailDays, "retention.settings.email.invalid", booking.EmailRetention, &st.RetentionEmailDays},
		{"retention_card_days", f.CardDays, "retention.settings.card.invalid", booking.CardRetention, &st.RetentionCardDays},
	} {
		if strings.TrimSpace(halfWidth(r.value)) == "" {
			continue // blank: the default
		}
		if n, ok := parseWhole(r.value, r.rule.Min, r.rule.Max); ok {
			*r.out = &n
		} else {
			errs[r.name] = r.key
		}
	}
	return st, errs
}

// normalizePhone maps full-width characters and every kind of dash to ASCII and drops spaces.
func normalizePhone(s string) string {
	s = strings.NewReplacer(" ", "", "ー", "-", "−", "-", "‐", "-", "–", "-", "—", "-", "―", "-").Replace(halfWidth(s))
	return s
}

// checkCardPattern returns a message key when pat (non-empty) cannot serve as the 製造管理番号
// pattern: it must compile, be anchored at both ends (or a number merely containing a match
// would pass) and not match an empty number. Empty means the default, nine digits.
func checkCardPattern(pat string) string {
	if pat == "" {
		return ""
	}
	if utf8.RuneCountInString(pat) > 200 {
		return "admin.settings.card_pattern.too_long"
	}
	re, err := regexp.Compile(pat)
	switch {
	case err != nil:
		return "admin.settings.card_pattern.invalid"
	case !strings.HasPrefix(pat, "^") || !strings.HasSuffix(pat, "$"):
		return "admin.settings.card_pattern.unanchored"
	case re.MatchString(""):
		return "admin.settings.card_pattern.empty_match"
	}
	return ""
}
