package booking

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking/slotfeed"
	"github.com/madoguchi/madoguchi/tenant"
)

// phoneRE is the shape of a phone number as shown to citizens: digits in groups separated by
// hyphens or parentheses.
var phoneRE = regexp.MustCompile(`^[0-9()\-]{10,20}$`)

// ValidateSettings checks a city's settings as its administrator saves them and returns them as
// they are stored (the sender address and the allow-list in their normal form), or an invalid
// error whose Fields name each wrong setting by its form field with a message key:
//   - booking_deadline_days 0–30, horizon_days 14–365, reminder_hour 0–23;
//   - call_center_phone (optional) 10 or 11 digits starting with 0, in groups;
//   - mail_from (optional) exactly one valid address;
//   - card_number_pattern (optional) a regular expression anchored at both ends that does not
//     match an empty number;
//   - retention_*_days (optional) within the bounds of NameRetention, EmailRetention and
//     CardRetention;
//   - admin_allow_list addresses or CIDRs, at most tenant.MaxAllowListEntries, and, when not
//     empty, holding clientIP, the address of the administrator saving it: they would lock
//     themselves out.
func ValidateSettings(st tenant.Settings, clientIP string) (tenant.Settings, error) {
	f := map[string]string{}
	within := func(field, key string, n *int, lo, hi int) {
		if n != nil && (*n < lo || *n > hi) {
			f[field] = key
		}
	}
	within("booking_deadline_days", "admin.settings.deadline.invalid", st.BookingDeadlineDays, 0, 30)
	if st.HorizonDays < 14 || st.HorizonDays > 365 {
		f["horizon_days"] = "admin.settings.horizon.invalid"
	}
	within("reminder_hour", "admin.settings.reminder_hour.invalid", st.ReminderHour, 0, 23)
	if st.CallCenterPhone != "" && !validPhone(st.CallCenterPhone) {
		f["call_center_phone"] = "admin.settings.phone.invalid"
	}
	if a, err := ValidateEmail(st.MailFrom); err != nil {
		f["mail_from"] = "admin.settings.mail_from.invalid"
	} else {
		st.MailFrom = a
	}
	if key := checkCardPattern(st.CardNumberPattern); key != "" {
		f["card_number_pattern"] = key
	}
	within("retention_name_days", "retention.settings.name.invalid", st.RetentionNameDays, NameRetention.Min, NameRetention.Max)
	within("retention_email_days", "retention.settings.email.invalid", st.RetentionEmailDays, EmailRetention.Min, EmailRetention.Max)
	within("retention_card_days", "retention.settings.card.invalid", st.RetentionCardDays, CardRetention.Min, CardRetention.Max)
	list, bad := tenant.ParseAllowList(strings.Join(st.AdminAllowList, "\n"))
	switch {
	case len(bad) > 0:
		f["admin_allow_list"] = "mfa.allow.invalid"
	case len(list) > tenant.MaxAllowListEntries:
		f["admin_allow_list"] = "mfa.allow.too_many"
	case len(list) > 0 && !tenant.AllowListContains(list, clientIP):
		f["admin_allow_list"] = "mfa.allow.self"
	}
	st.AdminAllowList = list
	if len(f) > 0 {
		return st, &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: f}
	}
	return st, nil
}

func validPhone(phone string) bool {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, phone)
	return phoneRE.MatchString(phone) && len(digits) >= 10 && len(digits) <= 11 && digits[0] == '0'
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

// UpdateSettings replaces the city's settings with st after ValidateSettings (a.IP is the client
// address the allow-list must keep), writes "settings.update" with the settings before and after
// to the audit log and, when the booking horizon grew, makes the new days' slots at every
// location, all in one transaction. It returns the city as saved, or ValidateSettings' invalid
// error with nothing changed, or an invalid error (field "mail_from":
// "admin.settings.mail_from.domain") for a sender address on a domain the vendor has not allowed
// the city (tenant.Tenant.SendsFrom).
func (s *Service) UpdateSettings(ctx context.Context, cur *tenant.Tenant, st tenant.Settings, a tenant.Actor) (_ *tenant.Tenant, err error) {
	defer tenant.Wrap(&err, "booking.UpdateSettings(%s)", cur.ID)
	st, err = ValidateSettings(st, a.IP)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var t tenant.Tenant
	var generated []slotfeed.Span
	err = tenant.InTx(ctx, s.db, cur.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(&t).Where("id = ?", cur.ID).For("UPDATE").Scan(ctx); err != nil {
			return tenant.DBError(err)
		}
		if st.MailFrom != "" && !t.SendsFrom(st.MailFrom) {
			return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{"mail_from": "admin.settings.mail_from.domain"}}
		}
		before, oldHorizon := settingsAudit(t.Settings), HorizonDays(&t)
		if err := tenant.NewService(tx).UpdateSettings(ctx, t.ID, st); err != nil {
			return err
		}
		t.Settings = st
		if err := a.Audit(ctx, tx, t.ID, "settings.update", t.Slug, before, settingsAudit(st)); err != nil {
			return err
		}
		if HorizonDays(&t) <= oldHorizon {
			return nil
		}
		var locs []Location
		if err := tx.NewSelect().Model(&locs).Order("id").Scan(ctx); err != nil {
			return err
		}
		from := DateOf(now)
		for _, l := range locs {
			if err := lockLocation(ctx, tx, l.ID); err != nil {
				return err
			}
			if err := generateSlots(ctx, tx, t.ID, l.ID, from, from.AddDays(HorizonDays(&t)), now); err != nil {
				return err
			}
			generated = append(generated, generatedSpan(l.ID, from, from.AddDays(HorizonDays(&t))))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.slotsChanged(ctx, t.ID, generated...)
	return &t, nil
}

// settingsAudit is the settings as the audit log records them (the JSON of the settings column).
func settingsAudit(st tenant.Settings) map[string]any {
	b, _ := json.Marshal(st)
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	return m
}
