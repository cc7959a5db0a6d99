package ui

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/madoguchi/madoguchi/booking"
)

// adminField is one labelled form control of the admin pages (templates "admin-field" and
// "admin-textarea"): label, ※必須/※任意, hint, error text and the control, linked by
// aria-describedby (UX rules 9–10).
type adminField struct {
	Lang         string
	Name         string // form name; the control's id is "f-"+Name, which the error summary links to
	Label        string // message keys
	Hint         string
	Error        string
	Value        string
	Optional     bool
	Type         string // input type, "text" unless set
	InputMode    string
	Autocomplete string
	Class        string // extra classes of the control, e.g. "input-2"
	Rows         int    // textarea rows
}

// Describedby is the value of the control's aria-describedby: its hint and error, if any.
func (f adminField) Describedby() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, "h-"+f.Name)
	}
	if f.Error != "" {
		ids = append(ids, "e-"+f.Name)
	}
	return strings.Join(ids, " ")
}

// InputType is the control's type attribute.
func (f adminField) InputType() string {
	if f.Type == "" {
		return "text"
	}
	return f.Type
}

// halfWidth maps full-width ASCII (digits, letters, ：－（）) to half-width and the ideographic
// space to a space, and trims, so what staff type with the IME on is accepted as is (UX rule 6).
func halfWidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFF01 - 0x21
		case r == '\u3000':
			r = ' '
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// parseWhole reads a whole number typed by staff (full-width digits and spaces allowed) and
// reports whether it is within [lo, hi].
func parseWhole(s string, lo, hi int) (int, bool) {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, halfWidth(s))
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

// parseClockField reads a time of day as staff type it: "9:00", "09:00", "９：００", "900",
// "0900", "9時", "9時30分" and "9" all work. ok is false for anything else.
func parseClockField(s string) (booking.ClockTime, bool) {
	s = strings.NewReplacer("時", ":", "分", "", " ", "", "．", ":", ".", ":").Replace(halfWidth(s))
	s = strings.TrimSuffix(s, ":")
	if !strings.Contains(s, ":") {
		switch len(s) {
		case 1, 2:
			s += ":00"
		case 3, 4:
			s = s[:len(s)-2] + ":" + s[len(s)-2:]
		default:
			return 0, false
		}
	}
	for _, r := range s {
		if (r < '0' || r > '9') && r != ':' {
			return 0, false
		}
	}
	c, err := booking.ParseClock(s)
	return c, err == nil
}

// parseDateField reads a date as staff type it: 2026-06-03, 2026/6/3, 2026.6.3, 20260603 or
// 2026年6月3日 (full-width digits too).
func parseDateField(s string) (booking.Date, bool) {
	s = strings.NewReplacer("年", "-", "月", "-", "日", "", "/", "-", ".", "-", " ", "").Replace(halfWidth(s))
	if len(s) == 8 && !strings.Contains(s, "-") {
		s = s[:4] + "-" + s[4:6] + "-" + s[6:]
	}
	parts := strings.Split(s, "-")
	if len(parts) != 3 {
		return booking.Date{}, false
	}
	for i, p := range parts[1:] {
		if len(p) == 1 {
			parts[i+1] = "0" + p
		}
	}
	d, err := booking.ParseDate(strings.Join(parts, "-"))
	return d, err == nil
}
