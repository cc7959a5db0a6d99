package ui

import (
	"fmt"
	"time"

	"github.com/madoguchi/madoguchi/booking"
)

// formatDateLong writes 「6月3日（水曜日）」 for screen-reader text.
func formatDateLong(lang string, d booking.Date) string {
	if lang == "en" {
		return d.Time(12, 0).Format("Monday 2 January")
	}
	return fmt.Sprintf("%d月%d日（%s）", d.Month, d.Day, booking.WeekdayJA(d.Weekday())+"曜日")
}

// formatSlot writes 「2026年6月3日（水）10:00～10:30」.
func formatSlot(lang string, start, end time.Time) string {
	sep := "～"
	if lang == "en" {
		sep = "–"
	}
	return booking.FormatDate(lang, booking.DateOf(start)) + " " + start.In(booking.JST).Format("15:04") + sep + end.In(booking.JST).Format("15:04")
}

func formatTimeRange(start, end time.Time) string {
	return start.In(booking.JST).Format("15:04") + "～" + end.In(booking.JST).Format("15:04")
}

// groupCode writes a booking code in two groups of four for reading aloud: "K7M2 QX9D".
func groupCode(code string) string {
	if len(code) == 8 {
		return code[:4] + " " + code[4:]
	}
	return code
}
