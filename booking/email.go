package booking

import (
	"net/mail"
	"strings"
)

// ValidateEmail returns the address if s is exactly one plain address (no display name, no
// second address, no CR/LF: mail header injection is refused here, at the edge). Empty is allowed
// (the address is optional) and returns "".
func ValidateEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > 254 || strings.ContainsAny(s, "\r\n,;<>\"() \t") {
		return "", fieldError("email", "reserve.email.invalid")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", fieldError("email", "reserve.email.invalid")
	}
	return s, nil
}
