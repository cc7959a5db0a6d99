package booking

import "crypto/rand"

// codeAlphabet has no characters people confuse when reading a code aloud or off a screen
// (no 0/O, 1/I/L): 32 symbols, so an 8-character code carries 40 bits.
const codeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// newCode returns a random booking code, e.g. "K7M2QX9D".
func newCode() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b)
}

// NormalizeCode maps a typed or scanned code to its canonical form (upper case, half-width, no
// spaces or hyphens).
func NormalizeCode(s string) string { return NormalizeCardNo(s) }
