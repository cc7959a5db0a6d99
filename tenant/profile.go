package tenant

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// This file checks what onboarding records about a city besides its slug and name: the
// 全国地方公共団体コード, the kana of its name and the colour of its banner in the call center.

// ValidateMunicipalityCode checks a 全国地方公共団体コード (総務省): six ASCII digits, the first two a
// prefecture (01–47), the sixth the check digit of the first five — each multiplied by 6, 5, 4,
// 3, 2, the sum divided by 11, and the last digit of 11 minus the remainder (so remainder 0 gives
// 1 and remainder 1 gives 0): 津市 242012, 松阪市 242047, 新宿区 131041, 神戸市 281000. It returns an
// invalid error whose field "code" names what is wrong (tenant.code.format,
// tenant.code.prefecture or tenant.code.check_digit).
func ValidateMunicipalityCode(code string) error {
	bad := func(key string) error {
		return &Error{Code: Invalid, Key: key, Fields: map[string]string{"code": key}}
	}
	if len(code) != 6 {
		return bad("tenant.code.format")
	}
	var d [6]int
	for i := range 6 {
		if code[i] < '0' || code[i] > '9' {
			return bad("tenant.code.format")
		}
		d[i] = int(code[i] - '0')
	}
	if pref := d[0]*10 + d[1]; pref < 1 || pref > 47 {
		return bad("tenant.code.prefecture")
	}
	if d[5] != municipalityCheckDigit(d) {
		return bad("tenant.code.check_digit")
	}
	return nil
}

// municipalityCheckDigit is the check digit of the first five digits of d.
func municipalityCheckDigit(d [6]int) int {
	sum := d[0]*6 + d[1]*5 + d[2]*4 + d[3]*3 + d[4]*2
	return (11 - sum%11) % 10
}

// normalizeCode turns a code as typed (full-width digits, spaces, a hyphen before the check
// digit as some lists print it) into the digits alone; anything else is left for the check.
func normalizeCode(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '０' && r <= '９':
			return r - '０' + '0'
		case r == '-' || r == '－' || unicode.IsSpace(r):
			return -1
		}
		return r
	}, s)
}

// maxKanaRunes bounds the kana of a city's name (the longest real one is under 20).
const maxKanaRunes = 50

// normalizeKana returns the kana of a city's name in full-width katakana (ﾂｼ, つし and ツシ are
// all ツシ), and false when it holds anything but kana, the long-vowel and middle-dot marks and spaces, or is too
// long. Empty stays empty: the kana is optional.
func normalizeKana(s string) (string, bool) {
	s = strings.Join(strings.Fields(norm.NFKC.String(s)), " ")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'ぁ' && r <= 'ゖ':
			b.WriteRune(r + 0x60) // hiragana → katakana
		case (r >= 'ァ' && r <= 'ヺ') || r == '・' || r == 'ー' || r == 'ヽ' || r == 'ヾ' || r == ' ':
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	out := b.String()
	return out, utf8.RuneCountInString(out) <= maxKanaRunes
}

// DefaultBannerColor is the banner colour of a city that chose none: the product's own blue.
const DefaultBannerColor = "#0017c1"

// normalizeBannerColor returns a colour typed as #RRGGBB (either case, # optional) in lower case,
// or a message key: tenant.color.invalid for another shape, tenant.color.contrast when white text
// on it would not reach WCAG's 4.5:1 (the call center writes the city's name in white on it).
// Empty means DefaultBannerColor.
func normalizeBannerColor(s string) (string, string) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return DefaultBannerColor, ""
	}
	if !strings.HasPrefix(s, "#") {
		s = "#" + s
	}
	if len(s) != 7 {
		return "", "tenant.color.invalid"
	}
	rgb, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return "", "tenant.color.invalid"
	}
	if contrastWithWhite(uint32(rgb)) < 4.5 {
		return "", "tenant.color.contrast"
	}
	return s, ""
}

// contrastWithWhite is WCAG 2's contrast ratio of white against the colour 0xRRGGBB.
func contrastWithWhite(rgb uint32) float64 {
	lin := func(c uint32) float64 {
		v := float64(c) / 255
		if v <= 0.03928 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	l := 0.2126*lin(rgb>>16&0xff) + 0.7152*lin(rgb>>8&0xff) + 0.0722*lin(rgb&0xff)
	return 1.05 / (l + 0.05)
}
