package booking

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/madoguchi/madoguchi/tenant"
)

// Fuzz targets for every parser of outside input in booking: the card number and birthday a
// citizen types, dates and times from forms and the API, and the card CSV a city uploads. `go
// test` runs their seeds and the corpus in testdata/fuzz; `make fuzz` (part of `make test`)
// fuzzes each for a few seconds. Each checks that nothing panics and that what is accepted has
// the promised shape.

func FuzzValidateCardNo(f *testing.F) {
	for _, s := range []string{"900000001", "９００００００１", "123456789012", " 90-000-0001 ", "", "<script>", "1' OR '1'='1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		no, err := ValidateCardNo(nil, s)
		if err != nil {
			if tenant.ErrorCode(err) != tenant.Invalid {
				t.Fatalf("ValidateCardNo(%q): %v, want an invalid-input error", s, err)
			}
			return
		}
		if len(no) > 32 || (len(no) == 12 && isDigits(no)) || !utf8.ValidString(no) {
			t.Fatalf("ValidateCardNo(%q) accepted %q", s, no)
		}
	})
}

func FuzzParseMMDD(f *testing.F) {
	for _, s := range []string{"0312", "312", "０３１２", "3/12", "03-12", "0229", "0230", "1301", "3月12日", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mmdd, err := ParseMMDD(s)
		if err != nil {
			if tenant.ErrorCode(err) != tenant.Invalid {
				t.Fatalf("ParseMMDD(%q): %v, want an invalid-input error", s, err)
			}
			return
		}
		if len(mmdd) != 4 || !isDigits(mmdd) || mmdd < "0101" || mmdd > "1231" {
			t.Fatalf("ParseMMDD(%q) = %q", s, mmdd)
		}
		if again, err := ParseMMDD(mmdd); err != nil || again != mmdd {
			t.Fatalf("ParseMMDD(%q) = %q, which parses again as %q, %v", s, mmdd, again, err)
		}
	})
}

func FuzzDates(f *testing.F) {
	for _, s := range []string{"2026-03-12", "2024-02-29", "2026-02-29", "1990/3/12", "19900312", "9:30", "09:30", "24:00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseDate(s); err == nil {
			if got, err := ParseDate(d.String()); err != nil || got != d {
				t.Fatalf("ParseDate(%q) = %v, which does not round-trip: %v %v", s, d, got, err)
			}
		}
		if mmdd, err := MMDDFromBirthDate(s); err == nil {
			if _, err := ParseMMDD(mmdd); err != nil {
				t.Fatalf("MMDDFromBirthDate(%q) = %q, not a birthday", s, mmdd)
			}
		}
		if c, err := ParseClock(s); err == nil {
			if got, err := ParseClock(c.String()); err != nil || got != c {
				t.Fatalf("ParseClock(%q) = %v, which does not round-trip", s, c)
			}
		}
		_, _ = NormalizeClock(s)
	})
}

func FuzzParseCardCSV(f *testing.F) {
	f.Add([]byte("製造管理番号,生年月日\n900000001,1990-03-12\n"))
	f.Add([]byte("\xef\xbb\xbf製造管理番号,生年月日,氏名,氏名カナ,保管位置\r\n900000001,19900312,\"山田, 太郎\",ヤマダ タロウ,A-1\r\n"))
	f.Add([]byte("個人番号,製造管理番号,生年月日\n123456789012,900000002,1990-02-30\n"))
	f.Add([]byte("製造管理番号,生年月日\n\"900000001,1990-03-12\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cards, rejected, err := ParseCardCSV(bytes.NewReader(data), nil)
		if err != nil {
			if tenant.ErrorCode(err) != tenant.Invalid {
				t.Fatalf("ParseCardCSV: %v, want an invalid-file error", err)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 1
		if len(cards)+len(rejected) > lines {
			t.Fatalf("%d cards and %d rejected rows from %d lines", len(cards), len(rejected), lines)
		}
		for _, c := range cards {
			if _, err := ValidateCardNo(nil, c.CardNo); err != nil {
				t.Fatalf("accepted card number %q: %v", c.CardNo, err)
			}
		}
		for _, r := range rejected {
			if r.Line < 2 || r.Reason == "" || strings.Contains(r.Reason, "123456789012") {
				t.Fatalf("row error %+v", r)
			}
		}
	})
}
