package ui_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/ui/uitest"
)

// TestE2ECitizenProofOfWork puts the city under attack (30 failed logins from 30 addresses: the
// guard then requires a proof of work on every login there) and logs in with JavaScript (the
// app's script solves the challenge) at both sizes, and without JavaScript at phone size (the
// challenge alone passes after 5 seconds) (ui/e2e/citizen-pow.mjs).
func TestE2ECitizenProofOfWork(t *testing.T) {
	t.Parallel()
	e := newBrowserEnv(t, nil)
	for i := range 30 {
		_, err := e.svc.Login(context.Background(), e.city, booking.LoginInput{CardNo: fmt.Sprintf("8%08d", i), Birth: "0101", IP: fmt.Sprintf("198.51.100.%d", i+1)})
		if err == nil {
			t.Fatal("an invented card logged in")
		}
	}
	cards := map[string][]e2eCard{
		"phone":   {mustE2ECard(t, e, "0704"), mustE2ECard(t, e, "1123")},
		"desktop": {mustE2ECard(t, e, "0229")},
	}
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "citizen-pow.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{"cards": cards})
}
