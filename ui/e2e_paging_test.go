package ui_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/jobs/mailsink"
	"github.com/madoguchi/madoguchi/jobs/paging"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/uitest"
)

// TestE2EPaging is the escalation chain seen by the people paged, in Chromium at 360 and 1280 px
// (ui/e2e/paging.mjs) with axe on every page: a page arrives from Alertmanager's webhook and the
// engine mails and calls the contact (the SMTP test server, a stand-in phone provider); the ops
// console lists it with its timeline; the mail's link shows the confirmation page and its button
// acknowledges; the console shows the page acknowledged, and the engine calls no more.
func TestE2EPaging(t *testing.T) {
	e := newBrowserEnv(t, nil)
	ctx := context.Background()
	opsAllow(t, e, "127.0.0.1")
	sink, err := mailsink.Start("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	mailer, err := jobs.NewSMTPMailer("smtp://" + sink.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mailer.Close() })
	var mu sync.Mutex
	calls := 0
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "AC1" || p != "provider-token" {
			w.WriteHeader(401)
			return
		}
		mu.Lock()
		calls++
		mu.Unlock()
		w.WriteHeader(201)
		_, _ = io.WriteString(w, `{"sid":"CA1"}`)
	}))
	t.Cleanup(provider.Close)
	// The ack pages, served as the internal listener serves them.
	var handler http.Handler
	ackSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(ackSrv.Close)
	cfg := paging.Config{Now: time.Now, Mail: mailer, MailFrom: "pager@example.jp", AckKey: bytes.Repeat([]byte{9}, 32), PublicURL: ackSrv.URL,
		Phone: &paging.Twilio{BaseURL: provider.URL, AccountSID: "AC1", AuthToken: "provider-token", From: "+81300000000"}}
	svc := paging.New(e.db.App, cfg)
	handler = svc.Handler("provider-token")

	accounts := map[string]map[string]string{}
	pages := map[string]map[string]string{}
	ackLink := regexp.MustCompile(regexp.QuoteMeta(ackSrv.URL) + `/ack/[A-Za-z0-9_.-]+`)
	for i, vp := range []string{"phone", "desktop"} {
		login := "ops." + vp
		_, initial := opsAccount(t, e, login, tenant.OpsRoleOps)
		accounts[vp] = map[string]string{"login": login, "password": initial}
		c, err := svc.AddContact(ctx, paging.Contact{Name: "当番" + vp, Email: vp + "@example.jp", Phone: fmt.Sprintf("+8190111100%02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SavePolicy(ctx, paging.Policy{Name: "pol-" + vp, Steps: []paging.Step{{ContactIDs: []uuid.UUID{c.ID},
			Channels: []string{paging.ChannelMail, paging.ChannelPhone}, NotifyEvery: paging.Duration(2 * time.Minute), EscalateAfter: paging.Duration(10 * time.Minute)}}}, "test"); err != nil {
			t.Fatal(err)
		}
		alert := "MadoguchiOutboxStale" + strings.ToUpper(vp[:1]) + vp[1:]
		err = svc.Receive(ctx, &paging.Webhook{Version: "4", GroupKey: `{}:{alertname="` + alert + `"}`, Status: "firing",
			CommonLabels:      map[string]string{"alertname": alert, "severity": "critical", "policy": "pol-" + vp},
			CommonAnnotations: map[string]string{"summary": "メールが5分以上送られていません"},
			Alerts: []paging.WebhookAlert{{Status: "firing", Labels: map[string]string{"alertname": alert},
				StartsAt: time.Now().Add(-time.Minute), Fingerprint: fmt.Sprintf("%016x", i+1)}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		ps, err := svc.Pages(ctx, 1)
		if err != nil || len(ps) != 1 {
			t.Fatal(ps, err)
		}
		link := ""
		for _, m := range sink.Messages() {
			if len(m.To) == 1 && m.To[0] == vp+"@example.jp" {
				link = ackLink.FindString(mailText(t, m.Data))
			}
		}
		if link == "" {
			t.Fatalf("no ack link in the mail to %s", vp)
		}
		pages[vp] = map[string]string{"id": ps[0].ID.String(), "title": ps[0].Title, "ackURL": link}
	}
	mu.Lock()
	if calls != 2 {
		t.Fatalf("%d calls, want one per page", calls)
	}
	mu.Unlock()

	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "paging.mjs", uitest.HostURL(base, opsHost), map[string]any{
		"accounts": accounts, "newPassword": opsPassword, "pages": pages,
	})
	for vp, pg := range pages {
		p, err := svc.Get(ctx, uuid.MustParse(pg["id"]))
		if err != nil || p.State != paging.Acknowledged || p.AckedVia != paging.ViaMail || p.AckedBy != "当番"+vp {
			t.Errorf("%s: page after the browser = %+v, %v", vp, p, err)
		}
	}
	// Ten minutes later the engine has nothing to send: the calls stopped.
	later := cfg
	later.Now = func() time.Time { return time.Now().Add(10 * time.Minute) }
	if err := paging.New(e.db.App, later).Tick(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 {
		t.Errorf("%d calls after the acknowledgements, want 2", calls)
	}
}

// mailText returns the text of a single-part message as the SMTP test server received it.
func mailText(t *testing.T, data []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(m.Body)
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "base64") {
		if b, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), "")); err != nil {
			t.Fatal(err)
		}
	}
	return string(b)
}
