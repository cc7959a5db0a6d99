package guard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// The proof-of-work step-up. A challenge is a signed token, bound to the city and the client
// address (its /64 for IPv6), that expires. A browser with JavaScript finds a nonce such that
// SHA-256(token ":" nonce) starts with PowBits zero bits (about 2^PowBits hashes; the script is
// served by the app itself, no third party). A browser without JavaScript sends the token
// alone, which is accepted only PowWait after it was issued: the slower fallback, usually
// already over by the time a card number and a birthday are typed. Each token is accepted
// once (Redis remembers it until it expires), so one solved challenge buys one attempt.

// powVersion starts every token, so the format can change without accepting old tokens.
const powVersion = "p1"

// Challenge returns a new proof-of-work challenge for a login attempt in tenantID from ip ("" for
// a path without a client), issued at now. It does no I/O.
func (g *Guard) Challenge(tenantID, ip string, now time.Time) string {
	salt := make([]byte, 12)
	rand.Read(salt)
	payload := strings.Join([]string{powVersion, hex.EncodeToString(salt), strconv.Itoa(g.cfg.PowBits),
		strconv.FormatInt(now.UnixMilli(), 10)}, ".")
	return payload + "." + g.powSig(tenantID, ip, payload)
}

// PowBits returns the number of leading zero bits a nonce must give (Config.PowBits).
func (g *Guard) PowBits() int { return g.cfg.PowBits }

func (g *Guard) powSig(tenantID, ip, payload string) string {
	addr := ""
	if ip != "" {
		if h, _, err := g.ipHash(ip); err == nil {
			addr = h
		}
	}
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte("pow\x00" + tenantID + "\x00" + addr + "\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// PowWork reports whether nonce solves token: SHA-256(token ":" nonce) has at least n leading
// zero bits. Exported for clients written in Go (tests, the load generator).
func PowWork(token, nonce string, n int) bool {
	sum := sha256.Sum256([]byte(token + ":" + nonce))
	zeros := 0
	for _, b := range sum {
		if b == 0 {
			zeros += 8
			continue
		}
		zeros += bits.LeadingZeros8(b)
		break
	}
	return zeros >= n
}

// SolvePow finds the smallest decimal nonce that solves token (see PowWork), for clients
// written in Go.
func SolvePow(token string) string {
	parts := strings.Split(token, ".")
	n := 0
	if len(parts) == 5 {
		n, _ = strconv.Atoi(parts[2])
	}
	for i := 0; ; i++ {
		if s := strconv.Itoa(i); PowWork(token, s, n) {
			return s
		}
	}
}

// VerifyProof reports whether token (from Challenge, for the same city and address) and nonce
// are a valid proof of work at now: the signature matches, the token has not expired
// (PowTTL) and was not used before, and either nonce solves it or nonce is empty and PowWait
// has passed since it was issued. A valid proof is spent: the same token is refused next
// time. It returns an ErrUnavailable error when Redis fails.
func (g *Guard) VerifyProof(ctx context.Context, tenantID, ip, token, nonce string, now time.Time) (bool, error) {
	ok, salt, issued := g.parseProof(tenantID, ip, token)
	if !ok || now.Before(issued) || now.After(issued.Add(g.cfg.PowTTL)) || len(nonce) > 20 {
		g.metrics.pow.WithLabelValues(powInvalid).Inc()
		return false, nil
	}
	result := powSolved
	if nonce == "" {
		if now.Before(issued.Add(g.cfg.PowWait)) {
			g.metrics.pow.WithLabelValues(powInvalid).Inc()
			return false, nil
		}
		result = powWaited
	} else if !PowWork(token, nonce, g.cfg.PowBits) {
		g.metrics.pow.WithLabelValues(powInvalid).Inc()
		return false, nil
	}
	fresh, err := g.rdb.SetNX(ctx, keyPrefix+"pow:"+salt, "1", g.cfg.PowTTL).Result()
	if err != nil {
		return false, fmt.Errorf("spend proof of work: %w: %w", ErrUnavailable, err)
	}
	if !fresh {
		g.metrics.pow.WithLabelValues(powInvalid).Inc()
		return false, nil
	}
	g.metrics.pow.WithLabelValues(result).Inc()
	return true, nil
}

// parseProof checks a token's shape and signature and returns its salt and issue time.
func (g *Guard) parseProof(tenantID, ip, token string) (ok bool, salt string, issued time.Time) {
	parts := strings.Split(token, ".")
	if len(token) > 200 || len(parts) != 5 || parts[0] != powVersion || len(parts[1]) != 24 {
		return false, "", time.Time{}
	}
	payload := strings.Join(parts[:4], ".")
	if !hmac.Equal([]byte(parts[4]), []byte(g.powSig(tenantID, ip, payload))) {
		return false, "", time.Time{}
	}
	if n, err := strconv.Atoi(parts[2]); err != nil || n != g.cfg.PowBits {
		return false, "", time.Time{}
	}
	ms, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return false, "", time.Time{}
	}
	return true, parts[1], time.UnixMilli(ms)
}
