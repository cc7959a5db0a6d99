package guard

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeCardNo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"ascii", "123456789", "123456789"},
		{"full-width digits", "１２３４５６７８９", "123456789"},
		{"spaces and hyphens", " 123-456 789 ", "123456789"},
		{"ideographic space and long vowel mark", "123\u3000456ー789", "123456789"},
		{"full-width hyphen and minus sign", "123－456\u2212789", "123456789"},
		{"lower-case letters", "ab12", "AB12"},
		{"full-width letters", "ａＢ１", "AB1"},
		{"only separators", " - ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := NormalizeCardNo(tt.in); got != tt.want {
				t.Errorf("NormalizeCardNo(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidTenantID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   string
		want bool
	}{
		{"0b9f6a3e-4f5c-4c1e-9a0e-5f0c3b2a1d00", true},
		{"matsusaka", true},
		{"a.b_c-D9", true},
		{"", false},
		{"a:b", false},
		{"a*", false},
		{"{x}", false},
		{"a b", false},
		{strings.Repeat("a", 65), false},
	}
	for _, tt := range tests {
		if got := validTenantID(tt.id); got != tt.want {
			t.Errorf("validTenantID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestIPHash(t *testing.T) {
	t.Parallel()
	g := &Guard{key: []byte(strings.Repeat("k", minKeyLen))}
	mustHash := func(ip string) string {
		t.Helper()
		h, _, err := g.ipHash(ip)
		if err != nil {
			t.Fatalf("ipHash(%q) error: %v", ip, err)
		}
		if strings.Contains(h, ip) || len(h) != 64 {
			t.Fatalf("ipHash(%q) = %q, want 64 hex digits", ip, h)
		}
		return h
	}
	same := [][2]string{
		{"192.0.2.1", "::ffff:192.0.2.1"},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"}, // same /64
		{" 192.0.2.1 ", "192.0.2.1"},
	}
	for _, p := range same {
		if a, b := mustHash(p[0]), mustHash(p[1]); a != b {
			t.Errorf("ipHash(%q) != ipHash(%q), want equal", p[0], p[1])
		}
	}
	different := [][2]string{
		{"192.0.2.1", "192.0.2.2"},
		{"2001:db8:1:2::1", "2001:db8:1:3::1"}, // different /64
	}
	for _, p := range different {
		if a, b := mustHash(p[0]), mustHash(p[1]); a == b {
			t.Errorf("ipHash(%q) == ipHash(%q), want different", p[0], p[1])
		}
	}
	for _, bad := range []string{"not-an-ip", "192.0.2.300", "192.0.2.1:80"} {
		if _, _, err := g.ipHash(bad); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("ipHash(%q) error = %v, want ErrInvalidInput", bad, err)
		}
	}
}

func TestSubnetHashes(t *testing.T) {
	t.Parallel()
	g := &Guard{key: []byte(strings.Repeat("k", minKeyLen))}
	nets := func(ip string) []string {
		t.Helper()
		_, n, err := g.ipHash(ip)
		if err != nil {
			t.Fatalf("ipHash(%q) error: %v", ip, err)
		}
		return n
	}
	// IPv4: one /24. IPv6: the /56, then the /48.
	if a, b := nets("192.0.2.1"), nets("192.0.2.254"); len(a) != 1 || a[0] != b[0] {
		t.Errorf("the /24 of 192.0.2.1 and 192.0.2.254 = %v, %v, want one, equal", a, b)
	}
	if a, b := nets("192.0.2.1"), nets("192.0.3.1"); a[0] == b[0] {
		t.Error("192.0.2.0/24 and 192.0.3.0/24 hash the same, want different")
	}
	a, b, c := nets("2001:db8:1:100::1"), nets("2001:db8:1:1ff::1"), nets("2001:db8:1:200::1")
	if len(a) != 2 || a[0] != b[0] || a[1] != b[1] {
		t.Errorf("two /64s of one /56 = %v, %v, want the same /56 and /48", a, b)
	}
	if a[0] == c[0] || a[1] != c[1] {
		t.Errorf("two /56s of one /48 = %v, %v, want different /56s and the same /48", a, c)
	}
}

func TestCardHashSeparatesTenants(t *testing.T) {
	t.Parallel()
	g := &Guard{key: []byte(strings.Repeat("k", minKeyLen))}
	a, err := g.cardHash("tenant-a", "123456789")
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.cardHash("tenant-b", "123456789")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("cardHash is the same for two tenants, want different")
	}
	c, err := g.cardHash("tenant-a", "１２３ ４５６ ７８９")
	if err != nil {
		t.Fatal(err)
	}
	if a != c {
		t.Errorf("cardHash differs for a full-width spelling of the same number, want equal")
	}
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	if got, want := (Config{}).withDefaults(), DefaultConfig(); got != want {
		t.Errorf("Config{}.withDefaults() = %+v, want %+v", got, want)
	}
	if err := DefaultConfig().validate(); err != nil {
		t.Errorf("DefaultConfig().validate() = %v, want nil", err)
	}
	bad := []Config{
		{CardSoftLimit: -1},
		{CardSoftLock: -1},
		{SprayBlock: 1}, // 1ns, below Redis's resolution
		{CardBackoffBase: 1},
		{CardHardLockTTL: -1},
	}
	for _, c := range bad {
		if err := c.withDefaults().validate(); err == nil {
			t.Errorf("validate(%+v) = nil, want an error", c)
		}
	}
}
