package booking

import "testing"

func TestMaskEmails(t *testing.T) {
	for in, want := range map[string]string{
		"taro.yamada@example.jp": "t***@example.jp",
		`send mail: 550 5.1.1 <hanako+x@mail.example.co.jp>: Recipient address rejected; also a@b.jp`: `send mail: 550 5.1.1 <h***@mail.example.co.jp>: Recipient address rejected; also a***@b.jp`,
		"no address here": "no address here",
		"user@":           "user@",
		"RCPT TO:<x@y.z>": "RCPT TO:<x***@y.z>",
	} {
		if got := MaskEmails(in); got != want {
			t.Errorf("MaskEmails(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzMaskEmails(f *testing.F) {
	f.Add("a@b.jp")
	f.Add("send mail: 550 <taro@example.jp>")
	f.Fuzz(func(t *testing.T, s string) {
		out := MaskEmails(s)
		if m := emailPattern.FindString(out); m != "" && !regexpMasked(m) {
			t.Fatalf("MaskEmails(%q) = %q still holds %q", s, out, m)
		}
	})
}

// regexpMasked reports whether an address found in masked text is itself a masked one.
func regexpMasked(m string) bool {
	for i := 0; i+4 <= len(m); i++ {
		if m[i:i+4] == "***@" {
			return true
		}
	}
	return false
}
