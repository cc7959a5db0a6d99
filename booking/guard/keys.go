package guard

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
)

// keyPrefix starts every key the guard writes. Tenant keys continue with "t:<tenant>:", the
// cross-tenant per-IP keys with "global:", so no tenant ID can collide with the global space.
const keyPrefix = "mdg:guard:"

// maxCardNoLen bounds the submitted card number before normalization; the real 製造管理番号 has 9
// digits, and anything far longer is garbage we refuse to hash.
const maxCardNoLen = 64

// maxTenantIDLen bounds the tenant ID (a UUID has 36 characters).
const maxTenantIDLen = 64

// NormalizeCardNo returns the canonical form of a submitted 製造管理番号: full-width ASCII
// (digits, letters) mapped to half-width, letters upper-cased, and white space and hyphen-like
// characters removed. It does not check the format; the guard counts whatever was submitted,
// so that a lock says nothing about whether a card exists. Callers looking the card up should
// use the same function so that "１２３-456 789" and "123456789" are the same card everywhere.
func NormalizeCardNo(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		// Full-width forms U+FF01..U+FF5E map to ASCII U+0021..U+007E.
		if r >= 0xFF01 && r <= 0xFF5E {
			r -= 0xFF01 - 0x21
		}
		switch {
		case unicode.IsSpace(r):
			continue
		case r == '-' || r == '\u2010' || r == '\u2011' || r == '\u2012' || r == '\u2013' ||
			r == '\u2014' || r == '\u2015' || r == '\u2212' || r == '\u30FC' || r == '\uFF70':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// validTenantID reports whether id is safe to embed in a Redis key: 1..64 characters of
// [A-Za-z0-9._-]. A UUID or a slug passes; ':' '*' '{' and the like do not.
func validTenantID(id string) bool {
	if id == "" || len(id) > maxTenantIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// cardHash returns hex(HMAC-SHA256(key, tenantID || 0x00 || NormalizeCardNo(cardNo))), the only
// form in which a card number reaches Redis. It returns an ErrInvalidInput error for a bad
// tenant ID or an empty or oversized card number.
func (g *Guard) cardHash(tenantID, cardNo string) (string, error) {
	if !validTenantID(tenantID) {
		return "", fmt.Errorf("%w: tenant id", ErrInvalidInput)
	}
	if len(cardNo) > maxCardNoLen {
		return "", fmt.Errorf("%w: card number too long", ErrInvalidInput)
	}
	n := NormalizeCardNo(cardNo)
	if n == "" {
		return "", fmt.Errorf("%w: empty card number", ErrInvalidInput)
	}
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte(tenantID))
	m.Write([]byte{0})
	m.Write([]byte(n))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// ipHash returns the keyed hash of the client address, so that Redis holds no IP addresses
// either. IPv4-mapped IPv6 addresses count as IPv4; IPv6 addresses are reduced to their /64,
// because one subscriber usually holds a whole /64 and could otherwise rotate addresses
// inside it for free. It also returns the keyed hashes of the address's subnets: the /24 of
// an IPv4 address, the /56 and the /48 of an IPv6 one. It returns an ErrInvalidInput error
// when ip does not parse.
func (g *Guard) ipHash(ip string) (addr string, subnets []string, err error) {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return "", nil, fmt.Errorf("%w: client ip", ErrInvalidInput)
	}
	a = a.Unmap().WithZone("")
	canon := a.String()
	bits := []int{24}
	if a.Is6() {
		canon = netip.PrefixFrom(a, 64).Masked().String()
		bits = []int{56, 48}
	}
	for _, b := range bits {
		subnets = append(subnets, g.hashIP("net", netip.PrefixFrom(a, b).Masked().String()))
	}
	return g.hashIP("ip", canon), subnets, nil
}

// hashIP returns hex(HMAC(key, 0x00 ‖ kind ‖ 0x00 ‖ canon)). The leading 0x00 keeps this input
// disjoint from card inputs, which start with a non-empty tenant ID.
func (g *Guard) hashIP(kind, canon string) string {
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte{0})
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(canon))
	return hex.EncodeToString(m.Sum(nil))
}

// Positions in the KEYS array of the Lua scripts. The five card keys come first, then the two
// tenant keys, then zero or two groups of five IP keys (tenant scope, then global scope), then
// zero, one or two groups of two subnet keys (global scope).
const (
	kCardFails    = iota // failures in the soft window; TTL = CardSoftWindow from the first
	kCardLock            // soft lock flag; TTL = CardSoftLock
	kCardTotal           // failures since the last success; TTL = CardHardWindow from the last
	kCardHardLock        // hard lock flag; no TTL unless CardHardLockTTL is set
	kCardBackoff         // progressive back-off flag; TTL = current back-off
	nCardKeys
)

const (
	kIPShort  = iota // failures in the short window
	kIPDaily         // failures in the daily window (a refusal past IPDailyLimit)
	kIPStepUp        // step-up flag
	kIPCards         // set of distinct card hashes that failed in the spray window
	kIPBlock         // spray block flag
	nIPKeys
)

func cardKeys(tenantID, card string) []string {
	p := keyPrefix + "t:" + tenantID + ":card:" + card + ":"
	return []string{
		kCardFails:    p + "fails",
		kCardLock:     p + "lock",
		kCardTotal:    p + "total",
		kCardHardLock: p + "hardlock",
		kCardBackoff:  p + "backoff",
	}
}

func ipKeys(scope, ip string) []string {
	p := keyPrefix + scope + ":ip:" + ip + ":"
	return []string{
		kIPShort:  p + "fails:short",
		kIPDaily:  p + "fails:daily",
		kIPStepUp: p + "stepup",
		kIPCards:  p + "cards",
		kIPBlock:  p + "block",
	}
}

const (
	kTenantFails  = iota // failures in the city within TenantWindow
	kTenantAttack        // the city's "under attack" flag; TTL = TenantAttack
	kTenantHist          // the city's failures per window of one day (a hash), for its baseline
	nTenantKeys
)

// tenantKeys returns the city's keys; the history key is that of the given day (days since
// the Unix epoch, UTC).
func tenantKeys(tenantID string, day int64) []string {
	p := keyPrefix + "t:" + tenantID + ":city:"
	return []string{kTenantFails: p + "fails", kTenantAttack: p + "attack", kTenantHist: histKey(p, day)}
}

// platformKeys returns the platform-wide keys, laid out like a city's. They are named after
// the guard's HMAC key, so that guards with different keys (tests sharing one Redis) never
// share a platform count, while every process of one deployment does.
func (g *Guard) platformKeys(day int64) []string {
	p := g.platformPrefix
	return []string{kTenantFails: p + "fails", kTenantAttack: p + "attack", kTenantHist: histKey(p, day)}
}

func histKey(prefix string, day int64) string { return prefix + "hist:" + strconv.FormatInt(day, 10) }

const (
	kNetFails  = iota // failures from the subnet within SubnetWindow
	kNetStepUp        // the subnet's step-up flag
	nNetKeys
)

func netKeys(net string) []string {
	p := keyPrefix + "global:net:" + net + ":"
	return []string{kNetFails: p + "fails", kNetStepUp: p + "stepup"}
}

// attemptKeys returns the KEYS for one attempt in window (see windowOf): the card keys, the
// city's and the platform's keys, then (when ip is not empty) the tenant-scoped and the global
// IP keys and the subnet keys, with the number of IP groups and subnets.
func (g *Guard) attemptKeys(tenantID, cardNo, ip string, window int64) (keys []string, card string, nIP, nNet int, err error) {
	card, err = g.cardHash(tenantID, cardNo)
	if err != nil {
		return nil, "", 0, 0, err
	}
	day := g.dayOf(window)
	keys = make([]string, 0, nCardKeys+2*nTenantKeys+2*nIPKeys+2*nNetKeys)
	keys = append(keys, cardKeys(tenantID, card)...)
	keys = append(keys, tenantKeys(tenantID, day)...)
	keys = append(keys, g.platformKeys(day)...)
	if ip == "" {
		return keys, card, 0, 0, nil
	}
	h, nets, err := g.ipHash(ip)
	if err != nil {
		return nil, "", 0, 0, err
	}
	keys = append(keys, ipKeys("t:"+tenantID, h)...)
	keys = append(keys, ipKeys("global", h)...)
	for _, n := range nets {
		keys = append(keys, netKeys(n)...)
	}
	return keys, card, 2, len(nets), nil
}
