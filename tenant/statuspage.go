package tenant

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// This file is the public status page's data (status.{BASE_DOMAIN}) and the planned-maintenance
// notices on the cities' sites: platform data in global tables without tenant_id (migration
// 0012), holding no citizen's personal data. The worker's watchdog writes a component-state
// interval log once a minute (RecordStates); the vendor's ops team posts incidents with their
// timeline of updates and schedules maintenance, each change through one method taking the
// vendor's Actor and written to the vendor's log (ops_audit_log) in the change's transaction.
// An incident or a maintenance names the cities it concerns: all (Tenants nil) or a list.

// statusJST is Japan Standard Time (booking.JST; tenant cannot import booking).
var statusJST = time.FixedZone("Asia/Tokyo", 9*60*60)

// Component is one part of the service shown on the status page.
type Component string

// The components, in the page's order.
const (
	CompCitizen    Component = "citizen"    // 住民予約: the citizens' booking pages
	CompStaff      Component = "staff"      // 職員管理: the cities' staff and admin pages
	CompCallCenter Component = "callcenter" // コールセンター
	CompMail       Component = "mail"       // メール送信
	CompAPI        Component = "api"        // the JSON API
)

// Components are every component, in the page's order.
var Components = []Component{CompCitizen, CompStaff, CompCallCenter, CompMail, CompAPI}

// ComponentState is a component's state, as the common status-page API names them. "" is no
// data (the watchdog has not written for three minutes).
type ComponentState string

// States, from best to worst; under_maintenance is planned.
const (
	StateUnknown     ComponentState = ""
	StateOperational ComponentState = "operational"
	StateDegraded    ComponentState = "degraded_performance"
	StatePartial     ComponentState = "partial_outage"
	StateMajor       ComponentState = "major_outage"
	StateMaintenance ComponentState = "under_maintenance"
)

// severity orders the health states (operational < degraded < partial < major).
func (s ComponentState) severity() int {
	switch s {
	case StateDegraded:
		return 1
	case StatePartial:
		return 2
	case StateMajor:
		return 3
	}
	return 0
}

// Worse returns the worse of two health states.
func Worse(a, b ComponentState) ComponentState {
	if b.severity() > a.severity() {
		return b
	}
	return a
}

// IncidentStatus is where an incident stands: 調査中/原因特定/経過観察/解決.
type IncidentStatus string

// Incident statuses.
const (
	IncidentInvestigating IncidentStatus = "investigating"
	IncidentIdentified    IncidentStatus = "identified"
	IncidentMonitoring    IncidentStatus = "monitoring"
	IncidentResolved      IncidentStatus = "resolved"
)

// IncidentStatuses are the statuses in their order.
var IncidentStatuses = []IncidentStatus{IncidentInvestigating, IncidentIdentified, IncidentMonitoring, IncidentResolved}

// Impacts are an incident's impacts, as the common status-page API names them.
var Impacts = []string{"none", "minor", "major", "critical"}

// Incident is one posted incident with its timeline (newest update first).
type Incident struct {
	bun.BaseModel `bun:"table:status_incidents"`

	ID         uuid.UUID                    `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	TitleJA    string                       `bun:"title_ja,notnull"`
	TitleEN    string                       `bun:"title_en,notnull"`
	Impact     string                       `bun:"impact,notnull"`
	Components map[Component]ComponentState `bun:"components,type:jsonb,notnull"`
	Tenants    []uuid.UUID                  `bun:"tenants,array"` // nil: every city
	Status     IncidentStatus               `bun:"status,notnull"`
	CreatedAt  time.Time                    `bun:"created_at,notnull"`
	UpdatedAt  time.Time                    `bun:"updated_at,notnull"`
	ResolvedAt *time.Time                   `bun:"resolved_at"`
	CreatedBy  string                       `bun:"created_by,notnull" json:"-"`
	Updates    []IncidentUpdate             `bun:"-"`
}

// Open reports whether the incident is not resolved.
func (i *Incident) Open() bool { return i.ResolvedAt == nil }

// IncidentUpdate is one entry of an incident's timeline.
type IncidentUpdate struct {
	bun.BaseModel `bun:"table:status_incident_updates"`

	ID         uuid.UUID      `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	IncidentID uuid.UUID      `bun:"incident_id,type:uuid,notnull"`
	Status     IncidentStatus `bun:"status,notnull"`
	BodyJA     string         `bun:"body_ja,notnull"`
	BodyEN     string         `bun:"body_en,notnull"`
	PostedAt   time.Time      `bun:"posted_at,notnull"`
	PostedBy   string         `bun:"posted_by,notnull" json:"-"`
}

// Maintenance is one planned stop of the online service.
type Maintenance struct {
	bun.BaseModel `bun:"table:status_maintenances"`

	ID          uuid.UUID   `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	TitleJA     string      `bun:"title_ja,notnull"`
	TitleEN     string      `bun:"title_en,notnull"`
	BodyJA      string      `bun:"body_ja,notnull"`
	BodyEN      string      `bun:"body_en,notnull"`
	Components  []Component `bun:"components,array,notnull"`
	Tenants     []uuid.UUID `bun:"tenants,array"` // nil: every city
	AnnounceAt  time.Time   `bun:"announce_at,notnull"`
	StartsAt    time.Time   `bun:"starts_at,notnull"`
	EndsAt      time.Time   `bun:"ends_at,notnull"`
	CancelledAt *time.Time  `bun:"cancelled_at"`
	CreatedAt   time.Time   `bun:"created_at,notnull"`
	UpdatedAt   time.Time   `bun:"updated_at,notnull"`
	CreatedBy   string      `bun:"created_by,notnull" json:"-"`
}

// Maintenance phases, computed from the clock: the transitions at the start and the end need
// no job.
const (
	PhaseAnnounced  = "scheduled"   // announced, not started
	PhaseInProgress = "in_progress" // between start and end
	PhaseCompleted  = "completed"   // ended
	PhaseCancelled  = "cancelled"
	PhaseHidden     = "hidden" // not announced yet
)

// Phase returns the maintenance's phase at now.
func (m *Maintenance) Phase(now time.Time) string {
	switch {
	case m.CancelledAt != nil:
		return PhaseCancelled
	case !now.Before(m.EndsAt):
		return PhaseCompleted
	case !now.Before(m.StartsAt):
		return PhaseInProgress
	case !now.Before(m.AnnounceAt):
		return PhaseAnnounced
	}
	return PhaseHidden
}

// Concerns reports whether the maintenance (or incident) tenant list covers the city.
func concerns(tenants []uuid.UUID, city uuid.UUID) bool {
	return tenants == nil || slices.Contains(tenants, city)
}

// Concerns reports whether the maintenance concerns the city.
func (m *Maintenance) Concerns(city uuid.UUID) bool { return concerns(m.Tenants, city) }

// Covers reports whether t falls inside the maintenance window.
func (m *Maintenance) Covers(t time.Time) bool {
	return m.CancelledAt == nil && !t.Before(m.StartsAt) && t.Before(m.EndsAt)
}

// Interval is one row of the component-state interval log: the component was in State from
// StartedAt until SeenAt plus one watchdog period.
type Interval struct {
	bun.BaseModel `bun:"table:status_intervals"`

	ID        int64          `bun:"id,pk,autoincrement"`
	Component Component      `bun:"component,notnull"`
	State     ComponentState `bun:"state,notnull"`
	StartedAt time.Time      `bun:"started_at,notnull"`
	SeenAt    time.Time      `bun:"seen_at,notnull"`
	Detail    string         `bun:"detail,notnull"`
}

// WatchdogPeriod is how often the watchdog writes the log; a row counts for one period after
// its last sighting, and a component not seen for StaleAfter has no current state.
const (
	WatchdogPeriod = time.Minute
	StaleAfter     = 3 * time.Minute
)

// Observation is what the watchdog saw of one component.
type Observation struct {
	State  ComponentState
	Since  time.Time // when it was first seen in this state (the watchdog remembers through an outage)
	Detail string    // a short, non-personal reason ("postgresql", "redis", "outbox 20 min")
}

// StatusPage is the status page's service.
type StatusPage struct {
	db  *bun.DB
	now func() time.Time
}

// NewStatusPage returns the status page's service on the clock now (time.Now when nil).
func NewStatusPage(db *bun.DB, now func() time.Time) *StatusPage {
	if now == nil {
		now = time.Now
	}
	return &StatusPage{db: db, now: now}
}

// IncidentInput is a new incident: its first update comes with it.
type IncidentInput struct {
	TitleJA, TitleEN string
	Impact           string
	Components       map[Component]ComponentState // the components it affects and how
	Cities           []string                     // the cities' slugs; nil: every city
	Update           UpdateInput
}

// UpdateInput is one update of an incident's timeline. Components, when not nil, replace the
// affected components' states (an update may say the mail is back while the booking is not).
type UpdateInput struct {
	Status     IncidentStatus
	BodyJA     string
	BodyEN     string
	Components map[Component]ComponentState
}

// MaintenanceInput is a planned maintenance.
type MaintenanceInput struct {
	TitleJA, TitleEN string
	BodyJA, BodyEN   string
	Components       []Component
	Cities           []string // the cities' slugs; nil: every city
	AnnounceAt       time.Time
	StartsAt         time.Time
	EndsAt           time.Time
}

// MinNotice is how far ahead a maintenance must be announced (the spec asks a month): the
// announcement may not come later than this before the start.
const MinNotice = 30 * 24 * time.Hour

func checkText(fields map[string]string, name, s string, max int, required bool) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	switch {
	case required && s == "":
		fields[name] = "status.field.required"
	case utf8.RuneCountInString(s) > max:
		fields[name] = "status.field.too_long"
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		fields[name] = "status.field.invalid"
	}
	return s
}

func checkComponents(fields map[string]string, comps map[Component]ComponentState, required bool) {
	if required && len(comps) == 0 {
		fields["components"] = "status.components.required"
	}
	for c, s := range comps {
		if !slices.Contains(Components, c) || s.severity() == 0 {
			fields["components"] = "status.components.invalid"
		}
	}
}

func checkUpdate(fields map[string]string, in *UpdateInput) {
	if !slices.Contains(IncidentStatuses, in.Status) {
		fields["status"] = "status.incident.status_invalid"
	}
	in.BodyJA = checkText(fields, "body_ja", in.BodyJA, 4000, true)
	in.BodyEN = checkText(fields, "body_en", in.BodyEN, 4000, true)
	if in.Components != nil {
		checkComponents(fields, in.Components, false)
	}
}

func invalid(fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Key: "error.invalid", Fields: fields}
}

// resolveCities returns the ids of the cities with the slugs (sorted; nil for nil: every city),
// naming the field "tenants" when the list is empty (status.tenants.required), names a city
// that does not exist (status.tenants.invalid) or a training city (status.tenants.training).
func (s *StatusPage) resolveCities(ctx context.Context, tx bun.IDB, fields map[string]string, slugs []string) ([]uuid.UUID, error) {
	if slugs == nil {
		return nil, nil
	}
	var want []string
	for _, sl := range slugs {
		if sl = strings.ToLower(strings.TrimSpace(sl)); sl != "" {
			want = append(want, sl)
		}
	}
	slices.Sort(want)
	want = slices.Compact(want)
	if len(want) == 0 {
		fields["tenants"] = "status.tenants.required"
		return nil, nil
	}
	var rows []struct {
		ID       uuid.UUID `bun:"id"`
		Training bool      `bun:"training"`
	}
	if err := tx.NewSelect().Table("tenants").Column("id").ColumnExpr("training_of IS NOT NULL AS training").
		Where("slug IN (?)", bun.List(want)).Scan(ctx, &rows); err != nil {
		return nil, err
	}
	if len(rows) != len(want) {
		fields["tenants"] = "status.tenants.invalid"
		return nil, nil
	}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		if r.Training {
			// A training city (研修用) is never a city the public status page names.
			fields["tenants"] = "status.tenants.training"
			return nil, nil
		}
		ids[i] = r.ID
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	return ids, nil
}

func (s *StatusPage) audit(ctx context.Context, tx bun.IDB, by Actor, action, target string, before, after map[string]any) error {
	if err := opsAudit(ctx, tx, uuid.Nil, AuditEntry{Actor: by.Name(), Action: action, Target: target, Before: before, After: after, IP: by.IP}); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// PostIncident opens an incident with its first update. It returns invalid with the fields in
// error (title_ja, title_en, impact, components, tenants, status, body_ja, body_en) and
// forbidden for an actor who is not the vendor. Audit: "status.incident.post".
func (s *StatusPage) PostIncident(ctx context.Context, in IncidentInput, by Actor) (_ *Incident, err error) {
	defer Wrap(&err, "tenant.StatusPage.PostIncident")
	if err := platformOnly(by); err != nil {
		return nil, err
	}
	fields := map[string]string{}
	in.TitleJA = checkText(fields, "title_ja", in.TitleJA, 200, true)
	in.TitleEN = checkText(fields, "title_en", in.TitleEN, 200, true)
	if !slices.Contains(Impacts, in.Impact) {
		fields["impact"] = "status.incident.impact_invalid"
	}
	checkComponents(fields, in.Components, true)
	checkUpdate(fields, &in.Update)
	now := s.now()
	inc := &Incident{TitleJA: in.TitleJA, TitleEN: in.TitleEN, Impact: in.Impact, Components: in.Components,
		Status: in.Update.Status, CreatedAt: now, UpdatedAt: now, CreatedBy: clip(by.Name(), 100)}
	if in.Update.Status == IncidentResolved {
		inc.ResolvedAt = &now
	}
	err = RunTx(ctx, s.db, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if inc.Tenants, err = s.resolveCities(ctx, tx, fields, in.Cities); err != nil {
			return err
		}
		if err := invalid(fields); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(inc).Returning("id").Exec(ctx); err != nil {
			return err
		}
		u := IncidentUpdate{IncidentID: inc.ID, Status: in.Update.Status, BodyJA: in.Update.BodyJA, BodyEN: in.Update.BodyEN, PostedAt: now, PostedBy: inc.CreatedBy}
		if _, err := tx.NewInsert().Model(&u).Returning("id").Exec(ctx); err != nil {
			return err
		}
		inc.Updates = []IncidentUpdate{u}
		return s.audit(ctx, tx, by, "status.incident.post", inc.ID.String(), nil, map[string]any{
			"title": inc.TitleJA, "impact": inc.Impact, "components": inc.Components, "tenants": inc.Tenants, "status": u.Status, "body": u.BodyJA})
	})
	if err != nil {
		return nil, err
	}
	return inc, nil
}

// UpdateIncident adds an update to an incident's timeline; the update's status becomes the
// incident's, and "resolved" resolves it (a resolved incident may be reopened by a later
// update). It returns not_found ("status.incident.not_found"), invalid with the fields in
// error, and forbidden for an actor who is not the vendor. Audit: "status.incident.update".
func (s *StatusPage) UpdateIncident(ctx context.Context, id uuid.UUID, in UpdateInput, by Actor) (err error) {
	defer Wrap(&err, "tenant.StatusPage.UpdateIncident(%s)", id)
	if err := platformOnly(by); err != nil {
		return err
	}
	fields := map[string]string{}
	checkUpdate(fields, &in)
	if err := invalid(fields); err != nil {
		return err
	}
	now := s.now()
	return RunTx(ctx, s.db, nil, func(ctx context.Context, tx bun.Tx) error {
		var inc Incident
		err := tx.NewSelect().Model(&inc).Where("id = ?", id).For("UPDATE").Scan(ctx)
		if ErrorCode(DBError(err)) == NotFound {
			return &Error{Code: NotFound, Key: "status.incident.not_found", Err: err}
		}
		if err != nil {
			return err
		}
		before := map[string]any{"status": inc.Status, "components": inc.Components}
		inc.Status, inc.UpdatedAt = in.Status, now
		if len(in.Components) > 0 {
			inc.Components = in.Components
		}
		inc.ResolvedAt = nil
		if in.Status == IncidentResolved {
			inc.ResolvedAt = &now
		}
		if _, err := tx.NewUpdate().Model(&inc).Column("status", "updated_at", "resolved_at", "components").WherePK().Exec(ctx); err != nil {
			return err
		}
		u := IncidentUpdate{IncidentID: inc.ID, Status: in.Status, BodyJA: in.BodyJA, BodyEN: in.BodyEN, PostedAt: now, PostedBy: clip(by.Name(), 100)}
		if _, err := tx.NewInsert().Model(&u).Returning("id").Exec(ctx); err != nil {
			return err
		}
		return s.audit(ctx, tx, by, "status.incident.update", inc.ID.String(), before,
			map[string]any{"status": inc.Status, "components": inc.Components, "body": u.BodyJA})
	})
}

func (s *StatusPage) checkMaintenance(fields map[string]string, in *MaintenanceInput, now time.Time, isNew bool) {
	in.TitleJA = checkText(fields, "title_ja", in.TitleJA, 200, true)
	in.TitleEN = checkText(fields, "title_en", in.TitleEN, 200, true)
	in.BodyJA = checkText(fields, "body_ja", in.BodyJA, 4000, false)
	in.BodyEN = checkText(fields, "body_en", in.BodyEN, 4000, false)
	if len(in.Components) == 0 {
		fields["components"] = "status.components.required"
	}
	for _, c := range in.Components {
		if !slices.Contains(Components, c) {
			fields["components"] = "status.components.invalid"
		}
	}
	in.Components = slices.Compact(slices.Sorted(slices.Values(in.Components)))
	switch {
	case in.StartsAt.IsZero():
		fields["starts_at"] = "status.maintenance.starts_required"
	case in.EndsAt.IsZero():
		fields["ends_at"] = "status.maintenance.ends_required"
	case !in.EndsAt.After(in.StartsAt):
		fields["ends_at"] = "status.maintenance.ends_before_start"
	case in.EndsAt.Sub(in.StartsAt) > 24*time.Hour:
		fields["ends_at"] = "status.maintenance.too_long"
	case isNew && !in.StartsAt.After(now):
		fields["starts_at"] = "status.maintenance.starts_past"
	}
	if in.AnnounceAt.IsZero() {
		in.AnnounceAt = now
	}
	if isNew && in.AnnounceAt.Before(now) {
		in.AnnounceAt = now
	}
	if fields["starts_at"] == "" && !in.StartsAt.IsZero() && in.StartsAt.Sub(in.AnnounceAt) < MinNotice {
		fields["starts_at"] = "status.maintenance.notice_short"
	}
}

// ScheduleMaintenance plans a maintenance: announced from AnnounceAt (now when zero or past),
// which must be at least MinNotice (30 days) before the start; it lasts at most 24 hours. It
// returns invalid with the fields in error (title_ja, title_en, body_ja, body_en, components,
// tenants, starts_at, ends_at) and forbidden for an actor who is not the vendor. Audit:
// "status.maintenance.schedule".
func (s *StatusPage) ScheduleMaintenance(ctx context.Context, in MaintenanceInput, by Actor) (_ *Maintenance, err error) {
	defer Wrap(&err, "tenant.StatusPage.ScheduleMaintenance")
	if err := platformOnly(by); err != nil {
		return nil, err
	}
	now := s.now()
	fields := map[string]string{}
	s.checkMaintenance(fields, &in, now, true)
	m := &Maintenance{TitleJA: in.TitleJA, TitleEN: in.TitleEN, BodyJA: in.BodyJA, BodyEN: in.BodyEN, Components: in.Components,
		AnnounceAt: in.AnnounceAt, StartsAt: in.StartsAt, EndsAt: in.EndsAt, CreatedAt: now, UpdatedAt: now, CreatedBy: clip(by.Name(), 100)}
	err = RunTx(ctx, s.db, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if m.Tenants, err = s.resolveCities(ctx, tx, fields, in.Cities); err != nil {
			return err
		}
		if err := invalid(fields); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(m).Returning("id").Exec(ctx); err != nil {
			return err
		}
		return s.audit(ctx, tx, by, "status.maintenance.schedule", m.ID.String(), nil, maintenanceLog(m))
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func maintenanceLog(m *Maintenance) map[string]any {
	return map[string]any{"title": m.TitleJA, "components": m.Components, "tenants": m.Tenants,
		"announce_at": m.AnnounceAt, "starts_at": m.StartsAt, "ends_at": m.EndsAt}
}

// loadMaintenance locks one maintenance that is neither cancelled nor over (not_found
// "status.maintenance.not_found"; conflict "status.maintenance.closed").
func loadMaintenance(ctx context.Context, tx bun.Tx, id uuid.UUID, now time.Time) (*Maintenance, error) {
	var m Maintenance
	err := tx.NewSelect().Model(&m).Where("id = ?", id).For("UPDATE").Scan(ctx)
	if ErrorCode(DBError(err)) == NotFound {
		return nil, &Error{Code: NotFound, Key: "status.maintenance.not_found", Err: err}
	}
	if err != nil {
		return nil, err
	}
	if p := m.Phase(now); p == PhaseCancelled || p == PhaseCompleted {
		return nil, &Error{Code: Conflict, Key: "status.maintenance.closed"}
	}
	return &m, nil
}

// EditMaintenance changes a maintenance that is neither cancelled nor over: its text, cities
// and times (a later start needs no new notice; an earlier one must still be MinNotice after the
// announcement). Errors: those of ScheduleMaintenance, not_found
// ("status.maintenance.not_found") and conflict ("status.maintenance.closed"). Audit:
// "status.maintenance.edit".
func (s *StatusPage) EditMaintenance(ctx context.Context, id uuid.UUID, in MaintenanceInput, by Actor) (err error) {
	defer Wrap(&err, "tenant.StatusPage.EditMaintenance(%s)", id)
	if err := platformOnly(by); err != nil {
		return err
	}
	now := s.now()
	return RunTx(ctx, s.db, nil, func(ctx context.Context, tx bun.Tx) error {
		m, err := loadMaintenance(ctx, tx, id, now)
		if err != nil {
			return err
		}
		fields := map[string]string{}
		in.AnnounceAt = m.AnnounceAt
		s.checkMaintenance(fields, &in, now, false)
		tenants, err := s.resolveCities(ctx, tx, fields, in.Cities)
		if err != nil {
			return err
		}
		if err := invalid(fields); err != nil {
			return err
		}
		before := maintenanceLog(m)
		m.TitleJA, m.TitleEN, m.BodyJA, m.BodyEN = in.TitleJA, in.TitleEN, in.BodyJA, in.BodyEN
		m.Components, m.Tenants, m.StartsAt, m.EndsAt, m.UpdatedAt = in.Components, tenants, in.StartsAt, in.EndsAt, now
		if _, err := tx.NewUpdate().Model(m).Column("title_ja", "title_en", "body_ja", "body_en", "components", "tenants", "starts_at", "ends_at", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		return s.audit(ctx, tx, by, "status.maintenance.edit", m.ID.String(), before, maintenanceLog(m))
	})
}

// CancelMaintenance cancels a maintenance that is neither cancelled nor over; it stays listed
// as cancelled until its planned end. Errors: not_found ("status.maintenance.not_found"),
// conflict ("status.maintenance.closed"), forbidden for an actor who is not the vendor. Audit:
// "status.maintenance.cancel".
func (s *StatusPage) CancelMaintenance(ctx context.Context, id uuid.UUID, by Actor) (err error) {
	defer Wrap(&err, "tenant.StatusPage.CancelMaintenance(%s)", id)
	if err := platformOnly(by); err != nil {
		return err
	}
	now := s.now()
	return RunTx(ctx, s.db, nil, func(ctx context.Context, tx bun.Tx) error {
		m, err := loadMaintenance(ctx, tx, id, now)
		if err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model(m).Set("cancelled_at = ?", now).Set("updated_at = ?", now).WherePK().Exec(ctx); err != nil {
			return err
		}
		return s.audit(ctx, tx, by, "status.maintenance.cancel", m.ID.String(), maintenanceLog(m), map[string]any{"cancelled_at": now})
	})
}

// RecordStates writes the watchdog's observations at time at, once per minute whichever
// replica comes first (a transaction-scoped advisory lock, then nothing if a row was already
// seen in at's minute): a component still in the state of its newest row (seen within
// StaleAfter) extends that row; any other starts a row at the observation's Since. It reports
// whether this call wrote the minute. The system writes it; nothing is audited.
func (s *StatusPage) RecordStates(ctx context.Context, obs map[Component]Observation, at time.Time) (wrote bool, err error) {
	defer Wrap(&err, "tenant.StatusPage.RecordStates")
	err = RunTx(ctx, s.db, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('madoguchi.status-watchdog'))"); err != nil {
			return err
		}
		done, err := tx.NewSelect().Table("status_intervals").Where("seen_at >= ?", at.Truncate(WatchdogPeriod)).Exists(ctx)
		if err != nil || done {
			return err
		}
		wrote = true
		for _, c := range Components {
			o, ok := obs[c]
			if !ok || o.State == StateUnknown {
				continue
			}
			res, err := tx.NewRaw(`UPDATE status_intervals SET seen_at = greatest(seen_at, ?), detail = ?
				WHERE id = (SELECT id FROM status_intervals WHERE component = ? ORDER BY seen_at DESC, id DESC LIMIT 1)
				AND state = ? AND seen_at >= ?`, at, clip(o.Detail, 200), c, o.State, at.Add(-StaleAfter)).Exec(ctx)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				continue
			}
			since := o.Since
			if since.IsZero() || since.After(at) {
				since = at
			}
			// A row still open when the state changed ends where the new one starts.
			if _, err := tx.ExecContext(ctx, `UPDATE status_intervals SET seen_at = greatest(started_at, least(seen_at, ?::timestamptz - interval '1 minute'))
				WHERE component = ? AND seen_at > ?::timestamptz - interval '1 minute'`, since, c, since); err != nil {
				return err
			}
			iv := Interval{Component: c, State: o.State, StartedAt: since, SeenAt: at, Detail: clip(o.Detail, 200)}
			if _, err := tx.NewInsert().Model(&iv).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	return wrote && err == nil, err
}

// Heartbeat records that the web process named process is alive (the watchdog counts the
// processes seen in the last 90 seconds) and forgets processes gone for a day. Not audited.
func (s *StatusPage) Heartbeat(ctx context.Context, process string) error {
	now := s.now()
	if _, err := s.db.ExecContext(ctx, `INSERT INTO status_heartbeats (process, seen_at) VALUES (?, ?)
		ON CONFLICT (process) DO UPDATE SET seen_at = excluded.seen_at`, clip(process, 200), now); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, "DELETE FROM status_heartbeats WHERE seen_at < ?", now.Add(-24*time.Hour))
	return err
}

// HealthSignals are what the watchdog reads from PostgreSQL: the web processes alive, the
// oldest mail waiting in any city's outbox and the mails that failed today (from the fleet
// job's per-city figures: no city's scope is opened), and the open incidents.
type HealthSignals struct {
	WebProcesses int
	MailOldest   *time.Time // the oldest mail still waiting, as of the fleet job's last count
	MailFailed   int        // mails given up today (JST)
	Open         []Incident // open incidents (their components' states)
	Maintenance  []Maintenance
}

// Signals reads the health signals at now.
func (s *StatusPage) Signals(ctx context.Context) (_ *HealthSignals, err error) {
	defer Wrap(&err, "tenant.StatusPage.Signals")
	now := s.now()
	h := &HealthSignals{}
	n, err := s.db.NewSelect().Table("status_heartbeats").Where("seen_at > ?", now.Add(-90*time.Second)).Count(ctx)
	if err != nil {
		return nil, err
	}
	h.WebProcesses = int(n)
	day := now.In(statusJST).Format("2006-01-02")
	if err := s.db.NewRaw(`SELECT min(mail_oldest), coalesce(sum(mail_failed), 0) FROM fleet_days
		WHERE day = ? AND (snapshot_at IS NULL OR snapshot_at > ?)`, day, now.Add(-15*time.Minute)).Scan(ctx, &h.MailOldest, &h.MailFailed); err != nil {
		return nil, err
	}
	if err := s.db.NewSelect().Model(&h.Open).Where("resolved_at IS NULL").Scan(ctx); err != nil {
		return nil, err
	}
	if err := s.db.NewSelect().Model(&h.Maintenance).Where("cancelled_at IS NULL AND starts_at <= ? AND ends_at > ?", now, now).Scan(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// StatusData is everything the status page shows, read at Now.
type StatusData struct {
	Now          time.Time
	Intervals    []Interval           // the last 90 days (and a little more)
	Incidents    []Incident           // open ones, and the resolved ones of the last 90 days; newest first, with updates
	Maintenances []Maintenance        // announced and not yet ended (cancelled ones until their planned end), soonest first
	Cities       map[uuid.UUID]string // the names of the cities the incidents and maintenances name
}

// HistoryDays is how far back the status page shows uptime and resolved incidents.
const HistoryDays = 90

// Data reads the status page's data at the clock's now.
func (s *StatusPage) Data(ctx context.Context) (_ *StatusData, err error) {
	defer Wrap(&err, "tenant.StatusPage.Data")
	now := s.now()
	d := &StatusData{Now: now}
	from := now.Add(-(HistoryDays + 2) * 24 * time.Hour)
	if err := s.db.NewSelect().Model(&d.Intervals).Where("seen_at >= ?", from).Order("component", "started_at", "id").Scan(ctx); err != nil {
		return nil, err
	}
	if err := s.db.NewSelect().Model(&d.Incidents).Where("resolved_at IS NULL OR resolved_at >= ?", from).Order("created_at DESC", "id").Scan(ctx); err != nil {
		return nil, err
	}
	if err := s.loadUpdates(ctx, d.Incidents); err != nil {
		return nil, err
	}
	if err := s.db.NewSelect().Model(&d.Maintenances).Where("announce_at <= ? AND ends_at > ?", now, from).Order("starts_at", "id").Scan(ctx); err != nil {
		return nil, err
	}
	if d.Cities, err = s.cityNames(ctx, d.Incidents, d.Maintenances); err != nil {
		return nil, err
	}
	// One that names only training cities (written before they were refused) is not the public's.
	named := func(ids []uuid.UUID) bool {
		return ids == nil || slices.ContainsFunc(ids, func(id uuid.UUID) bool { _, ok := d.Cities[id]; return ok })
	}
	d.Incidents = slices.DeleteFunc(d.Incidents, func(i Incident) bool { return !named(i.Tenants) })
	d.Maintenances = slices.DeleteFunc(d.Maintenances, func(m Maintenance) bool { return !named(m.Tenants) })
	return d, nil
}

// cityNames returns the names of the cities the incidents and maintenances name, training
// cities left out.
func (s *StatusPage) cityNames(ctx context.Context, incs []Incident, ms []Maintenance) (map[uuid.UUID]string, error) {
	var ids []uuid.UUID
	for _, i := range incs {
		ids = append(ids, i.Tenants...)
	}
	for _, m := range ms {
		ids = append(ids, m.Tenants...)
	}
	out := map[uuid.UUID]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID   uuid.UUID `bun:"id"`
		Name string    `bun:"name"`
	}
	// A training city is never named on the public page, even if a list held one.
	if err := s.db.NewSelect().Table("tenants").Column("id", "name").Where("id IN (?)", bun.List(ids)).
		Where("training_of IS NULL").Scan(ctx, &rows); err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}

func (s *StatusPage) loadUpdates(ctx context.Context, incs []Incident) error {
	if len(incs) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(incs))
	at := map[uuid.UUID]int{}
	for i := range incs {
		ids[i], at[incs[i].ID] = incs[i].ID, i
	}
	var ups []IncidentUpdate
	if err := s.db.NewSelect().Model(&ups).Where("incident_id IN (?)", bun.List(ids)).Order("posted_at DESC", "id").Scan(ctx); err != nil {
		return err
	}
	for _, u := range ups {
		i := at[u.IncidentID]
		incs[i].Updates = append(incs[i].Updates, u)
	}
	return nil
}

// Incidents lists the incidents for the ops console: open ones and those of the last 90 days,
// newest first, with their updates.
func (s *StatusPage) Incidents(ctx context.Context) (_ []Incident, err error) {
	defer Wrap(&err, "tenant.StatusPage.Incidents")
	var out []Incident
	if err := s.db.NewSelect().Model(&out).Where("resolved_at IS NULL OR resolved_at >= ?", s.now().Add(-HistoryDays*24*time.Hour)).
		Order("created_at DESC", "id").Scan(ctx); err != nil {
		return nil, err
	}
	return out, s.loadUpdates(ctx, out)
}

// Incident returns one incident with its updates (not_found "status.incident.not_found").
func (s *StatusPage) Incident(ctx context.Context, id uuid.UUID) (_ *Incident, err error) {
	defer Wrap(&err, "tenant.StatusPage.Incident(%s)", id)
	var inc Incident
	if err := s.db.NewSelect().Model(&inc).Where("id = ?", id).Scan(ctx); err != nil {
		if ErrorCode(DBError(err)) == NotFound {
			return nil, &Error{Code: NotFound, Key: "status.incident.not_found", Err: err}
		}
		return nil, err
	}
	one := []Incident{inc}
	if err := s.loadUpdates(ctx, one); err != nil {
		return nil, err
	}
	return &one[0], nil
}

// Maintenances lists the maintenances not ended yet and those of the last 90 days for the ops
// console, soonest first.
func (s *StatusPage) Maintenances(ctx context.Context) (_ []Maintenance, err error) {
	defer Wrap(&err, "tenant.StatusPage.Maintenances")
	var out []Maintenance
	err = s.db.NewSelect().Model(&out).Where("ends_at >= ?", s.now().Add(-HistoryDays*24*time.Hour)).Order("starts_at DESC", "id").Scan(ctx)
	return out, err
}

// Maintenance returns one maintenance (not_found "status.maintenance.not_found").
func (s *StatusPage) Maintenance(ctx context.Context, id uuid.UUID) (_ *Maintenance, err error) {
	defer Wrap(&err, "tenant.StatusPage.Maintenance(%s)", id)
	var m Maintenance
	if err := s.db.NewSelect().Model(&m).Where("id = ?", id).Scan(ctx); err != nil {
		if ErrorCode(DBError(err)) == NotFound {
			return nil, &Error{Code: NotFound, Key: "status.maintenance.not_found", Err: err}
		}
		return nil, err
	}
	return &m, nil
}

// Notices returns the maintenances announced and not ended at the clock's now, for every city
// (the cities' banners filter them with Concerns), soonest first. Cancelled ones are left out.
func (s *StatusPage) Notices(ctx context.Context) (_ []Maintenance, err error) {
	defer Wrap(&err, "tenant.StatusPage.Notices")
	now := s.now()
	var out []Maintenance
	err = s.db.NewSelect().Model(&out).Where("cancelled_at IS NULL AND announce_at <= ? AND ends_at > ?", now, now).Order("starts_at", "id").Scan(ctx)
	return out, err
}
