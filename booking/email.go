package booking

import (
	"net/mail"
	"strings"
)

// MaxEmailLen is the longest e-mail address accepted, in bytes (RFC 5321 path limit).
const MaxEmailLen = 254

// ValidateEmail returns the address if s is exactly one plain address (no display name, no
// second address, no CR/LF: mail header injection is refused here, at the edge). Empty is allowed
// (the address is optional) and returns "".
func ValidateEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > MaxEmailLen || strings.ContainsAny(s, "\r\n,;<>\"() \t") {
		return "", fieldError("email", "reserve.email.invalid")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", fieldError("email", "reserve.email.invalid")
	}
	return s, nil
}
