package tenant

import (
	"sort"
	"time"
)

// Uptime: the status page's daily figures are time-weighted from the component-state interval
// log, not counted from probes. For each component and JST day,
//
//	uptime = 1 − (major_minutes + 0.3 × partial_minutes) / (observed_minutes − maintenance_minutes)
//
// where observed minutes are those the log covers (a row counts from started_at until one
// watchdog period after seen_at, or the next row's start), maintenance minutes those of them
// inside a planned maintenance of the component (not cancelled), which count neither as down nor
// as up, and degraded performance counts as up. A day the log does not cover at all has no
// data and is shown as such, not as up. The 90-day figure applies the same formula to the sums.

// PartialWeight is the weight of a minute of partial outage.
const PartialWeight = 0.3

// DayUptime is one component's figures for one JST day.
type DayUptime struct {
	Day                      time.Time // 00:00 JST
	Observed, Major, Partial time.Duration
	Maintenance              time.Duration
	Uptime                   float64 // 0…1; meaningless when NoData
	NoData                   bool    // the log covers none of the day
	Worst                    ComponentState
}

// Uptime is one component's daily figures (oldest first) and the whole period's.
type Uptime struct {
	Days   []DayUptime
	Total  float64
	NoData bool // no day has data
}

type span struct{ from, to time.Time }

func overlap(a, b span) time.Duration {
	from, to := a.from, a.to
	if b.from.After(from) {
		from = b.from
	}
	if b.to.Before(to) {
		to = b.to
	}
	if to.After(from) {
		return to.Sub(from)
	}
	return 0
}

// ComputeUptime returns comp's uptime over the days JST days ending with now's day (today counts
// up to now), from the interval log ivs (any components, any order) and the maintenances.
func ComputeUptime(ivs []Interval, maints []Maintenance, comp Component, now time.Time, days int) Uptime {
	var mine []Interval
	for _, iv := range ivs {
		if iv.Component == comp {
			mine = append(mine, iv)
		}
	}
	sort.SliceStable(mine, func(i, j int) bool { return mine[i].StartedAt.Before(mine[j].StartedAt) })
	type piece struct {
		span
		state ComponentState
	}
	pieces := make([]piece, 0, len(mine))
	for i, iv := range mine {
		end := iv.SeenAt.Add(WatchdogPeriod)
		if i+1 < len(mine) && mine[i+1].StartedAt.Before(end) {
			end = mine[i+1].StartedAt
		}
		if end.After(now) {
			end = now
		}
		if end.After(iv.StartedAt) {
			pieces = append(pieces, piece{span{iv.StartedAt, end}, iv.State})
		}
	}
	var windows []span
	for _, m := range maints {
		if m.CancelledAt != nil {
			continue
		}
		for _, c := range m.Components {
			if c == comp {
				windows = append(windows, span{m.StartsAt, m.EndsAt})
				break
			}
		}
	}
	windows = mergeSpans(windows)

	today := now.In(statusJST)
	midnight := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, statusJST)
	u := Uptime{Days: make([]DayUptime, days), NoData: true}
	var sumObs time.Duration
	var sumDownF float64
	for i := 0; i < days; i++ {
		start := midnight.AddDate(0, 0, i-days+1)
		day := span{start, start.AddDate(0, 0, 1)}
		if day.to.After(now) {
			day.to = now
		}
		d := DayUptime{Day: start, Worst: StateUnknown}
		for _, p := range pieces {
			in := overlap(p.span, day)
			if in == 0 {
				continue
			}
			var maint time.Duration
			clipped := span{maxTime(p.from, day.from), minTime(p.to, day.to)}
			for _, w := range windows {
				maint += overlap(clipped, w)
			}
			d.Maintenance += maint
			counted := in - maint
			d.Observed += counted
			if counted > 0 {
				switch p.state {
				case StateMajor:
					d.Major += counted
				case StatePartial:
					d.Partial += counted
				}
				if d.Worst == StateUnknown {
					d.Worst = StateOperational
				}
				d.Worst = Worse(d.Worst, p.state)
			}
		}
		switch {
		case d.Observed > 0:
			down := float64(d.Major) + PartialWeight*float64(d.Partial)
			d.Uptime = 1 - down/float64(d.Observed)
			u.NoData = false
			sumObs += d.Observed
			sumDownF += down
		case d.Maintenance > 0:
			d.Uptime, d.Worst = 1, StateMaintenance
		default:
			d.NoData = true
		}
		u.Days[i] = d
	}
	if sumObs > 0 {
		u.Total = 1 - sumDownF/float64(sumObs)
	}
	return u
}

func mergeSpans(in []span) []span {
	sort.Slice(in, func(i, j int) bool { return in[i].from.Before(in[j].from) })
	var out []span
	for _, s := range in {
		if n := len(out); n > 0 && !s.from.After(out[n-1].to) {
			if s.to.After(out[n-1].to) {
				out[n-1].to = s.to
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// CurrentState is a component's state at now: while an open incident names the component, the
// incident's state, made worse (never better) by the watchdog's; else under_maintenance while a
// maintenance of it is in progress; else the watchdog's newest state (unknown when it has not
// written for StaleAfter). An open incident therefore always wins over health checks that look
// fine.
func CurrentState(ivs []Interval, incidents []Incident, maints []Maintenance, comp Component, now time.Time) ComponentState {
	auto := StateUnknown
	var newest time.Time
	for _, iv := range ivs {
		if iv.Component == comp && iv.SeenAt.After(newest) && !iv.StartedAt.After(now) {
			newest, auto = iv.SeenAt, iv.State
		}
	}
	if now.Sub(newest) > StaleAfter {
		auto = StateUnknown
	}
	inc := StateUnknown
	for _, i := range incidents {
		if !i.Open() {
			continue
		}
		if s, ok := i.Components[comp]; ok {
			inc = Worse(inc, s)
			if inc == StateUnknown {
				inc = s
			}
		}
	}
	if inc != StateUnknown {
		return Worse(inc, auto)
	}
	for _, m := range maints {
		if m.Covers(now) {
			for _, c := range m.Components {
				if c == comp {
					return StateMaintenance
				}
			}
		}
	}
	return auto
}
