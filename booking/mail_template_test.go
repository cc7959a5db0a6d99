package booking_test

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

var weekdayRE = regexp.MustCompile(`\d+年\d+月\d+日（[日月火水木金土]）10:00～10:30`)

var mailAdmin = tenant.Staff(uuid.Nil, "kanri", "192.0.2.30")

// okBody is a confirmation body with everything required.
const okBody = "ご予約ありがとうございます。\n予約番号 {{.CodeGrouped}}\n{{.When}}\n{{.Place}}{{if .Address}}（{{.Address}}）{{end}}\n{{.URL}}\n"

// TestDefaultMailTemplatesValid: the built-in wording passes the checks a city's wording must
// pass, so an admin can save it again after editing a copy.
func TestDefaultMailTemplatesValid(t *testing.T) {
	for _, kind := range booking.MailKinds {
		for _, lang := range booking.MailLangs {
			subj, body := booking.DefaultMailTemplate(kind, lang)
			if err := booking.ValidateMailTemplate(booking.MailTemplateInput{Kind: kind, Lang: lang, Subject: subj, Body: body}); err != nil {
				t.Errorf("default %s/%s: %v (%+v)", kind, lang, err, tenant.AsError(err))
			}
		}
	}
}

func TestValidateMailTemplate(t *testing.T) {
	long := strings.Repeat("あ", booking.MailSubjectMaxLen+1)
	for _, c := range []struct {
		name          string
		kind          booking.OutboxKind
		subject, body string
		field, key    string
		arg, argValue string
	}{
		{"header injection CRLF", booking.KindCreated, "予約 {{.Code}}\r\nBcc: victim@example.com", okBody, "subject", "mailwording.subject.control", "", ""},
		{"header injection LF", booking.KindCreated, "予約\nX-Evil: 1", okBody, "subject", "mailwording.subject.control", "", ""},
		{"NUL in subject", booking.KindCreated, "予約\x00", okBody, "subject", "mailwording.subject.control", "", ""},
		{"bidi override in subject", booking.KindCreated, "予約\u202Eabc", okBody, "subject", "mailwording.subject.control", "", ""},
		{"empty subject", booking.KindCreated, "　 ", okBody, "subject", "mailwording.subject.required", "", ""},
		{"long subject", booking.KindCreated, long, okBody, "subject", "mailwording.subject.too_long", "", ""},
		{"unknown placeholder in subject", booking.KindCreated, "{{.Name}}様", okBody, "subject", "mailwording.subject.unknown", "subject_names", "{{.Name}}"},
		{"syntax error in subject", booking.KindCreated, "{{.City", okBody, "subject", "mailwording.subject.syntax_line", "subject_line", "1"},
		{"unknown placeholders named", booking.KindCreated, "ok", okBody + "{{.CardNo}} {{.Birth}} {{.CardNo}}", "body", "mailwording.body.unknown", "body_names", "{{.CardNo}}、{{.Birth}}"},
		{"field of a field", booking.KindCreated, "ok", okBody + "{{.City.Len}}", "body", "mailwording.body.unknown", "body_names", "{{.City.Len}}"},
		{"range refused", booking.KindCreated, "ok", okBody + "{{range 100000000}}x{{end}}", "body", "mailwording.body.unsupported", "body_names", "{{range 100000000}}x{{end}}"},
		{"function refused", booking.KindCreated, "ok", okBody + `{{printf "%s" .City}}`, "body", "mailwording.body.unsupported", "body_names", `{{printf "%s" .City}}`},
		{"variable refused", booking.KindCreated, "ok", okBody + "{{$x := .City}}", "body", "mailwording.body.unsupported", "", ""},
		{"define refused", booking.KindCreated, "ok", okBody + `{{define "x"}}y{{end}}`, "body", "mailwording.body.unsupported", "body_names", "{{define}}"},
		{"syntax error line", booking.KindCreated, "ok", okBody + "\n{{if .Address}}", "body", "mailwording.body.syntax_line", "body_line", "7"},
		{"code missing", booking.KindCreated, "ok", "{{.When}} {{.Place}}", "body", "mailwording.body.missing", "body_missing", "{{.Code}}"},
		{"code hidden in a condition", booking.KindReminder, "ok", "{{if .CallCenter}}{{.Code}}{{end}} {{.When}}", "body", "mailwording.body.missing", "body_missing", "{{.Code}}、{{.Place}}"},
		{"time missing from change", booking.KindChanged, "ok", "{{.Code}} {{.Place}} {{.OldWhen}}", "body", "mailwording.body.missing", "body_missing", "{{.When}}"},
		{"cancel needs the time", booking.KindCancelled, "ok", "{{.Code}}", "body", "mailwording.body.missing", "body_missing", "{{.When}}"},
		{"fails to execute: output too long", booking.KindCreated, "ok", okBody + strings.Repeat("{{.Guidance}}", 6), "body", "mailwording.body.exec", "", ""},
		{"control character in body", booking.KindCreated, "ok", okBody + "\x1b[31m", "body", "mailwording.body.control", "", ""},
		{"body too long", booking.KindCreated, "ok", okBody + strings.Repeat("あ", booking.MailBodyMaxLen), "body", "mailwording.body.too_long", "", ""},
		{"empty body", booking.KindCreated, "ok", "\r\n \n", "body", "mailwording.body.required", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := booking.ValidateMailTemplate(booking.MailTemplateInput{Kind: c.kind, Lang: "ja", Subject: c.subject, Body: c.body})
			e := tenant.AsError(err)
			if e == nil || e.Code != tenant.Invalid || e.Fields[c.field] != c.key {
				t.Fatalf("ValidateMailTemplate = %v (%+v), want %s=%s", err, e, c.field, c.key)
			}
			if c.arg != "" && e.Args[c.arg] != c.argValue {
				t.Errorf("Args[%s] = %q, want %q", c.arg, e.Args[c.arg], c.argValue)
			}
		})
	}
	// Allowed: a cancellation with code and time only, CRLF line breaks, a subject without
	// placeholders, {{if}}/{{else}}, comments and trimming.
	for _, in := range []booking.MailTemplateInput{
		{Kind: booking.KindCancelled, Lang: "ja", Subject: "取消のお知らせ", Body: "{{.Code}}\r\n{{.When}}\r\n"},
		{Kind: booking.KindReminder, Lang: "en", Subject: "[{{.City}}] {{.Code}}",
			Body: "{{/* note */}}{{.CodeGrouped}} {{.When}} {{.Place}}\n{{- if .CallCenter}}\nTel {{.CallCenter}}{{else}}\n-{{end}}\n"},
	} {
		if err := booking.ValidateMailTemplate(in); err != nil {
			t.Errorf("ValidateMailTemplate(%+v) = %v (%+v), want nil", in, err, tenant.AsError(err))
		}
	}
}

// TestMailTemplateSaveResetPreview saves a city's wording, lists it, previews it, resets it,
// and checks the audit log and that another city is not affected.
func TestMailTemplateSaveResetPreview(t *testing.T) {
	d := tenanttest.NewDB(t)
	f := newMailFixture(t, d)
	other := tenanttest.MustCreateTenant(t, d.App)
	ctx := context.Background()

	list, err := f.svc.MailTemplateList(ctx, f.t)
	if err != nil || len(list) != len(booking.MailKinds)*len(booking.MailLangs) {
		t.Fatalf("MailTemplateList = %d entries, %v", len(list), err)
	}
	for _, v := range list {
		if v.Custom {
			t.Errorf("%s/%s is custom before any save", v.Kind, v.Lang)
		}
	}

	// Refused: nothing saved, nothing logged.
	bad := booking.MailTemplateInput{Kind: booking.KindCreated, Lang: "ja", Subject: "x\r\nBcc: a@example.com", Body: okBody}
	if err := f.svc.SaveMailTemplate(ctx, f.t, bad, mailAdmin); tenant.ErrorCode(err) != tenant.Invalid {
		t.Fatalf("SaveMailTemplate(header injection) = %v, want invalid", err)
	}
	for _, in := range []booking.MailTemplateInput{{Kind: "spam", Lang: "ja"}, {Kind: booking.KindCreated, Lang: "fr"}} {
		in.Subject, in.Body = "ok", okBody
		if err := f.svc.SaveMailTemplate(ctx, f.t, in, mailAdmin); tenant.ErrorCode(err) != tenant.NotFound {
			t.Errorf("SaveMailTemplate(%s/%s) = %v, want not_found", in.Kind, in.Lang, err)
		}
	}
	if rows := auditRows(t, d.App, f.t, "mail_template.update"); len(rows) != 0 {
		t.Fatalf("refused saves were logged: %+v", rows)
	}

	own := booking.MailTemplateInput{Kind: booking.KindCreated, Lang: "ja", Subject: "{{.City}}より：予約 {{.Code}}", Body: okBody}
	if err := f.svc.SaveMailTemplate(ctx, f.t, own, mailAdmin); err != nil {
		t.Fatalf("SaveMailTemplate = %v", err)
	}
	v, err := f.svc.MailTemplateOf(ctx, f.t, booking.KindCreated, "ja")
	if err != nil || !v.Custom || v.Subject != own.Subject || v.Body != own.Body || v.UpdatedBy != "kanri" {
		t.Fatalf("MailTemplateOf = %+v, %v", v, err)
	}
	if v, _ := f.svc.MailTemplateOf(ctx, f.t, booking.KindCreated, "en"); v.Custom {
		t.Errorf("the English confirmation became custom")
	}
	rows := auditRows(t, d.App, f.t, "mail_template.update")
	if len(rows) != 1 || rows[0].Actor != "kanri" || rows[0].Target != "reservation_created/ja" ||
		!strings.Contains(rows[0].Before, `"custom": false`) || !strings.Contains(rows[0].Before, "ご予約を受け付けました") ||
		!strings.Contains(rows[0].After, `"custom": true`) || !strings.Contains(rows[0].After, "より：予約") {
		t.Errorf("audit = %+v", rows)
	}

	// The other city still has the default, and cannot see or reset this one.
	if v, err := f.svc.MailTemplateOf(ctx, other, booking.KindCreated, "ja"); err != nil || v.Custom {
		t.Errorf("other city: %+v, %v", v, err)
	}
	if removed, err := f.svc.ResetMailTemplate(ctx, other, booking.KindCreated, "ja", mailAdmin); err != nil || removed {
		t.Errorf("other city's reset = %v, %v; want nothing removed", removed, err)
	}
	if v, _ := f.svc.MailTemplateOf(ctx, f.t, booking.KindCreated, "ja"); !v.Custom {
		t.Fatal("another city's reset removed this city's wording")
	}

	// Preview: the city's name, its first location, a date with weekday, the login URL; nothing saved.
	p, err := f.svc.PreviewMail(ctx, f.t, booking.MailTemplateInput{Kind: booking.KindCreated, Lang: "ja",
		Subject: "{{.City}}：{{.Code}}", Body: okBody + "<b>{{.People}}名</b>\n"}, f.env)
	if err != nil {
		t.Fatalf("PreviewMail = %v", err)
	}
	if p.Subject != f.t.Name+"：K7M2QX9D" || !strings.Contains(p.Body, "予約番号 K7M2 QX9D") || !strings.Contains(p.Body, "本庁") ||
		!strings.Contains(p.Body, "https://"+f.t.Slug+".example.lg.jp/login") || !strings.Contains(p.Body, "<b>1名</b>") ||
		!weekdayRE.MatchString(p.Body) {
		t.Errorf("preview = %q / %q", p.Subject, p.Body)
	}
	if _, err := f.svc.PreviewMail(ctx, f.t, booking.MailTemplateInput{Kind: booking.KindCreated, Lang: "ja", Subject: "ok",
		Body: "{{.Code}}"}, f.env); tenant.AsError(err) == nil || tenant.AsError(err).Fields["body"] != "mailwording.body.missing" {
		t.Errorf("PreviewMail(missing) = %v", err)
	}
	if v, _ := f.svc.MailTemplateOf(ctx, f.t, booking.KindCreated, "ja"); v.Subject != own.Subject {
		t.Errorf("preview changed the saved wording: %+v", v)
	}

	// Reset: back to the default, logged with the wording removed; a second reset does nothing.
	if removed, err := f.svc.ResetMailTemplate(ctx, f.t, booking.KindCreated, "ja", mailAdmin); err != nil || !removed {
		t.Fatalf("ResetMailTemplate = %v, %v", removed, err)
	}
	if removed, err := f.svc.ResetMailTemplate(ctx, f.t, booking.KindCreated, "ja", mailAdmin); err != nil || removed {
		t.Errorf("second ResetMailTemplate = %v, %v", removed, err)
	}
	def, _ := booking.DefaultMailTemplate(booking.KindCreated, "ja")
	if v, _ := f.svc.MailTemplateOf(ctx, f.t, booking.KindCreated, "ja"); v.Custom || v.Subject != def {
		t.Errorf("after reset: %+v", v)
	}
	rows = auditRows(t, d.App, f.t, "mail_template.reset")
	if len(rows) != 1 || !strings.Contains(rows[0].Before, "より：予約") || !strings.Contains(rows[0].After, `"custom": false`) {
		t.Errorf("reset audit = %+v", rows)
	}

	// Saving the default wording keeps the city on the default (no row).
	subj, body := booking.DefaultMailTemplate(booking.KindReminder, "en")
	if err := f.svc.SaveMailTemplate(ctx, f.t, booking.MailTemplateInput{Kind: booking.KindReminder, Lang: "en",
		Subject: subj, Body: strings.ReplaceAll(body, "\n", "\r\n")}, mailAdmin); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.svc.MailTemplateOf(ctx, f.t, booking.KindReminder, "en"); v.Custom {
		t.Errorf("saving the default made a custom row")
	}
}

// TestMailTemplateUsedForMail: the next mail after a save carries the city's wording; after a
// reset, the default.
func TestMailTemplateUsedForMail(t *testing.T) {
	d := tenanttest.NewDB(t)
	f := newMailFixture(t, d)
	ctx := context.Background()
	own := booking.MailTemplateInput{Kind: booking.KindCreated, Lang: "ja", Subject: "{{.City}}より：予約 {{.Code}}", Body: okBody}
	if err := f.svc.SaveMailTemplate(ctx, f.t, own, mailAdmin); err != nil {
		t.Fatal(err)
	}
	slot := bookingtest.FirstSlot(t, f.svc, f.t, f.loc, f.clock.Now())
	r := f.reserve(t, slot.ID, "citizen@example.jp", "ja")
	job, note, err := f.svc.StartMail(ctx, f.t.ID, f.outbox(t, r.ID)[0].ID, f.env)
	if err != nil || job == nil {
		t.Fatalf("StartMail = %v, %q, %v", job, note, err)
	}
	if job.Subject != f.t.Name+"より：予約 "+r.Code || !strings.HasPrefix(job.Body, "ご予約ありがとうございます。\n予約番号 "+r.Code[:4]+" "+r.Code[4:]) {
		t.Errorf("StartMail used %q / %q, want the city's wording", job.Subject, job.Body)
	}
}

// TestMailTemplateConcurrentSave: two admins saving at once (or a double click) both succeed,
// one wording wins whole, and each save is logged.
func TestMailTemplateConcurrentSave(t *testing.T) {
	d := tenanttest.NewDB(t)
	f := newMailFixture(t, d)
	ctx := context.Background()
	bodies := []string{"A " + okBody, "B " + okBody}
	errs := make(chan error, len(bodies)*3)
	var wg sync.WaitGroup
	for range 3 {
		for _, b := range bodies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- f.svc.SaveMailTemplate(ctx, f.t, booking.MailTemplateInput{Kind: booking.KindReminder, Lang: "ja",
					Subject: "{{.Code}}", Body: b}, mailAdmin)
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("SaveMailTemplate = %v", err)
		}
	}
	v, err := f.svc.MailTemplateOf(ctx, f.t, booking.KindReminder, "ja")
	if err != nil || !v.Custom || (v.Body != bodies[0] && v.Body != bodies[1]) {
		t.Errorf("after concurrent saves: %+v, %v", v, err)
	}
	if n := len(auditRows(t, d.App, f.t, "mail_template.update")); n != 6 {
		t.Errorf("%d audit rows, want 6", n)
	}
}
