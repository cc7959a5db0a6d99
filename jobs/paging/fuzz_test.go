package paging

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzWebhook: any body Alertmanager (or anyone holding its token) posts decodes into a Webhook
// or fails as malformed JSON (400); a decoded one is accepted by Validate only with the fields
// Receive relies on, and its page title stays within 500 characters. `make fuzz` fuzzes it for
// a few seconds; the corpus is testdata/fuzz/FuzzWebhook.
func FuzzWebhook(f *testing.F) {
	f.Add(`{"version":"4","groupKey":"{}:{alertname=\"X\"}","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"X"},"startsAt":"2026-12-01T00:00:00Z","fingerprint":"abc"}]}`)
	f.Add(`{"version":"4","groupKey":"g","alerts":[{"status":"resolved","fingerprint":"f","startsAt":"2026-12-01T00:00:00Z","endsAt":"2026-12-01T01:00:00Z"}]}`)
	f.Add(`{"version":"3"}`)
	f.Add(`{"alerts":[{"startsAt":"not a time"}]}`)
	f.Add(`{"commonAnnotations":{"summary":"\u0000\u202e"}}`)
	f.Fuzz(func(t *testing.T, body string) {
		var w Webhook
		if json.Unmarshal([]byte(body), &w) != nil {
			return
		}
		if err := w.Validate(); err == nil {
			if w.Version != "4" || w.GroupKey == "" {
				t.Fatalf("Validate accepted %+v", w)
			}
			for _, a := range w.Alerts {
				if a.Fingerprint == "" || a.StartsAt.IsZero() {
					t.Fatalf("Validate accepted alert %+v", a)
				}
			}
		}
		if s := title(&w); utf8.RuneCountInString(s) > 500 {
			t.Fatalf("title has %d characters", utf8.RuneCountInString(s))
		}
	})
}
