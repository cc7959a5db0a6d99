package status

import (
	"bytes"
	"embed"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/tenant"
)

//go:embed templates
var templatesFS embed.FS

var jst = time.FixedZone("Asia/Tokyo", 9*60*60)

// langs are the languages every snapshot holds.
var langs = []string{"ja", "en"}

// view is the page's data in one language.
type view struct {
	Lang, Other  string
	CSS          string
	Host         string
	RenderedAt   time.Time
	Indicator    string // none, minor, major, critical, maintenance, unknown
	Components   []compView
	Open, Past   []incView
	Maintenances []maintView
	Stale        bool // the stale notice's own rendering
}

type compView struct {
	ID     tenant.Component
	State  string // the state's class and message suffix ("unknown" for no data)
	Total  string // the 90-day uptime, "" when no day has data
	Days   []dayView
	Issues []dayView // the days not at 100 % (and without data), newest first, for the list under the bar
}

type dayView struct {
	Day    time.Time
	Class  string // ok, minor, partial, major, maint, none
	Uptime string // "99.931%", "" without data
	NoData bool
}

type incView struct {
	ID         string
	Title      string
	Impact     string
	Status     string
	Created    time.Time
	Resolved   *time.Time
	Cities     string // "" for every city
	Components []compState
	Updates    []updView
}

type compState struct {
	ID    tenant.Component
	State string
}

type updView struct {
	Status string
	Paras  []string
	At     time.Time
}

type maintView struct {
	ID         string
	Title      string
	Paras      []string
	Phase      string
	Starts     time.Time
	Ends       time.Time
	Cities     string
	Components []tenant.Component
}

func (u *UI) funcs() template.FuncMap {
	f := u.core.Funcs()
	f["jst"] = func(l string, t time.Time) string {
		t = t.In(jst)
		if l == "en" {
			return t.Format("Mon 2 Jan 2006 15:04") + " JST"
		}
		return fmt.Sprintf("%d年%d月%d日（%s）%s", t.Year(), t.Month(), t.Day(), "日月火水木金土"[t.Weekday()*3:t.Weekday()*3+3], t.Format("15:04"))
	}
	f["jstday"] = func(l string, t time.Time) string {
		t = t.In(jst)
		if l == "en" {
			return t.Format("2 Jan 2006")
		}
		return fmt.Sprintf("%d年%d月%d日", t.Year(), t.Month(), t.Day())
	}
	f["list2"] = func(a, b any) []any { return []any{a, b} }
	f["iso"] = func(t time.Time) string { return t.In(jst).Format(time.RFC3339) }
	return f
}

func paras(s string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func stateName(s tenant.ComponentState) string {
	if s == tenant.StateUnknown {
		return "unknown"
	}
	return string(s)
}

func pick(l, ja, en string) string {
	if l == "en" {
		return en
	}
	return ja
}

func cityList(l string, ids []uuid.UUID, names map[uuid.UUID]string) string {
	if ids == nil {
		return ""
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if n, ok := names[id]; ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return strings.Join(out, pick(l, "、", ", "))
}

// indicator is the page's overall status, as the common status-page API names it.
func indicator(states map[tenant.Component]tenant.ComponentState) string {
	major, minor, maint, unknown := 0, 0, 0, 0
	for _, s := range states {
		switch s {
		case tenant.StateMajor:
			major++
		case tenant.StatePartial, tenant.StateDegraded:
			minor++
		case tenant.StateMaintenance:
			maint++
		case tenant.StateUnknown:
			unknown++
		}
	}
	switch {
	case major >= 3:
		return "critical"
	case major > 0:
		return "major"
	case minor > 0:
		return "minor"
	case maint > 0:
		return "maintenance"
	case unknown == len(states):
		return "unknown"
	case unknown > 0:
		return "minor"
	}
	return "none"
}

func dayClass(d tenant.DayUptime) string {
	switch {
	case d.NoData:
		return "none"
	case d.Worst == tenant.StateMaintenance:
		return "maint"
	case d.Uptime >= 0.99999:
		return "ok"
	case d.Uptime >= 0.99:
		return "minor"
	case d.Uptime >= 0.95:
		return "partial"
	}
	return "major"
}

func pct(f float64) string { return fmt.Sprintf("%.3f%%", f*100) }

// render builds the snapshot from the data.
func (u *UI) render(d *tenant.StatusData) (*Snapshot, error) {
	now := d.Now
	states := map[tenant.Component]tenant.ComponentState{}
	for _, c := range tenant.Components {
		states[c] = tenant.CurrentState(d.Intervals, d.Incidents, d.Maintenances, c, now)
	}
	uptimes := map[tenant.Component]tenant.Uptime{}
	for _, c := range tenant.Components {
		uptimes[c] = tenant.ComputeUptime(d.Intervals, d.Maintenances, c, now, tenant.HistoryDays)
	}
	s := &Snapshot{RenderedAt: now, HTML: map[string][]byte{}, Stale: map[string][]byte{}, Feed: map[string][]byte{}, JSON: map[string][]byte{}}
	for _, l := range langs {
		v := u.view(l, d, states, uptimes)
		var buf bytes.Buffer
		t := u.views.Template("page")
		if err := t.ExecuteTemplate(&buf, "base", v); err != nil {
			return nil, fmt.Errorf("render status page (%s): %w", l, err)
		}
		s.HTML[l] = bytes.Clone(buf.Bytes())
		buf.Reset()
		if err := t.ExecuteTemplate(&buf, "stale", v); err != nil {
			return nil, fmt.Errorf("render stale notice (%s): %w", l, err)
		}
		s.Stale[l] = bytes.Clone(buf.Bytes())
		var err error
		if s.Feed[l], err = u.atom(l, d); err != nil {
			return nil, err
		}
		if s.JSON[l], err = u.summaryJSON(l, d, states); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (u *UI) view(l string, d *tenant.StatusData, states map[tenant.Component]tenant.ComponentState, uptimes map[tenant.Component]tenant.Uptime) *view {
	v := &view{Lang: l, Other: pick(l, "en", "ja"), CSS: u.core.Assets.URL("status.css"), Host: "status." + u.deps.BaseDomain,
		RenderedAt: d.Now, Indicator: indicator(states)}
	for _, c := range tenant.Components {
		up := uptimes[c]
		cv := compView{ID: c, State: stateName(states[c])}
		if !up.NoData {
			cv.Total = pct(up.Total)
		}
		for _, day := range up.Days {
			dv := dayView{Day: day.Day, Class: dayClass(day), NoData: day.NoData}
			if !day.NoData {
				dv.Uptime = pct(day.Uptime)
			}
			cv.Days = append(cv.Days, dv)
			if dv.Class != "ok" && dv.Class != "maint" && !(dv.NoData && up.NoData) {
				cv.Issues = append([]dayView{dv}, cv.Issues...)
			}
		}
		if len(cv.Issues) > 14 {
			cv.Issues = cv.Issues[:14]
		}
		v.Components = append(v.Components, cv)
	}
	for _, i := range d.Incidents {
		iv := incView{ID: i.ID.String(), Title: pick(l, i.TitleJA, i.TitleEN), Impact: i.Impact, Status: string(i.Status), Created: i.CreatedAt,
			Resolved: i.ResolvedAt, Cities: cityList(l, i.Tenants, d.Cities)}
		for _, c := range tenant.Components {
			if s, ok := i.Components[c]; ok {
				iv.Components = append(iv.Components, compState{ID: c, State: string(s)})
			}
		}
		for _, up := range i.Updates {
			iv.Updates = append(iv.Updates, updView{Status: string(up.Status), Paras: paras(pick(l, up.BodyJA, up.BodyEN)), At: up.PostedAt})
		}
		if i.Open() {
			v.Open = append(v.Open, iv)
		} else {
			v.Past = append(v.Past, iv)
		}
	}
	for _, m := range d.Maintenances {
		ph := m.Phase(d.Now)
		if ph == tenant.PhaseCompleted || ph == tenant.PhaseHidden {
			continue
		}
		v.Maintenances = append(v.Maintenances, maintView{ID: m.ID.String(), Title: pick(l, m.TitleJA, m.TitleEN), Paras: paras(pick(l, m.BodyJA, m.BodyEN)),
			Phase: ph, Starts: m.StartsAt, Ends: m.EndsAt, Cities: cityList(l, m.Tenants, d.Cities), Components: m.Components})
	}
	return v
}

// Atom 1.0 (RFC 4287).
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomPerson  `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Href string `xml:"href,attr"`
	Type string `xml:"type,attr,omitempty"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

type atomEntry struct {
	ID        string   `xml:"id"`
	Title     string   `xml:"title"`
	Updated   string   `xml:"updated"`
	Published string   `xml:"published"`
	Link      atomLink `xml:"link"`
	Content   atomText `xml:"content"`
}

func (u *UI) t(l, key string) string { return u.core.Locales.T(l, key, nil) }

func (u *UI) atom(l string, d *tenant.StatusData) ([]byte, error) {
	base := "https://status." + u.deps.BaseDomain + "/"
	f := atomFeed{ID: "tag:status." + u.deps.BaseDomain + ",2026:feed", Title: u.t(l, "status.site.name"), Updated: d.Now.UTC().Format(time.RFC3339),
		Author: atomPerson{Name: u.t(l, "status.site.name")},
		Links:  []atomLink{{Rel: "self", Href: base + "feed.atom" + pick(l, "", "?lang=en"), Type: "application/atom+xml"}, {Rel: "alternate", Href: base + pick(l, "", "?lang=en"), Type: "text/html"}}}
	for _, i := range d.Incidents {
		var body strings.Builder
		for _, up := range i.Updates {
			fmt.Fprintf(&body, "%s — %s\n%s\n\n", up.PostedAt.In(jst).Format("2006-01-02 15:04 JST"), u.t(l, "status.incident."+string(up.Status)), pick(l, up.BodyJA, up.BodyEN))
		}
		f.Entries = append(f.Entries, atomEntry{ID: "urn:uuid:" + i.ID.String(), Title: pick(l, i.TitleJA, i.TitleEN) + " (" + u.t(l, "status.incident."+string(i.Status)) + ")",
			Updated: i.UpdatedAt.UTC().Format(time.RFC3339), Published: i.CreatedAt.UTC().Format(time.RFC3339),
			Link: atomLink{Rel: "alternate", Href: base + pick(l, "", "?lang=en") + "#i-" + i.ID.String()}, Content: atomText{Type: "text", Body: strings.TrimSpace(body.String())}})
	}
	for _, m := range d.Maintenances {
		ph := m.Phase(d.Now)
		if ph == tenant.PhaseHidden {
			continue
		}
		text := fmt.Sprintf("%s – %s\n%s", m.StartsAt.In(jst).Format("2006-01-02 15:04"), m.EndsAt.In(jst).Format("2006-01-02 15:04 JST"), pick(l, m.BodyJA, m.BodyEN))
		f.Entries = append(f.Entries, atomEntry{ID: "urn:uuid:" + m.ID.String(), Title: pick(l, m.TitleJA, m.TitleEN) + " (" + u.t(l, "status.phase."+ph) + ")",
			Updated: m.UpdatedAt.UTC().Format(time.RFC3339), Published: m.CreatedAt.UTC().Format(time.RFC3339),
			Link: atomLink{Rel: "alternate", Href: base + pick(l, "", "?lang=en") + "#m-" + m.ID.String()}, Content: atomText{Type: "text", Body: strings.TrimSpace(text)}})
	}
	out, err := xml.MarshalIndent(f, "", " ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), out...), nil
}

// The JSON summary, shaped like the common status-page API's /api/v2/summary.json.
type Summary struct {
	Page                  SummaryPage          `json:"page"`
	Status                SummaryStatus        `json:"status"`
	Components            []SummaryComponent   `json:"components"`
	Incidents             []SummaryIncident    `json:"incidents"`
	ScheduledMaintenances []SummaryMaintenance `json:"scheduled_maintenances"`
}

// SummaryPage is the page block.
type SummaryPage struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	TimeZone  string `json:"time_zone"`
	UpdatedAt string `json:"updated_at"`
}

// SummaryStatus is the overall indicator.
type SummaryStatus struct {
	Indicator   string `json:"indicator"`
	Description string `json:"description"`
}

// SummaryComponent is one component.
type SummaryComponent struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Status      string  `json:"status"`
	Position    int     `json:"position"`
	Description *string `json:"description"`
	PageID      string  `json:"page_id"`
	Group       bool    `json:"group"`
	Showcase    bool    `json:"showcase"`
	UpdatedAt   string  `json:"updated_at"`
}

// SummaryIncident is one unresolved incident.
type SummaryIncident struct {
	ID              string             `json:"id"`
	Name            string             `json:"name"`
	Status          string             `json:"status"`
	Impact          string             `json:"impact"`
	CreatedAt       string             `json:"created_at"`
	UpdatedAt       string             `json:"updated_at"`
	StartedAt       string             `json:"started_at"`
	ResolvedAt      *string            `json:"resolved_at"`
	Shortlink       string             `json:"shortlink"`
	PageID          string             `json:"page_id"`
	IncidentUpdates []SummaryUpdate    `json:"incident_updates"`
	Components      []SummaryComponent `json:"components"`
}

// SummaryUpdate is one update of an incident.
type SummaryUpdate struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	Body       string `json:"body"`
	IncidentID string `json:"incident_id"`
	CreatedAt  string `json:"created_at"`
	UpdatedAt  string `json:"updated_at"`
	DisplayAt  string `json:"display_at"`
}

// SummaryMaintenance is one upcoming or in-progress maintenance.
type SummaryMaintenance struct {
	ID              string             `json:"id"`
	Name            string             `json:"name"`
	Status          string             `json:"status"` // scheduled, in_progress
	Impact          string             `json:"impact"`
	CreatedAt       string             `json:"created_at"`
	UpdatedAt       string             `json:"updated_at"`
	ScheduledFor    string             `json:"scheduled_for"`
	ScheduledUntil  string             `json:"scheduled_until"`
	Shortlink       string             `json:"shortlink"`
	PageID          string             `json:"page_id"`
	IncidentUpdates []SummaryUpdate    `json:"incident_updates"`
	Components      []SummaryComponent `json:"components"`
}

func rfc(t time.Time) string { return t.In(jst).Format("2006-01-02T15:04:05.000-07:00") }

func (u *UI) summaryJSON(l string, d *tenant.StatusData, states map[tenant.Component]tenant.ComponentState) ([]byte, error) {
	const pageID = "madoguchi"
	base := "https://status." + u.deps.BaseDomain + "/"
	comp := func(i int, c tenant.Component) SummaryComponent {
		st := states[c]
		sc := SummaryComponent{ID: string(c), Name: u.t(l, "status.component."+string(c)), Status: string(st), Position: i + 1, PageID: pageID,
			Showcase: true, UpdatedAt: rfc(d.Now)}
		if st == tenant.StateUnknown {
			// The API knows no "unknown": no monitoring data is reported as degraded, and said.
			desc := u.t(l, "status.state.unknown")
			sc.Status, sc.Description = string(tenant.StateDegraded), &desc
		}
		return sc
	}
	ind := indicator(states)
	sum := Summary{Page: SummaryPage{ID: pageID, Name: u.t(l, "status.site.name"), URL: base, TimeZone: "Asia/Tokyo", UpdatedAt: rfc(d.Now)},
		Status:    SummaryStatus{Indicator: ind, Description: u.t(l, "status.overall."+ind)},
		Incidents: []SummaryIncident{}, ScheduledMaintenances: []SummaryMaintenance{}}
	if ind == "unknown" {
		sum.Status.Indicator = "minor"
	}
	pos := map[tenant.Component]int{}
	for i, c := range tenant.Components {
		sum.Components = append(sum.Components, comp(i, c))
		pos[c] = i
	}
	for _, i := range d.Incidents {
		if !i.Open() {
			continue
		}
		si := SummaryIncident{ID: i.ID.String(), Name: pick(l, i.TitleJA, i.TitleEN), Status: string(i.Status), Impact: i.Impact,
			CreatedAt: rfc(i.CreatedAt), UpdatedAt: rfc(i.UpdatedAt), StartedAt: rfc(i.CreatedAt), Shortlink: base + "#i-" + i.ID.String(), PageID: pageID,
			IncidentUpdates: []SummaryUpdate{}, Components: []SummaryComponent{}}
		for _, up := range i.Updates {
			si.IncidentUpdates = append(si.IncidentUpdates, SummaryUpdate{ID: up.ID.String(), Status: string(up.Status), Body: pick(l, up.BodyJA, up.BodyEN),
				IncidentID: i.ID.String(), CreatedAt: rfc(up.PostedAt), UpdatedAt: rfc(up.PostedAt), DisplayAt: rfc(up.PostedAt)})
		}
		for _, c := range tenant.Components {
			if _, ok := i.Components[c]; ok {
				si.Components = append(si.Components, comp(pos[c], c))
			}
		}
		sum.Incidents = append(sum.Incidents, si)
	}
	for _, m := range d.Maintenances {
		ph := m.Phase(d.Now)
		if ph != tenant.PhaseAnnounced && ph != tenant.PhaseInProgress {
			continue
		}
		sm := SummaryMaintenance{ID: m.ID.String(), Name: pick(l, m.TitleJA, m.TitleEN), Status: ph, Impact: "maintenance", CreatedAt: rfc(m.CreatedAt),
			UpdatedAt: rfc(m.UpdatedAt), ScheduledFor: rfc(m.StartsAt), ScheduledUntil: rfc(m.EndsAt), Shortlink: base + "#m-" + m.ID.String(), PageID: pageID,
			IncidentUpdates: []SummaryUpdate{}, Components: []SummaryComponent{}}
		for _, c := range m.Components {
			sm.Components = append(sm.Components, comp(pos[c], c))
		}
		sum.ScheduledMaintenances = append(sum.ScheduledMaintenances, sm)
	}
	return json.Marshal(sum)
}
