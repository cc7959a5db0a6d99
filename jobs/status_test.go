package jobs_test

import (
	"testing"
	"time"

	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/tenant"
)

// TestWatchdogEvaluate: what each health signal means for each component.
func TestWatchdogEvaluate(t *testing.T) {
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	old := func(d time.Duration) *time.Time { x := now.Add(-d); return &x }
	ok := &tenant.HealthSignals{WebProcesses: 2}
	cases := []struct {
		name string
		h    jobs.Health
		want map[tenant.Component]tenant.ComponentState
	}{
		{"all well", jobs.Health{Postgres: true, Redis: true, Signals: ok}, map[tenant.Component]tenant.ComponentState{
			tenant.CompCitizen: tenant.StateOperational, tenant.CompMail: tenant.StateOperational, tenant.CompAPI: tenant.StateOperational}},
		{"postgresql down", jobs.Health{Redis: true}, map[tenant.Component]tenant.ComponentState{
			tenant.CompCitizen: tenant.StateMajor, tenant.CompStaff: tenant.StateMajor, tenant.CompMail: tenant.StatePartial}},
		{"redis down", jobs.Health{Postgres: true, Signals: ok}, map[tenant.Component]tenant.ComponentState{
			tenant.CompCallCenter: tenant.StateMajor, tenant.CompMail: tenant.StateDegraded}},
		{"no web process", jobs.Health{Postgres: true, Redis: true, Signals: &tenant.HealthSignals{}}, map[tenant.Component]tenant.ComponentState{
			tenant.CompCitizen: tenant.StateMajor, tenant.CompMail: tenant.StateOperational}},
		{"mail 20 minutes late", jobs.Health{Postgres: true, Redis: true, Signals: &tenant.HealthSignals{WebProcesses: 1, MailOldest: old(20 * time.Minute)}},
			map[tenant.Component]tenant.ComponentState{tenant.CompMail: tenant.StatePartial, tenant.CompCitizen: tenant.StateOperational}},
		{"mail 2 hours late", jobs.Health{Postgres: true, Redis: true, Signals: &tenant.HealthSignals{WebProcesses: 1, MailOldest: old(2 * time.Hour)}},
			map[tenant.Component]tenant.ComponentState{tenant.CompMail: tenant.StateMajor}},
		{"open incident on healthy checks", jobs.Health{Postgres: true, Redis: true, Signals: &tenant.HealthSignals{WebProcesses: 1,
			Open: []tenant.Incident{{Components: map[tenant.Component]tenant.ComponentState{tenant.CompAPI: tenant.StatePartial}}}}},
			map[tenant.Component]tenant.ComponentState{tenant.CompAPI: tenant.StatePartial, tenant.CompCitizen: tenant.StateOperational}},
	}
	for _, tc := range cases {
		got := jobs.Evaluate(tc.h, now)
		if len(got) != len(tenant.Components) {
			t.Errorf("%s: %d components, want %d", tc.name, len(got), len(tenant.Components))
		}
		for c, want := range tc.want {
			if got[c].State != want {
				t.Errorf("%s: %s = %s, want %s", tc.name, c, got[c].State, want)
			}
		}
	}
}
