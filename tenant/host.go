package tenant

import (
	"net/netip"
	"strings"
)

// maxMailDomains bounds the mail domains one city may send From (the column's CHECK says 20).
const maxMailDomains = 20

// normalizeHostName returns a host name as stored (lower case, no trailing dot), or a message
// key: tenant.domain.invalid unless it is two or more DNS labels of ASCII letters, digits and
// hyphens (an internationalised name in its xn-- form), 1–63 characters each and 253 in all, with
// a top-level label that is not all digits (no IP addresses), and not localhost.
func normalizeHostName(s string) (string, string) {
	h := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	if len(h) < 3 || len(h) > 253 || h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return "", "tenant.domain.invalid"
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return "", "tenant.domain.invalid"
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return "", "tenant.domain.invalid"
	}
	for _, l := range labels {
		if !dnsLabel(l, 63) {
			return "", "tenant.domain.invalid"
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", "tenant.domain.invalid"
	}
	return h, ""
}

// dnsLabel reports whether l is a DNS label of at most max characters: letters, digits and
// hyphens, neither first nor last a hyphen, and no "--" in the third and fourth places unless it
// is an internationalised label ("xn--…"), which browsers would otherwise show as another name.
func dnsLabel(l string, max int) bool {
	if l == "" || len(l) > max || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return len(l) < 4 || l[2:4] != "--" || strings.HasPrefix(l, "xn--")
}

// checkCustomHost returns a message key when host (normalised) may not be a city's custom
// domain on a platform served under baseDomain: tenant.domain.reserved for baseDomain itself and
// every name under it (each city already answers at {slug}.{baseDomain}, and the vendor's
// consoles live there). An empty baseDomain checks nothing more.
func checkCustomHost(host, baseDomain string) string {
	if baseDomain != "" && (host == baseDomain || strings.HasSuffix(host, "."+baseDomain)) {
		return "tenant.domain.reserved"
	}
	return ""
}
