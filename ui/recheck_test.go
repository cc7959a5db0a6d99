package ui_test

import (
	"net/url"
	"testing"
)

// TestVendorPasswordChecksLimited: on the ops console a member's password change checks the
// current password at most 5 times wrongly in 15 minutes; the 6th post is refused with 429 and a
// plain message, the right password too, and the member stays logged in.
func TestVendorPasswordChecksLimited(t *testing.T) {
	e := newEnv(t, nil)
	opsAllow(t, e, "127.0.0.1")
	addr := serve(t, e)
	b, _ := opsMember(t, e, addr, "ops.recheck")
	b.get("/password")
	b.want(200, "パスワードの変更")
	next := "another quiet harbour at dawn"
	for range 5 {
		b.post("/password", url.Values{"current_password": {"not my password here"}, "new_password": {next}, "new_password2": {next}})
		b.want(422, "現在のパスワードが正しくありません")
	}
	b.post("/password", url.Values{"current_password": {opsPassword}, "new_password": {next}, "new_password2": {next}})
	b.want(429, "15分ほど待ってから")
	b.get("/")
	b.want(200, opsConsole.home)
}
