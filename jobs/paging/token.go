package paging

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
)

// AckToken is what a mail link or a call's callback URL carries: which page, for whom, at which
// generation, until when. It is signed (HMAC-SHA256 with the ack key), so it is verified without
// the database.
type AckToken struct {
	PageID     uuid.UUID
	ContactID  uuid.UUID
	Generation int
	Expires    time.Time
}

// Token errors.
var (
	ErrBadToken     = errors.New("paging: bad token")
	ErrExpiredToken = errors.New("paging: expired token")
)

const tokenLen = 16 + 16 + 4 + 8

// signToken encodes and signs t.
func signToken(key []byte, t AckToken) string {
	b := make([]byte, tokenLen)
	copy(b, t.PageID[:])
	copy(b[16:], t.ContactID[:])
	binary.BigEndian.PutUint32(b[32:], uint32(t.Generation))
	binary.BigEndian.PutUint64(b[36:], uint64(t.Expires.Unix()))
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(mac(key, b))
}

func mac(key, b []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("paging-ack:"))
	h.Write(b)
	return h.Sum(nil)
}

// verifyToken checks s's signature and expiry at now.
func verifyToken(key []byte, s string, now time.Time) (AckToken, error) {
	body, sig, ok := strings.Cut(s, ".")
	if !ok {
		return AckToken{}, ErrBadToken
	}
	b, err1 := base64.RawURLEncoding.DecodeString(body)
	m, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || len(b) != tokenLen || !hmac.Equal(m, mac(key, b)) {
		return AckToken{}, ErrBadToken
	}
	var t AckToken
	copy(t.PageID[:], b[:16])
	copy(t.ContactID[:], b[16:32])
	t.Generation = int(binary.BigEndian.Uint32(b[32:]))
	t.Expires = time.Unix(int64(binary.BigEndian.Uint64(b[36:])), 0)
	if !now.Before(t.Expires) {
		return t, ErrExpiredToken
	}
	return t, nil
}
