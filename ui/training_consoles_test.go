package ui_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/madoguchi/madoguchi/tenant"
)

// TestTrainingInVendorConsoles: a city's training copy may be granted to a call-center operator
// from the ops console, and is marked 研修用 in the grant list; the operator's city choice marks
// it (and only it), and every page of it carries the training banner while the real city's pages
// do not. The status page refuses to name it in an incident or a maintenance (nothing posted),
// and an incident that names only a training city (written before the refusal) is not public.
func TestTrainingInVendorConsoles(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	opsAllow(t, e, "127.0.0.0/8")
	addr := serve(t, e)
	ops, _ := opsMember(t, e, addr, "ops.kensyu")
	kensyu, _, err := e.svc.OpenTraining(ctx, e.city, tenant.VendorCLI())
	if err != nil {
		t.Fatal(err)
	}
	cc, acc := ccOperator(t, e, addr, "cc.kensyu", tenant.OpsRoleOperator, e.city)

	// The grant, from the ops console: allowed, and marked.
	grants := "/accounts/" + acc.ID.String() + "/grants"
	ops.get(grants)
	ops.want(200, "研修用環境（識別名が -kensyu で終わる自治体）も割り当てられます")
	if strings.Contains(ops.last, `class="training-tag"`) {
		t.Error("a real city's grant is marked 研修用")
	}
	ops.post(grants, url.Values{"slug": {kensyu.Slug}})
	ops.want(200, kensyu.Name, `<strong class="training-tag">研修用</strong>`)
	if n := strings.Count(ops.last, `class="training-tag"`); n != 1 {
		t.Errorf("%d grants marked 研修用; want the copy's only", n)
	}

	// The operator's city choice and the city's pages.
	const banner = "研修用の環境です。実際の予約は受け付けていません。"
	cc.get("/")
	cc.want(200, `href="/c/`+kensyu.Slug+`"`, `href="/c/`+e.city.Slug+`"`, "研修用（練習用の環境）")
	if n := strings.Count(cc.last, `class="training-tag"`); n != 1 {
		t.Errorf("%d cities marked 研修用 in the choice; want the copy's only", n)
	}
	for _, path := range []string{"", "/board"} {
		cc.get("/c/" + kensyu.Slug + path)
		cc.want(200, banner, `class="training-banner"`, "市民には届かず")
		cc.get("/c/" + e.city.Slug + path)
		cc.want(200, e.city.Name)
		if strings.Contains(cc.last, "training-banner") {
			t.Errorf("the real city's page %s shows the training banner", path)
		}
	}

	// The status page never names a training city.
	const refused = "研修用環境は対象に選べません。実際の自治体を選んでください。"
	for _, cities := range []string{kensyu.Slug, e.city.Slug + "\n" + kensyu.Slug} {
		ops.get("/status/incidents/new")
		ops.post("/status/incidents", url.Values{"title_ja": {"研修用環境の障害"}, "title_en": {"Training outage"}, "impact": {"minor"},
			"state_citizen": {"degraded_performance"}, "scope": {"some"}, "cities": {cities}, "status": {"investigating"},
			"body_ja": {"調査しています。"}, "body_en": {"Investigating."}})
		ops.want(422, refused)
	}
	st := tenant.NewStatusPage(e.db.App, e.now)
	if _, err := st.ScheduleMaintenance(ctx, tenant.MaintenanceInput{TitleJA: "研修用環境の保守", TitleEN: "Training maintenance",
		BodyJA: "保守します。", BodyEN: "Maintenance.", Components: []tenant.Component{tenant.CompCitizen}, Cities: []string{kensyu.Slug},
		AnnounceAt: e.now(), StartsAt: e.now().Add(tenant.MinNotice + time.Hour), EndsAt: e.now().Add(tenant.MinNotice + 3*time.Hour)}, tenant.VendorCLI()); tenant.AsError(err) == nil ||
		tenant.AsError(err).Fields["tenants"] != "status.tenants.training" {
		t.Errorf("a maintenance of a training city = %v; want status.tenants.training", err)
	}
	pub := newBrowser(t, addr, statusHost)
	pub.get("/")
	pub.want(200, "稼働状況")
	if strings.Contains(pub.last, "研修用") {
		t.Error("the status page names the training city")
	}

	// An incident whose list holds only the copy (as written before the refusal), then one of the
	// real city through the console (which renders the page again).
	inc, err := st.PostIncident(ctx, tenant.IncidentInput{TitleJA: "旧データの障害", TitleEN: "Old incident", Impact: "minor",
		Components: map[tenant.Component]tenant.ComponentState{tenant.CompCitizen: tenant.StateDegraded}, Cities: []string{e.city.Slug},
		Update: tenant.UpdateInput{Status: tenant.IncidentInvestigating, BodyJA: "調査中です。", BodyEN: "Investigating."}}, tenant.VendorCLI())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Owner.ExecContext(ctx, "UPDATE status_incidents SET tenants = ARRAY[?::uuid] WHERE id = ?", kensyu.ID.String(), inc.ID); err != nil {
		t.Fatal(err)
	}
	postIncident(t, ops, "予約画面がつながりにくくなっています", "原因を調査しています。")
	pub.get("/")
	pub.want(200, "予約画面がつながりにくくなっています")
	if strings.Contains(pub.last, "旧データの障害") || strings.Contains(pub.last, "研修用") {
		t.Error("an incident naming only the training city is on the public page")
	}
}
