package paging

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/madoguchi/madoguchi/booking"
)

// MailSender delivers one message (jobs.SMTPMailer: the same SMTP path as citizens' mail).
type MailSender interface {
	Send(ctx context.Context, m *mail.Msg) error
}

// Caller places a phone call that reads text and asks for the key 1, reporting the key to
// callbackURL; it returns the provider's call id.
type Caller interface {
	Call(ctx context.Context, to, text, callbackURL string) (string, error)
}

// Twilio places calls through a Twilio-compatible REST API: POST
// {BaseURL}/2010-04-01/Accounts/{AccountSID}/Calls.json with Basic auth, the TwiML inline. A
// provider with the same API (several Japanese ones have it) works with its own BaseURL.
type Twilio struct {
	BaseURL    string // e.g. https://api.twilio.com (no trailing slash)
	AccountSID string
	AuthToken  string // Basic auth password; also the key of the callbacks' signatures
	From       string // the calling number (E.164)
	Client     *http.Client
}

// Call implements Caller. The call reads text in Japanese twice and gathers one key; the
// provider posts the key (Digits) to callbackURL, signed (X-Twilio-Signature).
func (t *Twilio) Call(ctx context.Context, to, text, callbackURL string) (string, error) {
	say := `<Say language="ja-JP">` + html.EscapeString(text) + `</Say>`
	twiml := `<Response><Gather numDigits="1" timeout="10" method="POST" action="` + html.EscapeString(callbackURL) + `">` +
		say + say + `</Gather></Response>`
	form := url.Values{"To": {to}, "From": {t.From}, "Twiml": {twiml}, "Timeout": {"30"}}
	u := strings.TrimRight(t.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(t.AccountSID) + "/Calls.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(t.AccountSID, t.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c := t.Client
	if c == nil {
		c = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("phone provider: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("phone provider answered %d", resp.StatusCode)
	}
	var out struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.SID == "" {
		return "", fmt.Errorf("phone provider: no call sid in the answer")
	}
	return out.SID, nil
}

// Signature computes Twilio's X-Twilio-Signature of a callback: base64(HMAC-SHA1(auth token,
// the full URL followed by every POST parameter's name and value, sorted by name)).
func Signature(authToken, fullURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		vs := append([]string(nil), params[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	h := hmac.New(sha1.New, []byte(authToken))
	h.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// mailMessage builds a page's notification or all-clear mail to one contact.
func mailMessage(from, to, subject, body, messageID string, now time.Time) (*mail.Msg, error) {
	m := mail.NewMsg(mail.WithCharset(mail.CharsetUTF8), mail.WithEncoding(mail.EncodingB64), mail.WithNoDefaultUserAgent())
	if err := m.FromFormat("madoguchi 障害通知", from); err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	if err := m.To(to); err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	m.Subject(subject)
	m.SetDateWithValue(now.In(booking.JST))
	m.SetMessageIDWithValue(messageID)
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetGenHeader(mail.HeaderXAutoResponseSuppress, "All")
	m.SetBodyString(mail.TypeTextPlain, body)
	return m, nil
}
