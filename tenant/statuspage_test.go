package tenant_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/tenant"
)

var jst = time.FixedZone("Asia/Tokyo", 9*60*60)

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, jst)
	if err != nil {
		panic(err)
	}
	return t
}

// iv is one interval row whose last sighting is one watchdog period before its end.
func iv(c tenant.Component, s tenant.ComponentState, from, to string) tenant.Interval {
	return tenant.Interval{Component: c, State: s, StartedAt: at(from), SeenAt: at(to).Add(-tenant.WatchdogPeriod)}
}

// TestStatusUptimeTimeWeighted is OPS §2.3 requirement 3: interval logs with maintenance, a
// partial outage and JST day boundaries give the 90 daily values and the 90-day figure to three
// decimals, time-weighted; days the log does not cover are "no data", not up.
func TestStatusUptimeTimeWeighted(t *testing.T) {
	now := at("2026-12-07 12:00")
	maint := tenant.Maintenance{Components: []tenant.Component{tenant.CompCitizen}, StartsAt: at("2026-12-05 01:00"), EndsAt: at("2026-12-05 03:00")}
	cancelled := maint
	cancelled.CancelledAt = &now
	cancelled.StartsAt, cancelled.EndsAt = at("2026-12-04 10:00"), at("2026-12-04 11:00")
	cases := []struct {
		name   string
		ivs    []tenant.Interval
		maints []tenant.Maintenance
		want   map[string]string // day → uptime to 3 decimals, or "no data"
		total  string
	}{
		{name: "one day all up", ivs: []tenant.Interval{iv(tenant.CompCitizen, tenant.StateOperational, "2026-12-06 00:00", "2026-12-07 00:00")},
			want: map[string]string{"2026-12-06": "1.000", "2026-12-05": "no data", "2026-12-07": "no data"}, total: "1.000"},
		{name: "major hour across JST midnight", ivs: []tenant.Interval{
			iv(tenant.CompCitizen, tenant.StateOperational, "2026-12-05 00:00", "2026-12-05 23:30"),
			iv(tenant.CompCitizen, tenant.StateMajor, "2026-12-05 23:30", "2026-12-06 00:30"),
			iv(tenant.CompCitizen, tenant.StateOperational, "2026-12-06 00:30", "2026-12-07 00:00"),
		}, want: map[string]string{"2026-12-05": fmt.Sprintf("%.3f", 1-30.0/1440), "2026-12-06": fmt.Sprintf("%.3f", 1-30.0/1440)},
			total: fmt.Sprintf("%.3f", 1-60.0/2880)},
		{name: "partial weighs 0.3, degraded is up", ivs: []tenant.Interval{
			iv(tenant.CompCitizen, tenant.StatePartial, "2026-12-06 00:00", "2026-12-06 10:00"),
			iv(tenant.CompCitizen, tenant.StateDegraded, "2026-12-06 10:00", "2026-12-07 00:00"),
		}, want: map[string]string{"2026-12-06": fmt.Sprintf("%.3f", 1-0.3*600/1440)}, total: fmt.Sprintf("%.3f", 1-0.3*600/1440)},
		{name: "maintenance minutes excluded, cancelled maintenance counts", ivs: []tenant.Interval{
			iv(tenant.CompCitizen, tenant.StateMajor, "2026-12-05 01:00", "2026-12-05 03:00"),
			iv(tenant.CompCitizen, tenant.StateOperational, "2026-12-05 03:00", "2026-12-05 23:00"),
			iv(tenant.CompCitizen, tenant.StateMajor, "2026-12-04 10:00", "2026-12-04 11:00"),
			iv(tenant.CompCitizen, tenant.StateOperational, "2026-12-04 11:00", "2026-12-04 12:00"),
		}, maints: []tenant.Maintenance{maint, cancelled},
			want:  map[string]string{"2026-12-05": "1.000", "2026-12-04": "0.500", "2026-12-03": "no data"},
			total: fmt.Sprintf("%.3f", 1-60.0/(1200+120))},
		{name: "another component's log is not this one's", ivs: []tenant.Interval{iv(tenant.CompMail, tenant.StateMajor, "2026-12-06 00:00", "2026-12-07 00:00")},
			want: map[string]string{"2026-12-06": "no data"}, total: "0.000"},
		{name: "today counts up to now", ivs: []tenant.Interval{
			iv(tenant.CompCitizen, tenant.StateOperational, "2026-12-07 00:00", "2026-12-07 06:00"),
			iv(tenant.CompCitizen, tenant.StateMajor, "2026-12-07 06:00", "2026-12-07 12:00"),
		}, want: map[string]string{"2026-12-07": "0.500"}, total: "0.500"},
		{name: "a stopped watchdog leaves a gap", ivs: []tenant.Interval{
			iv(tenant.CompCitizen, tenant.StateOperational, "2026-12-06 00:00", "2026-12-06 06:00"),
			iv(tenant.CompCitizen, tenant.StateMajor, "2026-12-06 18:00", "2026-12-07 00:00"),
		}, want: map[string]string{"2026-12-06": "0.500"}, total: "0.500"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := tenant.ComputeUptime(tc.ivs, tc.maints, tenant.CompCitizen, now, tenant.HistoryDays)
			if len(u.Days) != 90 {
				t.Fatalf("%d days, want 90", len(u.Days))
			}
			if first, last := u.Days[0].Day, u.Days[89].Day; !first.Equal(at("2026-09-09 00:00")) || !last.Equal(at("2026-12-07 00:00")) {
				t.Errorf("days %s … %s, want 2026-09-09 … 2026-12-07 (JST)", first, last)
			}
			for _, d := range u.Days {
				day := d.Day.In(jst).Format("2006-01-02")
				got := fmt.Sprintf("%.3f", d.Uptime)
				if d.NoData {
					got = "no data"
				}
				want, ok := tc.want[day]
				if !ok {
					want = "no data" // the days a case does not name are those its log does not cover
				}
				if got != want {
					t.Errorf("%s: %s, want %s", day, got, want)
				}
			}
			if got := fmt.Sprintf("%.3f", u.Total); got != tc.total {
				t.Errorf("90-day uptime %s, want %s", got, tc.total)
			}
		})
	}
}

// TestStatusOpenIncidentWins is OPS §2.3 requirement 4: an open major_outage incident on a
// component never renders it operational, whatever the health checks say; resolved, the checks
// speak again; the checks can make it worse than the incident says, never better.
func TestStatusOpenIncidentWins(t *testing.T) {
	now := at("2026-12-07 12:00")
	healthy := []tenant.Interval{iv(tenant.CompCitizen, tenant.StateOperational, "2026-12-07 00:00", "2026-12-07 12:00"),
		iv(tenant.CompMail, tenant.StateMajor, "2026-12-07 00:00", "2026-12-07 12:00")}
	inc := tenant.Incident{Components: map[tenant.Component]tenant.ComponentState{tenant.CompCitizen: tenant.StateMajor, tenant.CompMail: tenant.StateDegraded}}
	if got := tenant.CurrentState(healthy, []tenant.Incident{inc}, nil, tenant.CompCitizen, now); got != tenant.StateMajor {
		t.Errorf("citizen with an open major incident and healthy checks = %q, want major_outage", got)
	}
	if got := tenant.CurrentState(healthy, []tenant.Incident{inc}, nil, tenant.CompMail, now); got != tenant.StateMajor {
		t.Errorf("mail: checks say major, incident degraded = %q, want major_outage (checks may only make it worse)", got)
	}
	resolved := inc
	resolved.ResolvedAt = &now
	if got := tenant.CurrentState(healthy, []tenant.Incident{resolved}, nil, tenant.CompCitizen, now); got != tenant.StateOperational {
		t.Errorf("after resolution = %q, want operational", got)
	}
	if got := tenant.CurrentState(healthy, nil, nil, tenant.CompCitizen, now.Add(tenant.StaleAfter+time.Minute)); got != tenant.StateUnknown {
		t.Errorf("watchdog silent for over %s = %q, want unknown (no data)", tenant.StaleAfter, got)
	}
	m := tenant.Maintenance{Components: []tenant.Component{tenant.CompCitizen}, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour)}
	if got := tenant.CurrentState(healthy, nil, []tenant.Maintenance{m}, tenant.CompCitizen, now); got != tenant.StateMaintenance {
		t.Errorf("in maintenance = %q, want under_maintenance", got)
	}
	if got := tenant.CurrentState(healthy, []tenant.Incident{inc}, []tenant.Maintenance{m}, tenant.CompCitizen, now); got != tenant.StateMajor {
		t.Errorf("incident during maintenance = %q, want major_outage", got)
	}
}

// TestStatusMaintenanceTransitions is OPS §2.3 requirement 5: a maintenance moves from announced
// to in progress to completed at its start and end on a fake clock, is refused unless announced
// at least 30 days ahead, and shows among the notices from its announcement.
func TestStatusMaintenanceTransitions(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	p.clock.Set(at("2026-11-01 10:00"))
	sp := tenant.NewStatusPage(p.d.App, p.clock.Now)
	in := tenant.MaintenanceInput{TitleJA: "定期保守", TitleEN: "Scheduled maintenance", Components: []tenant.Component{tenant.CompCitizen, tenant.CompAPI},
		StartsAt: at("2026-11-20 01:00"), EndsAt: at("2026-11-20 05:00")}
	if _, err := sp.ScheduleMaintenance(ctx, in, vendor); tenant.AsError(err) == nil || tenant.AsError(err).Fields["starts_at"] != "status.maintenance.notice_short" {
		t.Fatalf("19 days' notice: %v, want starts_at status.maintenance.notice_short", err)
	}
	in.StartsAt, in.EndsAt = at("2026-12-05 01:00"), at("2026-12-05 05:00")
	in.AnnounceAt = at("2026-11-02 09:00")
	m, err := sp.ScheduleMaintenance(ctx, in, vendor)
	if err != nil {
		t.Fatal(err)
	}
	notices := func() int {
		ns, err := sp.Notices(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(ns)
	}
	for _, step := range []struct {
		now     string
		phase   string
		notices int
	}{
		{"2026-11-01 10:00", tenant.PhaseHidden, 0},
		{"2026-11-02 09:00", tenant.PhaseAnnounced, 1},
		{"2026-12-05 00:59", tenant.PhaseAnnounced, 1},
		{"2026-12-05 01:00", tenant.PhaseInProgress, 1},
		{"2026-12-05 04:59", tenant.PhaseInProgress, 1},
		{"2026-12-05 05:00", tenant.PhaseCompleted, 0},
	} {
		p.clock.Set(at(step.now))
		if got := m.Phase(p.clock.Now()); got != step.phase {
			t.Errorf("at %s phase %s, want %s", step.now, got, step.phase)
		}
		if got := notices(); got != step.notices {
			t.Errorf("at %s %d notices, want %d", step.now, got, step.notices)
		}
	}
	if err := sp.CancelMaintenance(ctx, m.ID, vendor); tenant.ErrorCode(err) != tenant.Conflict {
		t.Errorf("cancel after the end = %v, want conflict", err)
	}
}

// TestStatusIncidentAudited is OPS §2.3 requirement 8: every post and update of an incident is
// written to the vendor's log with the ops account that made it, in the same transaction
// (TestVendorChangeRollsBackWithItsRecord proves a refused log line undoes the change).
func TestStatusIncidentAudited(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	sp := tenant.NewStatusPage(p.d.App, p.clock.Now)
	inc, err := sp.PostIncident(ctx, tenant.IncidentInput{TitleJA: "予約画面が表示されません", TitleEN: "Booking pages down", Impact: "major",
		Components: map[tenant.Component]tenant.ComponentState{tenant.CompCitizen: tenant.StateMajor},
		Update:     tenant.UpdateInput{Status: tenant.IncidentInvestigating, BodyJA: "調査しています。", BodyEN: "Investigating."}}, vendor)
	if err != nil {
		t.Fatal(err)
	}
	p.clock.Add(time.Minute)
	other := tenant.Vendor(uuid.MustParse("0b0b0b0b-0000-4000-8000-000000000002"), "ops.suzuki", "203.0.113.10")
	if err := sp.UpdateIncident(ctx, inc.ID, tenant.UpdateInput{Status: tenant.IncidentResolved, BodyJA: "復旧しました。", BodyEN: "Resolved."}, other); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Actor  string `bun:"actor"`
		Action string `bun:"action"`
		IP     string `bun:"ip"`
	}
	if err := p.d.Owner.NewRaw(`SELECT actor, action, ip FROM ops_audit_log WHERE target = ? ORDER BY seq`, inc.ID.String()).Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	want := []string{"vendor:ops.sato status.incident.post 203.0.113.9", "vendor:ops.suzuki status.incident.update 203.0.113.10"}
	if len(rows) != 2 {
		t.Fatalf("log rows %+v, want %v", rows, want)
	}
	for i, r := range rows {
		if got := r.Actor + " " + r.Action + " " + r.IP; got != want[i] {
			t.Errorf("row %d = %q, want %q", i, got, want[i])
		}
	}
	got, err := sp.Incident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Open() || len(got.Updates) != 2 || got.Updates[0].PostedBy != "vendor:ops.suzuki" {
		t.Errorf("incident after resolution: open=%v, %d updates, newest by %q", got.Open(), len(got.Updates), got.Updates[0].PostedBy)
	}
	// Staff of a city cannot post on the platform's page.
	staff := tenant.Staff(uuid.New(), "clerk", "192.0.2.1")
	if _, err := sp.PostIncident(ctx, tenant.IncidentInput{}, staff); tenant.ErrorCode(err) != tenant.Forbidden {
		t.Errorf("staff posting = %v, want forbidden", err)
	}
	// Bad input: every field named, nothing written.
	_, err = sp.PostIncident(ctx, tenant.IncidentInput{Impact: "huge", Cities: []string{"nowhere"}}, vendor)
	e := tenant.AsError(err)
	if e == nil || e.Code != tenant.Invalid {
		t.Fatalf("empty incident = %v, want invalid", err)
	}
	for _, f := range []string{"title_ja", "title_en", "impact", "components", "status", "body_ja", "body_en", "tenants"} {
		if e.Fields[f] == "" {
			t.Errorf("field %s not named: %v", f, e.Fields)
		}
	}
}

// TestStatusRecordStates: the watchdog's observations extend the newest row while the state
// holds, start a row when it changes (at the moment first seen, which may lie in an outage of
// PostgreSQL), and leave a gap when the watchdog was silent.
func TestStatusRecordStates(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	sp := tenant.NewStatusPage(p.d.App, p.clock.Now)
	t0 := at("2026-12-07 10:00")
	rec := func(min int, s tenant.ComponentState, since time.Time) {
		t.Helper()
		o := map[tenant.Component]tenant.Observation{tenant.CompCitizen: {State: s, Since: since}}
		wrote, err := sp.RecordStates(ctx, o, t0.Add(time.Duration(min)*time.Minute))
		if err != nil || !wrote {
			t.Fatalf("RecordStates at minute %d = %v, %v; want written", min, wrote, err)
		}
		// A second replica in the same minute writes nothing, whatever it saw.
		if again, err := sp.RecordStates(ctx, map[tenant.Component]tenant.Observation{tenant.CompCitizen: {State: tenant.StatePartial}},
			t0.Add(time.Duration(min)*time.Minute+30*time.Second)); err != nil || again {
			t.Fatalf("second write in minute %d = %v, %v; want skipped", min, again, err)
		}
	}
	rec(0, tenant.StateOperational, time.Time{})
	rec(1, tenant.StateOperational, time.Time{})
	rec(2, tenant.StateOperational, time.Time{})
	rec(5, tenant.StateMajor, t0.Add(3*time.Minute)) // PostgreSQL was down from minute 3 to 5
	rec(6, tenant.StateMajor, time.Time{})
	rec(20, tenant.StateMajor, time.Time{}) // silent for 14 minutes: a new row
	var got []tenant.Interval
	if err := p.d.App.NewSelect().Model(&got).Order("id").Scan(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"operational 10:00–10:02", "major_outage 10:03–10:06", "major_outage 10:20–10:20"}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %v", len(got), want)
	}
	for i, g := range got {
		s := fmt.Sprintf("%s %s–%s", g.State, g.StartedAt.In(jst).Format("15:04"), g.SeenAt.In(jst).Format("15:04"))
		if s != want[i] {
			t.Errorf("row %d = %s, want %s", i, s, want[i])
		}
	}
	u := tenant.ComputeUptime(got, nil, tenant.CompCitizen, at("2026-12-07 10:21"), 1)
	if math.Abs(u.Days[0].Observed.Minutes()-(3+4+1)) > 0.01 {
		t.Errorf("observed %v, want 8 minutes", u.Days[0].Observed)
	}
}

// TestStatusSignals: the web processes' heartbeats count for 90 seconds; open incidents and the
// maintenance in progress are read for the watchdog.
func TestStatusSignals(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	sp := tenant.NewStatusPage(p.d.App, p.clock.Now)
	for _, proc := range []string{"web-a:1", "web-b:1"} {
		if err := sp.Heartbeat(ctx, proc); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sp.PostIncident(ctx, tenant.IncidentInput{TitleJA: "障害", TitleEN: "Outage", Impact: "minor",
		Components: map[tenant.Component]tenant.ComponentState{tenant.CompMail: tenant.StatePartial},
		Update:     tenant.UpdateInput{Status: tenant.IncidentInvestigating, BodyJA: "調査中です。", BodyEN: "Investigating."}}, vendor); err != nil {
		t.Fatal(err)
	}
	h, err := sp.Signals(ctx)
	if err != nil || h.WebProcesses != 2 || len(h.Open) != 1 || h.Open[0].Components[tenant.CompMail] != tenant.StatePartial {
		t.Fatalf("signals = %+v, %v; want 2 web processes and the open incident", h, err)
	}
	p.clock.Add(2 * time.Minute)
	if err := sp.Heartbeat(ctx, "web-a:1"); err != nil {
		t.Fatal(err)
	}
	if h, err = sp.Signals(ctx); err != nil || h.WebProcesses != 1 {
		t.Errorf("after 2 minutes = %+v, %v; want 1 web process", h, err)
	}
}
