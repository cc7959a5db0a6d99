package paging

import (
	"bytes"
	"crypto/hmac"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"net/http"
	"strings"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// maxWebhookBody bounds a webhook delivery (Alertmanager's groups are small; max_alerts is 0).
const maxWebhookBody = 4 << 20

// Receiver is Alertmanager's webhook, POST /api/alertmanager, behind a bearer token
// (Alertmanager's http_config.authorization.credentials). Answers: 200 once the alerts are
// stored; 400 for malformed JSON or a payload that is not version 4; 401 for a missing or wrong
// token; 503 when they could not be stored (Alertmanager retries 5xx, and only 5xx).
func (s *Service) Receiver(token string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if token == "" || !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			jsonError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		var wh Webhook
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxWebhookBody)).Decode(&wh); err != nil {
			jsonError(w, http.StatusBadRequest, "malformed JSON")
			return
		}
		err := s.Receive(r.Context(), &wh)
		switch {
		case err == nil && s.Degraded():
			// PostgreSQL answers again: this process's memory pages are written back now.
			if err := s.reconcile(r.Context()); err != nil {
				s.log.Error("paging: memory pages not written back yet", "err", err)
			}
			fallthrough
		case err == nil:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"stored"}`))
		case tenant.ErrorCode(err) == tenant.Invalid:
			jsonError(w, http.StatusBadRequest, "not an Alertmanager webhook version 4 payload")
		default:
			// Paged from memory now; the 503 makes Alertmanager deliver it again until stored.
			s.log.Error("paging: alert not stored, paged from memory", "group_key", wh.GroupKey, "err", err)
			s.receiveMem(r.Context(), &wh)
			jsonError(w, http.StatusServiceUnavailable, "alert not stored; retry")
		}
	})
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// Handler serves the acknowledgement pages and the phone provider's callback:
//
//	GET  /ack/{token}              a confirmation page only (mail scanners open every link)
//	POST /ack/{token}              acknowledges
//	POST /api/paging/voice/{token} the provider's key-press callback, signature-checked
//
// They are authenticated by the signed token (and the provider's signature), not by a session:
// the deployment routes these paths to it from outside, exempt from the ops console's
// allow-list and TOTP. phoneToken is the provider's auth token (the key of its signatures).
func (s *Service) Handler(phoneToken string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ack/{token}", s.ackShow)
	mux.HandleFunc("POST /ack/{token}", s.ackPost)
	mux.HandleFunc("POST /api/paging/voice/{token}", func(w http.ResponseWriter, r *http.Request) { s.voice(w, r, phoneToken) })
	return mux
}

var ackPage = template.Must(template.New("ack").Parse(`<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Heading}} | madoguchi 障害通知</title>
<style>body{font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.7;color:#1a1a1a}
button{font-size:1.1rem;padding:.6rem 1.4rem;background:#0017c1;color:#fff;border:0;border-radius:.4rem}
.note{color:#333}</style></head>
<body><main><h1>{{.Heading}}</h1>
{{if .Title}}<p>障害: {{.Title}}</p>{{if .Opened}}<p>発生: {{.Opened}}</p>{{end}}<p>状態: {{.State}}</p>{{end}}
<p class="note">{{.Message}}</p>
{{if .Form}}<form method="post"><button type="submit">対応します（通知を止める）</button></form>{{end}}
</main></body></html>`))

type ackView struct {
	Heading, Title, Opened, State, Message string
	Form                                   bool
}

var stateJA = map[string]string{Triggered: "通知中（未対応）", Acknowledged: "対応中", Resolved: "解消済み"}

func (s *Service) renderAck(w http.ResponseWriter, status int, v ackView) {
	var buf bytes.Buffer
	if err := ackPage.Execute(&buf, v); err != nil {
		http.Error(w, "error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// ackToken verifies the path's token, answering the friendly page itself when it is not good.
func (s *Service) ackToken(w http.ResponseWriter, r *http.Request) (AckToken, bool) {
	t, err := verifyToken(s.cfg.AckKey, r.PathValue("token"), s.now())
	switch {
	case errors.Is(err, ErrExpiredToken):
		s.renderAck(w, http.StatusGone, ackView{Heading: "このリンクの有効期限が切れています", Message: "新しい通知のリンクを使うか、運用コンソールから対応してください。"})
		return t, false
	case err != nil:
		s.renderAck(w, http.StatusNotFound, ackView{Heading: "このリンクは使えません", Message: "リンクが途中で切れていないか確かめてください。運用コンソールからも対応できます。"})
		return t, false
	}
	return t, true
}

func (s *Service) ackShow(w http.ResponseWriter, r *http.Request) {
	t, ok := s.ackToken(w, r)
	if !ok {
		return
	}
	if t.Generation == 0 { // a page of the degraded path: no database needed
		v := ackView{Heading: "障害通知への対応", Title: "（データベースの障害中に送られた通知です）", State: stateJA[Triggered], Form: true,
			Message: "対応する場合はボタンを押してください。押すまで通知は続きます。"}
		if title, opened := s.memTitle(t.PageID); title != "" {
			v.Title, v.Opened = title, opened.In(booking.JST).Format("2006-01-02 15:04")
		}
		s.renderAck(w, http.StatusOK, v)
		return
	}
	p, err := s.Get(r.Context(), t.PageID)
	if err != nil {
		s.renderAck(w, http.StatusServiceUnavailable, ackView{Heading: "ただいま状態を確かめられません", Message: "しばらくしてからもう一度開いてください。", Form: true})
		return
	}
	v := ackView{Heading: "障害通知への対応", Title: p.Title, Opened: p.CreatedAt.In(booking.JST).Format("2006-01-02 15:04"), State: stateJA[p.State]}
	if p.State == Triggered {
		v.Message, v.Form = "対応する場合はボタンを押してください。押すまで通知は続きます。", true
	} else {
		v.Message = "この障害はすでに" + stateJA[p.State] + "です。操作は要りません。"
	}
	s.renderAck(w, http.StatusOK, v)
}

func (s *Service) ackPost(w http.ResponseWriter, r *http.Request) {
	t, ok := s.ackToken(w, r)
	if !ok {
		return
	}
	if t.Generation == 0 {
		s.renderAckResult(w, s.AcknowledgeDegraded(r.Context(), t, ViaMail))
		return
	}
	acked, err := s.Acknowledge(r.Context(), t.PageID, t.Generation, s.contactName(r, t), ViaMail)
	if err != nil {
		s.renderAck(w, http.StatusServiceUnavailable, ackView{Heading: "受け付けられませんでした", Message: "しばらくしてからもう一度押すか、運用コンソールから対応してください。", Form: true})
		return
	}
	s.renderAckResult(w, acked)
}

func (s *Service) renderAckResult(w http.ResponseWriter, acked bool) {
	if !acked {
		s.renderAck(w, http.StatusOK, ackView{Heading: "すでに対応済みか解消済みです", Message: "通知はもう止まっているか、別の通知で受け付けられています。運用コンソールで状態を確かめてください。"})
		return
	}
	s.renderAck(w, http.StatusOK, ackView{Heading: "対応を受け付けました", Message: "通知を止めました。障害が解消すると復旧のメールが届きます。"})
}

// contactName names who acknowledged, from the page's snapshot.
func (s *Service) contactName(r *http.Request, t AckToken) string {
	if p, err := s.Get(r.Context(), t.PageID); err == nil {
		if c, ok := p.Snapshot.Contacts[t.ContactID]; ok {
			return c.Name
		}
	}
	return t.ContactID.String()
}

// voice is the provider's callback after the call's <Gather>: the key pressed in Digits. Only a
// valid signature counts (403 otherwise), and only the key 1 acknowledges — answering alone does
// not (a voicemail answers too).
func (s *Service) voice(w http.ResponseWriter, r *http.Request, phoneToken string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	full := strings.TrimRight(s.cfg.PublicURL, "/") + r.URL.RequestURI()
	want := Signature(phoneToken, full, r.PostForm)
	if phoneToken == "" || !hmac.Equal([]byte(r.Header.Get("X-Twilio-Signature")), []byte(want)) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	t, err := verifyToken(s.cfg.AckKey, r.PathValue("token"), s.now())
	if err != nil {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	say := "対応は受け付けられませんでした。"
	if r.PostForm.Get("Digits") == "1" {
		var acked bool
		var err error
		if t.Generation == 0 { // a page of the degraded path
			acked = s.AcknowledgeDegraded(r.Context(), t, ViaPhone)
		} else {
			acked, err = s.Acknowledge(r.Context(), t.PageID, t.Generation, s.contactName(r, t), ViaPhone)
		}
		switch {
		case err != nil:
			say = "ただいま受け付けられません。メールのリンクか運用コンソールから対応してください。"
		case acked:
			say = "対応を受け付けました。通知を止めます。"
		default:
			say = "この障害はすでに対応済みか解消済みです。"
		}
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Response><Say language="ja-JP">` + template.HTMLEscapeString(say) + `</Say></Response>`))
}
