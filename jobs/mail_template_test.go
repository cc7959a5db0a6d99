package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// TestSavedMailTemplateSent: after the 市管理者 saves a wording, the next confirmation received
// by a real SMTP server carries it (subject and body, filled in); after a reset the next one
// carries the default again, and a refused wording never reaches a mail.
func TestSavedMailTemplateSent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin := tenant.Staff(uuid.Nil, "kanri", "192.0.2.30")
	must(t, e.svc.SaveMailTemplate(ctx, e.ten, booking.MailTemplateInput{Kind: booking.KindCreated, Lang: "ja",
		Subject: "【{{.City}}】カード受取の予約 {{.Code}}",
		Body:    "ご予約ありがとうございます（市の文面）。\r\n予約番号：{{.CodeGrouped}}\r\n日時：{{.When}}\r\n場所：{{.Place}}\r\n"}, admin))
	// Refused: a second header smuggled into the subject. The saved wording stays.
	if err := e.svc.SaveMailTemplate(ctx, e.ten, booking.MailTemplateInput{Kind: booking.KindCreated, Lang: "ja",
		Subject: "x {{.Code}}\r\nBcc: spy@evil.example", Body: "{{.Code}} {{.When}} {{.Place}}"}, admin); err == nil {
		t.Fatal("a subject with CRLF was saved")
	}
	e.startWorker(t, "w1")
	slot := e.slotOn(t, booking.DateOf(e.clock.Now()).AddDays(2))

	r := e.reserve(t, slot.ID, "taro@example.jp", "ja")
	if !e.sink.Wait(1, 10*time.Second) {
		t.Fatalf("received %d messages, want 1", e.sink.Count())
	}
	p := e.messages(t)[0]
	wantSubj := "【" + e.ten.Name + "】カード受取の予約 " + r.Code
	if p.Subject != wantSubj {
		t.Errorf("Subject = %q, want %q", p.Subject, wantSubj)
	}
	wantBody := "ご予約ありがとうございます（市の文面）。\r\n予約番号：" + r.Code[:4] + " " + r.Code[4:] + "\r\n日時：" +
		booking.FormatSlot("ja", slot.StartsAt, slot.EndsAt) + "\r\n場所：" + e.loc.Name + "\r\n"
	if strings.ReplaceAll(p.Body, "\r\n", "\n") != strings.ReplaceAll(wantBody, "\r\n", "\n") {
		t.Errorf("Body = %q, want %q", p.Body, wantBody)
	}
	for _, m := range e.sink.Messages() {
		if strings.Contains(string(m.Data), "spy@evil.example") || len(m.To) != 1 {
			t.Fatalf("the refused subject reached a mail: %s", m.Data)
		}
	}

	// Back to the default: the next confirmation uses it.
	if removed, err := e.svc.ResetMailTemplate(ctx, e.ten, booking.KindCreated, "ja", admin); err != nil || !removed {
		t.Fatalf("ResetMailTemplate = %v, %v", removed, err)
	}
	r2 := e.reserve(t, slot.ID, "hanako@example.jp", "ja")
	if !e.sink.Wait(2, 10*time.Second) {
		t.Fatalf("received %d messages, want 2", e.sink.Count())
	}
	for _, p := range e.messages(t) {
		if !strings.Contains(p.Subject, r2.Code) {
			continue
		}
		if !strings.Contains(p.Subject, "マイナンバーカード受け取りのご予約を受け付けました") || strings.Contains(p.Body, "市の文面") {
			t.Errorf("after reset: %q\n%s", p.Subject, p.Body)
		}
		return
	}
	t.Errorf("no mail for %s", r2.Code)
}
