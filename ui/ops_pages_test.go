package ui_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/jobs/paging"
)

// opsTestPage opens a page of the escalation chain the way Alertmanager does (a contact, the
// default policy, a webhook delivery) and returns its id.
func opsTestPage(t *testing.T, e *env) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	c, err := e.paging.AddContact(ctx, paging.Contact{Name: "当番A", Email: "a@example.jp"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.paging.SavePolicy(ctx, paging.Policy{Name: "default", Steps: []paging.Step{{ContactIDs: []uuid.UUID{c.ID},
		Channels: []string{paging.ChannelMail}, NotifyEvery: paging.Duration(2 * time.Minute), EscalateAfter: paging.Duration(5 * time.Minute)}}}, "test"); err != nil {
		t.Fatal(err)
	}
	err = e.paging.Receive(ctx, &paging.Webhook{Version: "4", GroupKey: `{}:{alertname="MadoguchiOutboxStale"}`, Status: "firing",
		CommonLabels:      map[string]string{"alertname": "MadoguchiOutboxStale", "severity": "critical"},
		CommonAnnotations: map[string]string{"summary": "メールが5分以上送られていません"},
		Alerts: []paging.WebhookAlert{{Status: "firing", Labels: map[string]string{"alertname": "MadoguchiOutboxStale"},
			StartsAt: e.now().Add(-time.Minute), Fingerprint: "00000000000000aa"}}})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := e.paging.Pages(ctx, 1)
	if err != nil || len(ps) != 1 {
		t.Fatalf("pages = %v, %v", ps, err)
	}
	return ps[0].ID
}

// TestOpsPages: an ops member finds the page in the list, opens it (its timeline shows how it
// began), acknowledges it from the console — the page says so and the calls stop — and then
// resolves it by hand.
func TestOpsPages(t *testing.T) {
	e := newEnv(t, nil)
	opsAllow(t, e, "127.0.0.1")
	addr := serve(t, e)
	id := opsTestPage(t, e)
	member, _ := opsMember(t, e, addr, "ops.yamada")

	member.get("/")
	member.want(200, `href="/pages"`)
	member.get("/pages")
	member.want(200, "MadoguchiOutboxStale: メールが5分以上送られていません", "通知中（未対応）", "/pages/"+id.String())
	member.get("/pages/" + id.String())
	member.want(200, "障害通知の詳細", "triggered", "policy=default", "対応します（通知を止める）", "解消済みにする")

	member.post("/pages/"+id.String()+"/ack", url.Values{})
	member.want(200, "対応を受け付けました。通知を止めました。", "対応中（vendor:ops.yamada）", "acknowledged")
	p, err := e.paging.Get(context.Background(), id)
	if err != nil || p.State != paging.Acknowledged || p.AckedVia != paging.ViaConsole {
		t.Fatalf("page after the console's ack = %+v, %v", p, err)
	}

	member.post("/pages/"+id.String()+"/resolve", url.Values{})
	member.want(200, "障害を解消済みにしました。", "解消済み")
	if p, _ := e.paging.Get(context.Background(), id); p.State != paging.Resolved || p.ResolvedBy != "vendor:ops.yamada" {
		t.Errorf("page after resolve = %s by %s", p.State, p.ResolvedBy)
	}
}
