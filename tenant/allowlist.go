package tenant

import (
	"net/netip"
	"strings"
)

// MaxAllowListEntries bounds the /admin allow-list a city may save.
const MaxAllowListEntries = 100

// AllowListError is one line of an allow-list that is not an IP address or CIDR.
type AllowListError struct {
	Line  int    // 1-based
	Value string // the line as typed (clipped)
}

// ParseAllowList reads an allow-list typed one entry per line: an IPv4/IPv6 address or a CIDR
// such as 10.20.0.0/16. Blank lines are skipped; a bare address becomes a /32 (/128) prefix and
// a CIDR is stored masked (10.20.3.4/16 → 10.20.0.0/16). It returns the normalised entries and
// every line that is neither (nil when all are good).
func ParseAllowList(text string) ([]string, []AllowListError) {
	var out []string
	var bad []AllowListError
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if p, ok := parseAllowEntry(line); ok {
			out = append(out, p.String())
		} else {
			bad = append(bad, AllowListError{Line: i + 1, Value: clip(line, 60)})
		}
	}
	return out, bad
}

func parseAllowEntry(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// AllowListContains reports whether ip (as the app computes the client address) is inside one
// of the entries. An unparsable ip is outside every list.
func AllowListContains(list []string, ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, e := range list {
		if p, ok := parseAllowEntry(e); ok && p.Contains(a) {
			return true
		}
	}
	return false
}

// AdminAllowed reports whether a request from ip may reach the city's /admin pages: always when
// the city set no allow-list, else only from inside it.
func (s Settings) AdminAllowed(ip string) bool {
	return len(s.AdminAllowList) == 0 || AllowListContains(s.AdminAllowList, ip)
}
