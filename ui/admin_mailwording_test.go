package ui_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

const mailwordingPath = "/admin/settings/mail/reservation_created/ja"

// mailwordingOf returns the city's current confirmation wording in Japanese.
func mailwordingOf(t *testing.T, e *env) *booking.MailTemplateView {
	t.Helper()
	v, err := e.svc.MailTemplateOf(context.Background(), e.city, booking.KindCreated, "ja")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAdminMailTemplateAccess(t *testing.T) {
	e := newEnv(t, nil)
	mustStaffAccount(t, e, "tanaka", tenant.RoleStaff, "counter password one")
	addr := serve(t, e)

	anon := newBrowser(t, addr, e.city.Slug+".localhost")
	anon.get("/admin/settings/mail")
	anon.want(200, "職員ログイン")

	// A 職員 (not 市管理者) sees none of it and can change nothing.
	b := newBrowser(t, addr, e.city.Slug+".localhost")
	staffLogin(t, b, "tanaka", "counter password one")
	csrf := csrfOf(b.last)
	for _, p := range []string{"/admin/settings/mail", mailwordingPath, mailwordingPath + "/reset"} {
		b.get(p)
		b.want(403, "権限がありません")
	}
	b.post(mailwordingPath, url.Values{"_csrf": {csrf}, "subject": {"{{.Code}}"}, "body": {"{{.Code}} {{.When}} {{.Place}}"}})
	b.want(403)
	b.post(mailwordingPath+"/reset", url.Values{"_csrf": {csrf}})
	b.want(403)
	if mailwordingOf(t, e).Custom {
		t.Fatal("a 職員 saved a mail template")
	}
}

func TestAdminMailTemplateHTTP(t *testing.T) {
	e := newEnv(t, nil)
	mustStaffAccount(t, e, "kanri", tenant.RoleAdmin, "admin password one")
	b := newBrowser(t, serve(t, e), e.city.Slug+".localhost")
	staffLogin(t, b, "kanri", "admin password one")

	b.get("/admin/settings")
	b.want(200, `href="/admin/settings/mail"`)
	b.get("/admin/help/operations")
	b.want(200, `href="#mail"`, "市民へ送るメールの文面", "既定の文面に戻す", "{{.CodeGrouped}}")
	b.get("/admin/settings/mail")
	b.want(200, "メールの文面", "確認メール", "変更メール", "取消メール", "前日のお知らせ", "日本語", "英語", "既定の文面",
		`href="/admin/settings/mail/reminder/en"`)
	if strings.Contains(b.last, "市で変更した文面") {
		t.Fatal("a template is marked customised before any save")
	}
	b.get(mailwordingPath)
	def, _ := booking.DefaultMailTemplate(booking.KindCreated, "ja")
	b.want(200, "確認メール（日本語）の文面", "既定の文面を使っています", "{{.CodeGrouped}}", "予約番号を4文字ずつ", "必須",
		`formaction="/admin/settings/mail/reservation_created/ja/preview#preview-title"`, firstLine(def))
	if strings.Contains(b.last, "{{.OldWhen}}") || strings.Contains(b.last, "既定の文面に戻す") {
		t.Error("the confirmation page lists 変更前 placeholders or offers a reset of the default")
	}
	for _, p := range []string{"/admin/settings/mail/spam/ja", "/admin/settings/mail/reservation_created/fr"} {
		b.get(p)
		b.want(404)
	}
	b.get(mailwordingPath)

	// Bad input: 422, the reasons named, the input kept, nothing saved.
	for _, c := range []struct {
		name          string
		subject, body string
		want          []string
	}{
		{"header injection", "予約 {{.Code}}\r\nBcc: victim@example.com", "{{.Code}} {{.When}} {{.Place}}",
			[]string{"件名に改行や制御文字は使えません", `href="#f-subject"`, `id="e-subject"`}},
		{"unknown placeholders", "{{.Code}}", "{{.Code}} {{.When}} {{.Place}} {{.Name}} {{.CardNo}}",
			[]string{"使えない差し込み項目があります：{{.Name}}、{{.CardNo}}", `aria-invalid="true"`, "{{.CardNo}}</textarea>"}},
		{"required removed", "{{.Code}}", "ご予約を受け付けました。\n{{.Place}}",
			[]string{"必ず入れる差し込み項目がありません：{{.Code}}、{{.When}}", "ご予約を受け付けました。\n{{.Place}}</textarea>"}},
		{"syntax", "{{.Code}}", "{{.Code}} {{.When}} {{.Place}}\n{{if .Address}}", []string{"2行目あたり"}},
		{"range", "{{.Code}}", "{{.Code}} {{.When}} {{.Place}}{{range 100000000}}x{{end}}", []string{"使えない書き方があります：{{range 100000000}}x{{end}}"}},
		{"empty", "", "", []string{"件名を入力してください", "本文を入力してください"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b.post(mailwordingPath, url.Values{"subject": {c.subject}, "body": {c.body}})
			b.want(422, append([]string{"<title>エラー：確認メール（日本語）の文面", `id="error-summary"`}, c.want...)...)
			b.post(mailwordingPath+"/preview", url.Values{"subject": {c.subject}, "body": {c.body}})
			b.want(422, c.want[0])
			if strings.Contains(b.last, `id="preview-body"`) {
				t.Error("a preview is shown for a wording that cannot be used")
			}
		})
	}
	if mailwordingOf(t, e).Custom || strings.Contains(strings.Join(auditActions(t, e, "kanri"), " "), "mail_template") {
		t.Fatal("refused input was saved or logged")
	}

	// CSRF: a forged token changes nothing.
	own := url.Values{"subject": {"【{{.City}}】ご予約 {{.Code}}"}, "body": {"<b>ご予約</b>ありがとうございます。\r\n{{.CodeGrouped}}\r\n{{.When}}\r\n{{.Place}}\r\n"}}
	forged := url.Values{"_csrf": {"forged"}}
	for k, v := range own {
		forged[k] = v
	}
	b.post(mailwordingPath, forged)
	b.want(403)
	if mailwordingOf(t, e).Custom {
		t.Fatal("a forged post saved")
	}

	// Preview: the city's data, escaped as text; nothing saved.
	b.get(mailwordingPath)
	b.post(mailwordingPath+"/preview", url.Values{"subject": own["subject"], "body": own["body"]})
	b.want(200, `id="preview-body"`, "&lt;b&gt;ご予約&lt;/b&gt;ありがとうございます。", "本庁 &lt;script&gt;", "K7M2 QX9D",
		"【"+e.city.Name+"】ご予約 K7M2QX9D", "まだ保存されていません", `name="body" rows="22"`)
	if strings.Contains(b.last, "<b>ご予約") || strings.Contains(b.last, "本庁 <script>") {
		t.Fatal("the preview is not escaped")
	}
	if mailwordingOf(t, e).Custom {
		t.Fatal("the preview saved")
	}

	// Save: a flash, the page shows the city's wording, the audit log has before and after.
	b.post(mailwordingPath, url.Values{"subject": own["subject"], "body": own["body"]})
	b.want(200, "メールの文面を保存しました", "市で変更した文面を使っています", "kanri", "既定の文面に戻す")
	v := mailwordingOf(t, e)
	if !v.Custom || v.Subject != "【{{.City}}】ご予約 {{.Code}}" || v.Body != "<b>ご予約</b>ありがとうございます。\n{{.CodeGrouped}}\n{{.When}}\n{{.Place}}\n" {
		t.Fatalf("saved %+v", v)
	}
	b.get("/admin/settings/mail")
	b.want(200, "市で変更した文面")

	// Reset: a check page, then the default again.
	b.get(mailwordingPath + "/reset")
	b.want(200, "既定の文面に戻しますか", "【{{.City}}】ご予約 {{.Code}}", "元に戻せません")
	b.post(mailwordingPath+"/reset", url.Values{})
	b.want(200, "既定の文面に戻しました", "既定の文面を使っています")
	if mailwordingOf(t, e).Custom {
		t.Fatal("reset left the city's wording")
	}
	// In English the page and its messages are English.
	b.get("/lang?to=en&next=" + url.QueryEscape(mailwordingPath))
	b.want(200, "Confirmation (Japanese): wording", "Placeholders", "Booking code in groups of four")
	b.post(mailwordingPath, url.Values{"subject": {"{{.Foo}}"}, "body": {"{{.Code}}"}})
	b.want(422, "The subject uses unknown placeholders: {{.Foo}}", "The text lacks required placeholders: {{.When}}、{{.Place}}")

	got := strings.Join(auditActions(t, e, "kanri"), " ")
	if !strings.Contains(got, "mail_template.update") || !strings.Contains(got, "mail_template.reset") {
		t.Errorf("audit actions = %s", got)
	}
}

// TestMailTemplateMessages: every message key the domain's check can give has a text in both
// languages.
func TestMailTemplateMessages(t *testing.T) {
	locs, err := web.LoadLocales()
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"mailwording.body.missing"}
	for _, f := range []string{"subject", "body"} {
		for _, k := range []string{"required", "too_long", "control", "syntax", "syntax_line", "unknown", "unsupported", "exec"} {
			keys = append(keys, "mailwording."+f+"."+k)
		}
	}
	for _, k := range booking.MailKinds {
		keys = append(keys, "mailwording.kind."+string(k))
	}
	for _, n := range booking.MailPlaceholders {
		keys = append(keys, "mailwording.ph."+n)
	}
	for _, lang := range []string{"ja", "en"} {
		for _, k := range keys {
			if strings.TrimSpace(locs[lang][k]) == "" {
				t.Errorf("%s: no message %q", lang, k)
			}
		}
	}
}

func firstLine(s string) string { return strings.SplitN(s, "\n", 2)[0] }
