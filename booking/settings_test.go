package booking_test

import (
	"reflect"
	"testing"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

func TestValidateSettings(t *testing.T) {
	n := func(v int) *int { return &v }
	ok := tenant.Settings{HorizonDays: 60, BookingDeadlineDays: n(1), ReminderHour: n(9)}
	for _, tc := range []struct {
		name   string
		edit   func(*tenant.Settings)
		ip     string
		fields map[string]string // nil: valid
	}{
		{"defaults", func(*tenant.Settings) {}, "192.0.2.1", nil},
		{"every optional setting", func(s *tenant.Settings) {
			s.CallCenterPhone, s.MailFrom, s.CardNumberPattern = "0598-53-4003", " yoyaku@city.example.lg.jp ", `^[0-9]{9}$`
			s.RetentionNameDays, s.RetentionEmailDays, s.RetentionCardDays = n(1), n(365), n(30)
			s.AdminAllowList = []string{"192.0.2.0/24"}
		}, "192.0.2.7", nil},
		{"out of range", func(s *tenant.Settings) {
			s.BookingDeadlineDays, s.HorizonDays, s.ReminderHour = n(31), 13, n(24)
			s.RetentionNameDays, s.RetentionEmailDays, s.RetentionCardDays = n(0), n(366), n(29)
		}, "192.0.2.1", map[string]string{
			"booking_deadline_days": "admin.settings.deadline.invalid", "horizon_days": "admin.settings.horizon.invalid",
			"reminder_hour": "admin.settings.reminder_hour.invalid", "retention_name_days": "retention.settings.name.invalid",
			"retention_email_days": "retention.settings.email.invalid", "retention_card_days": "retention.settings.card.invalid"}},
		{"hostile text", func(s *tenant.Settings) {
			s.CallCenterPhone, s.MailFrom, s.CardNumberPattern = "1234-56-7890", "a@example.jp\r\nBcc: x@evil.example", `[0-9]+`
		}, "192.0.2.1", map[string]string{"call_center_phone": "admin.settings.phone.invalid",
			"mail_from": "admin.settings.mail_from.invalid", "card_number_pattern": "admin.settings.card_pattern.unanchored"}},
		{"pattern that matches nothing typed", func(s *tenant.Settings) { s.CardNumberPattern = `^[0-9]*$` }, "192.0.2.1",
			map[string]string{"card_number_pattern": "admin.settings.card_pattern.empty_match"}},
		{"allow-list without the admin", func(s *tenant.Settings) { s.AdminAllowList = []string{"198.51.100.0/24"} }, "192.0.2.1",
			map[string]string{"admin_allow_list": "mfa.allow.self"}},
		{"allow-list with a wrong line", func(s *tenant.Settings) { s.AdminAllowList = []string{"192.0.2.0/24", "not an address"} }, "192.0.2.1",
			map[string]string{"admin_allow_list": "mfa.allow.invalid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := ok
			tc.edit(&st)
			got, err := booking.ValidateSettings(st, tc.ip)
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("ValidateSettings = %v, want valid", err)
				}
				if got.MailFrom != "" && got.MailFrom != "yoyaku@city.example.lg.jp" {
					t.Errorf("MailFrom = %q, want it trimmed", got.MailFrom)
				}
				return
			}
			e := tenant.AsError(err)
			if e == nil || e.Code != tenant.Invalid || !reflect.DeepEqual(e.Fields, tc.fields) {
				t.Fatalf("ValidateSettings = %v (fields %v), want invalid %v", err, fieldsOf(e), tc.fields)
			}
		})
	}
}

func fieldsOf(e *tenant.Error) map[string]string {
	if e == nil {
		return nil
	}
	return e.Fields
}
