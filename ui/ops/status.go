package ops

import (
	"context"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/vendor"
)

// The status page's side of the console: incidents (post, update, resolve) and planned
// maintenance (schedule, edit, cancel), each naming the cities it concerns (all or a list of
// slugs). Every change is one tenant.StatusPage method with the member as actor, which writes it
// to the vendor's log; then the status page is rendered again at once (Deps.StatusChanged).

// StatusListPage is the data of status.html.
type StatusListPage struct {
	Page
	Now          time.Time
	BaseDomain   string
	Incidents    []tenant.Incident
	Maintenances []tenant.Maintenance
	Cities       map[uuid.UUID]string
}

// IncidentForm is what the incident forms hold (new incident, new update).
type IncidentForm struct {
	TitleJA, TitleEN, Impact string
	Status, BodyJA, BodyEN   string
	States                   map[string]string // component → state ("" not affected)
	Scope                    string            // "all" or "some"
	Cities                   string            // slugs, one per line
}

// IncidentPage is the data of status_incident_new.html and status_incident.html.
type IncidentPage struct {
	Page
	Incident *tenant.Incident
	Form     IncidentForm
	Cities   map[uuid.UUID]string
}

// MaintenanceForm is what the maintenance form holds; times are datetime-local values in JST.
type MaintenanceForm struct {
	TitleJA, TitleEN, BodyJA, BodyEN string
	Components                       map[string]bool
	AnnounceAt, StartsAt, EndsAt     string
	Scope, Cities                    string
}

// MaintenancePage is the data of status_maintenance.html (new and edit).
type MaintenancePage struct {
	Page
	Maintenance *tenant.Maintenance // nil: a new one
	Phase       string
	Form        MaintenanceForm
}

const localTime = "2006-01-02T15:04"

func (u *UI) statusChanged(ctx context.Context) {
	if u.deps.StatusChanged != nil {
		u.deps.StatusChanged(ctx)
	}
}

// statusList lists the incidents and the maintenance with links to their forms.
func (u *UI) statusList(c *fiber.Ctx) error {
	p := &StatusListPage{Page: u.Page(c), Now: u.now(), BaseDomain: u.deps.BaseDomain}
	var err error
	if p.Incidents, err = u.deps.Status.Incidents(c.UserContext()); err != nil {
		return err
	}
	if p.Maintenances, err = u.deps.Status.Maintenances(c.UserContext()); err != nil {
		return err
	}
	if err := u.TakeFlash(c, &p.Page); err != nil {
		return err
	}
	return u.Render(c, "status", p)
}

func incidentForm(c *fiber.Ctx) IncidentForm {
	f := IncidentForm{TitleJA: strings.Clone(c.FormValue("title_ja")), TitleEN: strings.Clone(c.FormValue("title_en")),
		Impact: strings.Clone(c.FormValue("impact")), Status: strings.Clone(c.FormValue("status")),
		BodyJA: strings.Clone(c.FormValue("body_ja")), BodyEN: strings.Clone(c.FormValue("body_en")),
		Scope: strings.Clone(c.FormValue("scope")), Cities: strings.Clone(c.FormValue("cities")), States: map[string]string{}}
	for _, comp := range tenant.Components {
		f.States[string(comp)] = strings.Clone(c.FormValue("state_" + string(comp)))
	}
	return f
}

func (f IncidentForm) components() map[tenant.Component]tenant.ComponentState {
	out := map[tenant.Component]tenant.ComponentState{}
	for _, comp := range tenant.Components {
		if s := f.States[string(comp)]; s != "" {
			out[comp] = tenant.ComponentState(s)
		}
	}
	return out
}

// citySlugs reads the cities field: nil for every city, else the slugs (a list of none is
// refused by the domain).
func citySlugs(scope, cities string) []string {
	if scope != "some" {
		return nil
	}
	return append([]string{}, strings.FieldsFunc(cities, func(r rune) bool {
		return r == '\n' || r == '\r' || r == ',' || r == ' ' || r == '、' || r == '\t'
	})...)
}

// incidentNew is the form of a new incident.
func (u *UI) incidentNew(c *fiber.Ctx) error {
	return u.Render(c, "status_incident_new", &IncidentPage{Page: u.Page(c), Form: IncidentForm{Scope: "all", Status: "investigating", Impact: "major", States: map[string]string{}}})
}

// incidentCreate posts it (tenant.StatusPage.PostIncident).
func (u *UI) incidentCreate(c *fiber.Ctx) error {
	f := incidentForm(c)
	inc, err := u.deps.Status.PostIncident(c.UserContext(), tenant.IncidentInput{TitleJA: f.TitleJA, TitleEN: f.TitleEN, Impact: f.Impact,
		Components: f.components(), Cities: citySlugs(f.Scope, f.Cities),
		Update: tenant.UpdateInput{Status: tenant.IncidentStatus(f.Status), BodyJA: f.BodyJA, BodyEN: f.BodyEN}}, actorOf(c))
	if fields := vendor.FormError(err); fields != nil {
		p := &IncidentPage{Page: u.Page(c), Form: f}
		p.Fail(fields, "title_ja", "title_en", "impact", "components", "tenants", "status", "body_ja", "body_en")
		return u.RenderForm(c, "status_incident_new", p)
	}
	if err != nil {
		return err
	}
	u.statusChanged(c.UserContext())
	return u.FlashRedirect(c, "ops.status.incident.posted", "/status/incidents/"+inc.ID.String())
}

func idParam(c *fiber.Ctx, key string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, tenant.Errorf(tenant.NotFound, key)
	}
	return id, nil
}

func (u *UI) incidentPage(c *fiber.Ctx) (*IncidentPage, error) {
	id, err := idParam(c, "status.incident.not_found")
	if err != nil {
		return nil, err
	}
	inc, err := u.deps.Status.Incident(c.UserContext(), id)
	if err != nil {
		return nil, err
	}
	p := &IncidentPage{Page: u.Page(c), Incident: inc, Form: IncidentForm{Status: string(inc.Status), States: map[string]string{}}}
	for comp, s := range inc.Components {
		p.Form.States[string(comp)] = string(s)
	}
	return p, nil
}

// incident shows one incident, its timeline and the form of the next update.
func (u *UI) incident(c *fiber.Ctx) error {
	p, err := u.incidentPage(c)
	if err != nil {
		return err
	}
	if err := u.TakeFlash(c, &p.Page); err != nil {
		return err
	}
	return u.Render(c, "status_incident", p)
}

// incidentUpdate adds an update (tenant.StatusPage.UpdateIncident); "resolved" resolves it.
func (u *UI) incidentUpdate(c *fiber.Ctx) error {
	p, err := u.incidentPage(c)
	if err != nil {
		return err
	}
	f := incidentForm(c)
	err = u.deps.Status.UpdateIncident(c.UserContext(), p.Incident.ID, tenant.UpdateInput{Status: tenant.IncidentStatus(f.Status),
		BodyJA: f.BodyJA, BodyEN: f.BodyEN, Components: f.components()}, actorOf(c))
	if fields := vendor.FormError(err); fields != nil {
		p.Form = f
		p.Fail(fields, "status", "components", "body_ja", "body_en")
		return u.RenderForm(c, "status_incident", p)
	}
	if err != nil {
		return err
	}
	u.statusChanged(c.UserContext())
	key := "ops.status.incident.updated"
	if f.Status == string(tenant.IncidentResolved) {
		key = "ops.status.incident.resolved"
	}
	return u.FlashRedirect(c, key, "/status/incidents/"+p.Incident.ID.String())
}

func maintenanceForm(c *fiber.Ctx) MaintenanceForm {
	f := MaintenanceForm{TitleJA: strings.Clone(c.FormValue("title_ja")), TitleEN: strings.Clone(c.FormValue("title_en")),
		BodyJA: strings.Clone(c.FormValue("body_ja")), BodyEN: strings.Clone(c.FormValue("body_en")),
		AnnounceAt: strings.Clone(c.FormValue("announce_at")), StartsAt: strings.Clone(c.FormValue("starts_at")), EndsAt: strings.Clone(c.FormValue("ends_at")),
		Scope: strings.Clone(c.FormValue("scope")), Cities: strings.Clone(c.FormValue("cities")), Components: map[string]bool{}}
	for _, comp := range tenant.Components {
		f.Components[string(comp)] = c.FormValue("comp_"+string(comp)) == "on"
	}
	return f
}

// input parses the form; times that do not parse are named as fields.
func (f MaintenanceForm) input() (tenant.MaintenanceInput, map[string]string) {
	fields := map[string]string{}
	in := tenant.MaintenanceInput{TitleJA: f.TitleJA, TitleEN: f.TitleEN, BodyJA: f.BodyJA, BodyEN: f.BodyEN, Cities: citySlugs(f.Scope, f.Cities)}
	for _, comp := range tenant.Components {
		if f.Components[string(comp)] {
			in.Components = append(in.Components, comp)
		}
	}
	parse := func(name, v string, dst *time.Time) {
		if strings.TrimSpace(v) == "" {
			return
		}
		t, err := time.ParseInLocation(localTime, strings.TrimSpace(v), booking.JST)
		if err != nil {
			fields[name] = "ops.status.time.invalid"
			return
		}
		*dst = t
	}
	parse("announce_at", f.AnnounceAt, &in.AnnounceAt)
	parse("starts_at", f.StartsAt, &in.StartsAt)
	parse("ends_at", f.EndsAt, &in.EndsAt)
	return in, fields
}

func formOf(m *tenant.Maintenance) MaintenanceForm {
	f := MaintenanceForm{TitleJA: m.TitleJA, TitleEN: m.TitleEN, BodyJA: m.BodyJA, BodyEN: m.BodyEN, Components: map[string]bool{}, Scope: "all",
		AnnounceAt: m.AnnounceAt.In(booking.JST).Format(localTime), StartsAt: m.StartsAt.In(booking.JST).Format(localTime), EndsAt: m.EndsAt.In(booking.JST).Format(localTime)}
	for _, comp := range m.Components {
		f.Components[string(comp)] = true
	}
	return f
}

// maintenanceNew is the form of a new maintenance.
func (u *UI) maintenanceNew(c *fiber.Ctx) error {
	return u.Render(c, "status_maintenance", &MaintenancePage{Page: u.Page(c), Form: MaintenanceForm{Scope: "all", Components: map[string]bool{"citizen": true, "api": true}}})
}

func (u *UI) maintenanceRefused(c *fiber.Ctx, p *MaintenancePage, fields map[string]string) error {
	p.Fail(fields, "title_ja", "title_en", "components", "tenants", "announce_at", "starts_at", "ends_at", "body_ja", "body_en")
	return u.RenderForm(c, "status_maintenance", p)
}

// maintenanceCreate plans it (tenant.StatusPage.ScheduleMaintenance).
func (u *UI) maintenanceCreate(c *fiber.Ctx) error {
	f := maintenanceForm(c)
	in, bad := f.input()
	if len(bad) > 0 {
		return u.maintenanceRefused(c, &MaintenancePage{Page: u.Page(c), Form: f}, bad)
	}
	m, err := u.deps.Status.ScheduleMaintenance(c.UserContext(), in, actorOf(c))
	if fields := vendor.FormError(err); fields != nil {
		return u.maintenanceRefused(c, &MaintenancePage{Page: u.Page(c), Form: f}, fields)
	}
	if err != nil {
		return err
	}
	u.statusChanged(c.UserContext())
	return u.FlashRedirect(c, "ops.status.maintenance.scheduled", "/status/maintenance/"+m.ID.String())
}

func (u *UI) maintenancePage(c *fiber.Ctx) (*MaintenancePage, error) {
	id, err := idParam(c, "status.maintenance.not_found")
	if err != nil {
		return nil, err
	}
	m, err := u.deps.Status.Maintenance(c.UserContext(), id)
	if err != nil {
		return nil, err
	}
	return &MaintenancePage{Page: u.Page(c), Maintenance: m, Phase: m.Phase(u.now()), Form: formOf(m)}, nil
}

// maintenance shows one maintenance with its edit form and the cancel button.
func (u *UI) maintenance(c *fiber.Ctx) error {
	p, err := u.maintenancePage(c)
	if err != nil {
		return err
	}
	if err := u.TakeFlash(c, &p.Page); err != nil {
		return err
	}
	return u.Render(c, "status_maintenance", p)
}

// maintenanceEdit changes it (tenant.StatusPage.EditMaintenance).
func (u *UI) maintenanceEdit(c *fiber.Ctx) error {
	p, err := u.maintenancePage(c)
	if err != nil {
		return err
	}
	p.Form = maintenanceForm(c)
	in, bad := p.Form.input()
	if len(bad) > 0 {
		return u.maintenanceRefused(c, p, bad)
	}
	err = u.deps.Status.EditMaintenance(c.UserContext(), p.Maintenance.ID, in, actorOf(c))
	if fields := vendor.FormError(err); fields != nil {
		return u.maintenanceRefused(c, p, fields)
	}
	if err != nil {
		return err
	}
	u.statusChanged(c.UserContext())
	return u.FlashRedirect(c, "ops.status.maintenance.edited", "/status/maintenance/"+p.Maintenance.ID.String())
}

// maintenanceCancel cancels it (tenant.StatusPage.CancelMaintenance).
func (u *UI) maintenanceCancel(c *fiber.Ctx) error {
	id, err := idParam(c, "status.maintenance.not_found")
	if err != nil {
		return err
	}
	if err := u.deps.Status.CancelMaintenance(c.UserContext(), id, actorOf(c)); err != nil {
		return err
	}
	u.statusChanged(c.UserContext())
	return u.FlashRedirect(c, "ops.status.maintenance.cancelled", "/status")
}
