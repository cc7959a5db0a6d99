package web

import (
	"fmt"
	"time"

	"github.com/madoguchi/madoguchi/booking"
)

// FormatDateLong writes 「6月3日（水曜日）」 for screen-reader text.
func FormatDateLong(lang string, d booking.Date) string {
	if lang == "en" {
		return d.Time(12, 0).Format("Monday 2 January")
	}
	return fmt.Sprintf("%d月%d日（%s）", d.Month, d.Day, booking.WeekdayJA(d.Weekday())+"曜日")
}

// FormatSlot writes 「2026年6月3日（水）10:00～10:30」.
func FormatSlot(lang string, start, end time.Time) string {
	sep := "～"
	if lang == "en" {
		sep = "–"
	}
	return booking.FormatDate(lang, booking.DateOf(start)) + " " + start.In(booking.JST).Format("15:04") + sep + end.In(booking.JST).Format("15:04")
}

// FormatTimeRange writes 「10:00～10:30」 in Japan time.
func FormatTimeRange(start, end time.Time) string {
	return start.In(booking.JST).Format("15:04") + "～" + end.In(booking.JST).Format("15:04")
}

// GroupCode writes a booking code in two groups of four for reading aloud: "K7M2 QX9D".
func GroupCode(code string) string {
	if len(code) == 8 {
		return code[:4] + " " + code[4:]
	}
	return code
}
