package booking

import (
	"regexp"
	"strings"
)

// emailPattern finds e-mail addresses in free text (an SMTP server's reply, a library's error).
var emailPattern = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*`)

// MaskEmail hides an address's local part but its first character: "taro.yamada@example.jp"
// becomes "t***@example.jp". Text without an @ is masked whole.
func MaskEmail(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" {
		return "***"
	}
	return local[:1] + "***@" + domain
}

// MaskEmails masks every e-mail address in s (MaskEmail). Logs, task errors and the failure
// text kept with a mail go through it: a mail library's error names the recipient.
func MaskEmails(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return emailPattern.ReplaceAllStringFunc(s, MaskEmail)
}
