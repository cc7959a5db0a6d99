package ui_test

import (
	"net/url"
	"testing"

	"github.com/madoguchi/madoguchi/tenant"
)

// TestCitizenLoginFlood: one address that posts the login form more than 60 times a minute gets
// the Japanese 429 page, whatever it posts; the staff login (one LGWAN address for every clerk)
// and the citizen pages that are not a login attempt are not limited.
func TestCitizenLoginFlood(t *testing.T) {
	e := newEnv(t, nil)
	mustStaffAccount(t, e, "tanaka", tenant.RoleStaff, "counter password one")
	addr := serve(t, e)
	b := newBrowser(t, addr, e.city.Slug+".localhost")
	b.get("/login")
	b.want(200)
	csrf := csrfOf(b.last)
	for i := 1; i <= 60; i++ {
		b.post("/login", url.Values{"_csrf": {csrf}, "card_no": {"123456789"}, "birth": {"0312"}})
		if b.status == 429 {
			t.Fatalf("attempt %d refused as a flood, want the ordinary answer up to 60", i)
		}
	}
	b.post("/login", url.Values{"_csrf": {csrf}, "card_no": {"123456789"}, "birth": {"0312"}})
	b.want(429, "短い時間に操作が繰り返されたため")
	b.get("/login")
	b.want(200)

	staff := newBrowser(t, addr, e.city.Slug+".localhost")
	staffLogin(t, staff, "tanaka", "counter password one")
}
