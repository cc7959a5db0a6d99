package web

import "testing"

func TestArgString(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1,000"}, {40000, "40,000"}, {int64(1234567), "1,234,567"},
		{-1000, "-1,000"}, {"100000001", "100000001"}, {"14:30", "14:30"},
	} {
		if got := argString(c.in); got != c.want {
			t.Errorf("argString(%#v) = %q, want %q", c.in, got, c.want)
		}
	}
}
