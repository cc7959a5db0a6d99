package paging

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/jobs/mailsink"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

const (
	phoneSID   = "AC0123456789"
	phoneToken = "provider-auth-token"
	amToken    = "alertmanager-bearer-token"
)

// provider stands in for a Twilio-compatible phone API: it records each call request (after
// checking Basic auth) and can press a key on a call, posting the signed callback.
type provider struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []call
}

type call struct {
	To, Action string
}

var actionRE = regexp.MustCompile(`action="([^"]+)"`)

func newProvider(t *testing.T) *provider {
	p := &provider{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != phoneSID || pass != phoneToken || r.URL.Path != "/2010-04-01/Accounts/"+phoneSID+"/Calls.json" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_ = r.ParseForm()
		m := actionRE.FindStringSubmatch(r.PostForm.Get("Twiml"))
		if m == nil || r.PostForm.Get("From") != "+81300000000" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.calls = append(p.calls, call{To: r.PostForm.Get("To"), Action: html.UnescapeString(m[1])})
		n := len(p.calls)
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"sid":"CA%04d","status":"queued"}`, n)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *provider) Calls() []call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]call(nil), p.calls...)
}

// press posts the provider's callback for c with the key digits, signed with key.
func (p *provider) press(t *testing.T, c call, digits, key string) int {
	t.Helper()
	form := url.Values{"CallSid": {"CA0001"}, "AccountSid": {phoneSID}, "Digits": {digits}, "CallStatus": {"in-progress"}}
	req, _ := http.NewRequest("POST", c.Action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Signature(key, c.Action, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// world is one test's chain: a database, the SMTP sink, the fake provider, the receiver and
// the ack pages served over HTTP, and a fake clock.
type world struct {
	svc      *Service
	db       *tenanttest.DB
	clock    *tenanttest.Clock
	sink     *mailsink.Sink
	phone    *provider
	internal *httptest.Server // the receiver (internal listener)
	public   *httptest.Server // the ack pages and callbacks
	a, b     *Contact
	cfg      Config
	mu       sync.Mutex
	handler  http.Handler // of the current process (use)
	receiver http.Handler
}

// use makes svc the process the servers answer for (a process restarted in an outage test).
func (w *world) use(svc *Service) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.svc, w.handler, w.receiver = svc, svc.Handler(phoneToken), svc.Receiver(amToken)
}

func (w *world) current() (http.Handler, http.Handler) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.handler, w.receiver
}

func newWorld(t *testing.T, cfg Config) *world {
	t.Helper()
	w := &world{db: tenanttest.NewDB(t), clock: tenanttest.NewClock(), phone: newProvider(t)}
	var err error
	if w.sink, err = mailsink.Start("127.0.0.1:0", ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.sink.Close() })
	mailer, err := jobs.NewSMTPMailer("smtp://" + w.sink.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mailer.Close() })
	w.public = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { h, _ := w.current(); h.ServeHTTP(rw, r) }))
	t.Cleanup(w.public.Close)
	cfg.Now, cfg.Mail, cfg.MailFrom, cfg.AckKey, cfg.PublicURL = w.clock.Now, mailer, "pager@example.jp", bytes.Repeat([]byte{7}, 32), w.public.URL
	cfg.Phone = &Twilio{BaseURL: w.phone.srv.URL, AccountSID: phoneSID, AuthToken: phoneToken, From: "+81300000000"}
	w.cfg = cfg
	w.use(New(w.db.App, cfg))
	w.internal = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { _, h := w.current(); h.ServeHTTP(rw, r) }))
	t.Cleanup(w.internal.Close)
	ctx := context.Background()
	if w.a, err = w.svc.AddContact(ctx, Contact{Name: "当番A", Email: "a@example.jp", Phone: "+819011110001"}); err != nil {
		t.Fatal(err)
	}
	if w.b, err = w.svc.AddContact(ctx, Contact{Name: "当番B", Email: "b@example.jp", Phone: "+819011110002"}); err != nil {
		t.Fatal(err)
	}
	return w
}

// policy saves the default policy: A, then B, each by mail and phone every 2 minutes,
// escalating after 5.
func (w *world) policy(t *testing.T, steps ...Step) {
	t.Helper()
	if len(steps) == 0 {
		steps = []Step{
			{ContactIDs: []uuid.UUID{w.a.ID}, Channels: []string{ChannelMail, ChannelPhone}, NotifyEvery: Duration(2 * time.Minute), EscalateAfter: Duration(5 * time.Minute)},
			{ContactIDs: []uuid.UUID{w.b.ID}, Channels: []string{ChannelMail, ChannelPhone}, NotifyEvery: Duration(2 * time.Minute), EscalateAfter: Duration(5 * time.Minute)},
		}
	}
	if _, err := w.svc.SavePolicy(context.Background(), Policy{Name: "default", Steps: steps}, "test"); err != nil {
		t.Fatal(err)
	}
}

// fixture is the webhook payload of the operations design (Alertmanager v4), with status set.
func fixture(status string) string {
	endsAt := "0001-01-01T00:00:00Z"
	if status == "resolved" {
		endsAt = "2023-02-06T13:20:00Z"
	}
	return `{
  "version": "4",
  "groupKey": "{}/{severity=\"critical\"}:{alertname=\"ProbeFailure\"}",
  "truncatedAlerts": 0,
  "status": "` + status + `",
  "receiver": "madoguchi",
  "groupLabels": {"alertname": "ProbeFailure"},
  "commonLabels": {"alertname": "ProbeFailure", "severity": "critical"},
  "commonAnnotations": {"summary": "住民予約のページが応答しません"},
  "externalURL": "http://alertmanager:9093",
  "someFutureField": {"ignored": true},
  "alerts": [
    {
      "status": "` + status + `",
      "labels": {"alertname": "ProbeFailure", "instance": "web-1", "severity": "critical"},
      "annotations": {"summary": "住民予約のページが応答しません", "description": "probe failed"},
      "startsAt": "2023-02-06T13:08:45.828Z",
      "endsAt": "` + endsAt + `",
      "generatorURL": "http://prometheus:9090/graph?g0.expr=probe_success",
      "fingerprint": "1a30ba71cca2921f"
    }
  ]
}`
}

// post sends body to the receiver with the bearer token tok and returns status and body.
func (w *world) post(t *testing.T, tok, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", w.internal.URL+"/api/alertmanager", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (w *world) fire(t *testing.T) {
	t.Helper()
	if st, body := w.post(t, amToken, fixture("firing")); st != 200 {
		t.Fatalf("receiver = %d %s, want 200", st, body)
	}
}

func (w *world) tick(t *testing.T) {
	t.Helper()
	if err := w.svc.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// onlyPage returns the one page there is.
func (w *world) onlyPage(t *testing.T) *Page {
	t.Helper()
	ps, err := w.svc.Pages(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 {
		t.Fatalf("%d pages, want 1", len(ps))
	}
	return &ps[0]
}

// sent lists the notifications sent, as "contact/channel/kind" in order.
func (w *world) sent(t *testing.T) []string {
	t.Helper()
	var rows []struct {
		Name, Channel, Kind string
	}
	err := w.db.App.NewRaw(`SELECT c.name, a.channel, a.kind FROM notification_attempts a JOIN ops_contacts c ON c.id = a.contact_id
		WHERE a.status = 'sent' ORDER BY a.created_at, c.name, a.channel`).Scan(context.Background(), &rows)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Name+"/"+r.Channel+"/"+r.Kind)
	}
	return out
}

// ackLink returns the acknowledgement link of the newest mail to addr.
func (w *world) ackLink(t *testing.T, addr string) string {
	t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(w.public.URL) + `/ack/[A-Za-z0-9_.-]+`)
	msgs := w.sink.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if len(msgs[i].To) == 1 && msgs[i].To[0] == addr {
			if m := re.FindString(decodeBody(t, msgs[i].Data)); m != "" {
				return m
			}
		}
	}
	t.Fatalf("no ack link in a mail to %s", addr)
	return ""
}

// decodeBody returns the text of a single-part message as the sink received it.
func decodeBody(t *testing.T, data []byte) string {
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

// subjects returns the decoded subjects of the mail sent to addr.
func (w *world) subjects(t *testing.T, addr string) []string {
	t.Helper()
	var out []string
	dec := new(mime.WordDecoder)
	for _, msg := range w.sink.Messages() {
		if len(msg.To) == 1 && msg.To[0] == addr {
			m, err := mail.ReadMessage(bytes.NewReader(msg.Data))
			if err != nil {
				t.Fatal(err)
			}
			s, _ := dec.DecodeHeader(m.Header.Get("Subject"))
			out = append(out, s)
		}
	}
	return out
}
