package booking

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// This file is the 市管理者's side of the mail templates (spec 3(3)エ・オ・ク②): list the kinds
// and languages with their current wording, check and save a city's own wording, go back to the
// default, and preview a wording with a sample booking.
//
// A city's template is restricted to a small subset of text/template, because the admin types it
// and the worker runs it for every mail: literal text, placeholders {{.Name}} of MailData's
// fields, {{if .Name}} … {{else}} … {{end}} on those fields, comments, and the {{- -}}
// whitespace trimmers. No functions, variables, with, range, define or template: nothing can
// loop, call out or read anything but MailData, and the check is made on the parse tree, so an
// unknown or unsupported placeholder is named in the error.
//
// Required content: the confirmation, change and reminder bodies must show the booking code
// ({{.Code}} or {{.CodeGrouped}}), the date and time ({{.When}}) and the place ({{.Place}}); the
// cancellation body the code and the date and time. "Show" means outside any {{if}},
// so a condition cannot hide them. These are what the citizen needs at the counter (and to know
// which booking a mail is about); everything else, including the subject, is the city's choice.

// Limits of a city's template. The subject is one header line: no line breaks or control
// characters, so a city's text cannot inject mail headers.
const (
	MailSubjectMaxLen = 200   // characters
	MailBodyMaxLen    = 10000 // characters, after line breaks are made "\n"
)

// MailLangs are the languages a city may word its mail in.
var MailLangs = []string{"ja", "en"}

// MailPlaceholders are the names a template may use as {{.Name}}, in the order the edit page
// lists them (the fields of MailData).
var MailPlaceholders = []string{"City", "Code", "CodeGrouped", "When", "Place", "Address", "Guidance", "People",
	"OldWhen", "OldPlace", "URL", "CallCenter"}

// RequiredMailPlaceholders returns what kind's body must show, as groups of which one name is
// enough (Code or CodeGrouped).
func RequiredMailPlaceholders(kind OutboxKind) [][]string {
	code, when, place := []string{"Code", "CodeGrouped"}, []string{"When"}, []string{"Place"}
	if kind == KindCancelled {
		return [][]string{code, when}
	}
	return [][]string{code, when, place}
}

// MailTemplateView is the current wording of one kind of mail in one language: the city's own
// (Custom) or the built-in default.
type MailTemplateView struct {
	Kind      OutboxKind
	Lang      string
	Subject   string
	Body      string
	Custom    bool
	UpdatedBy string    // who saved the city's wording (Custom only)
	UpdatedAt time.Time // Custom only
}

// MailTemplateInput is a wording as the admin typed it.
type MailTemplateInput struct {
	Kind    OutboxKind
	Lang    string
	Subject string
	Body    string
}

// normalize makes the body's line breaks "\n" and trims spaces (not line breaks) around the
// subject, so a line break in a subject is refused rather than trimmed away.
func (in MailTemplateInput) normalize() MailTemplateInput {
	in.Body = strings.ReplaceAll(strings.ReplaceAll(in.Body, "\r\n", "\n"), "\r", "\n")
	in.Subject = strings.TrimFunc(in.Subject, func(r rune) bool { return r == ' ' || r == '\u3000' })
	return in
}

// ValidMailTemplateKey reports whether kind and lang name one of the city's templates.
func ValidMailTemplateKey(kind OutboxKind, lang string) bool {
	return slices.Contains(MailKinds, kind) && slices.Contains(MailLangs, lang)
}

func mailTemplateNotFound(kind OutboxKind, lang string) error {
	if !ValidMailTemplateKey(kind, lang) {
		return tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	return nil
}

// MailTemplateList returns every kind (MailKinds order) in every language (MailLangs order)
// with its current wording.
func (s *Service) MailTemplateList(ctx context.Context, t *tenant.Tenant) (_ []MailTemplateView, err error) {
	defer tenant.Wrap(&err, "booking.MailTemplateList(%s)", t.ID)
	var own []MailTemplate
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&own).Scan(ctx)
	})
	if err != nil {
		return nil, err
	}
	var out []MailTemplateView
	for _, kind := range MailKinds {
		for _, lang := range MailLangs {
			v := defaultView(kind, lang)
			for _, o := range own {
				if o.Kind == kind && o.Lang == lang {
					v = customView(&o)
				}
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// MailTemplateOf returns the current wording of kind in lang. It returns not_found for an
// unknown kind or language.
func (s *Service) MailTemplateOf(ctx context.Context, t *tenant.Tenant, kind OutboxKind, lang string) (_ *MailTemplateView, err error) {
	defer tenant.Wrap(&err, "booking.MailTemplateOf(%s)", t.ID)
	if err := mailTemplateNotFound(kind, lang); err != nil {
		return nil, err
	}
	var v MailTemplateView
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		v, err = currentMailTemplate(ctx, tx, kind, lang, false)
		return err
	})
	return &v, err
}

func defaultView(kind OutboxKind, lang string) MailTemplateView {
	subj, body := DefaultMailTemplate(kind, lang)
	return MailTemplateView{Kind: kind, Lang: lang, Subject: subj, Body: body}
}

func customView(o *MailTemplate) MailTemplateView {
	return MailTemplateView{Kind: o.Kind, Lang: o.Lang, Subject: o.Subject, Body: o.Body, Custom: true,
		UpdatedBy: o.UpdatedBy, UpdatedAt: o.UpdatedAt}
}

// currentMailTemplate reads the city's row of kind in lang (locked with forUpdate) or returns
// the default.
func currentMailTemplate(ctx context.Context, tx bun.IDB, kind OutboxKind, lang string, forUpdate bool) (MailTemplateView, error) {
	var o MailTemplate
	q := tx.NewSelect().Model(&o).Where("kind = ? AND lang = ?", kind, lang)
	if forUpdate {
		q = q.For("UPDATE")
	}
	switch err := q.Scan(ctx); {
	case errors.Is(err, sql.ErrNoRows):
		return defaultView(kind, lang), nil
	case err != nil:
		return MailTemplateView{}, err
	}
	return customView(&o), nil
}

// SaveMailTemplate checks in (ValidateMailTemplate) and stores it as the city's wording of
// in.Kind in in.Lang, writing "mail_template.update" with the wording before and after to the
// audit log in the same transaction. A wording equal to the default removes the city's row
// instead, so later improvements of the default reach the city. It returns not_found for an
// unknown kind or language and invalid with per-field keys for a wording that cannot be used.
func (s *Service) SaveMailTemplate(ctx context.Context, t *tenant.Tenant, in MailTemplateInput, by tenant.Actor) (err error) {
	defer tenant.Wrap(&err, "booking.SaveMailTemplate(%s)", t.ID)
	if err := mailTemplateNotFound(in.Kind, in.Lang); err != nil {
		return err
	}
	in = in.normalize()
	if err := ValidateMailTemplate(in); err != nil {
		return err
	}
	defSubj, defBody := DefaultMailTemplate(in.Kind, in.Lang)
	isDefault := in.Subject == defSubj && in.Body == defBody
	now := s.now()
	return tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		before, err := currentMailTemplate(ctx, tx, in.Kind, in.Lang, true)
		if err != nil {
			return err
		}
		if isDefault {
			if _, err := tx.NewDelete().Model((*MailTemplate)(nil)).Where("kind = ? AND lang = ?", in.Kind, in.Lang).Exec(ctx); err != nil {
				return err
			}
		} else {
			row := MailTemplate{TenantID: t.ID, Kind: in.Kind, Lang: in.Lang, Subject: in.Subject, Body: in.Body,
				UpdatedBy: by.Login, UpdatedAt: now}
			_, err := tx.NewInsert().Model(&row).
				On("CONFLICT (tenant_id, kind, lang) DO UPDATE").
				Set("subject = EXCLUDED.subject, body = EXCLUDED.body, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at").
				Exec(ctx)
			if err != nil {
				return tenant.DBError(err)
			}
		}
		after := MailTemplateView{Kind: in.Kind, Lang: in.Lang, Subject: in.Subject, Body: in.Body, Custom: !isDefault}
		return by.Audit(ctx, tx, t.ID, "mail_template.update", MailTemplateTarget(in.Kind, in.Lang),
			mailTemplateAudit(before), mailTemplateAudit(after))
	})
}

// ResetMailTemplate returns kind in lang to the built-in wording by deleting the city's row,
// and writes "mail_template.reset" with the wording it removed to the audit log. It reports
// whether there was a row to delete (nothing is logged when the default was already in use) and
// returns not_found for an unknown kind or language.
func (s *Service) ResetMailTemplate(ctx context.Context, t *tenant.Tenant, kind OutboxKind, lang string, by tenant.Actor) (_ bool, err error) {
	defer tenant.Wrap(&err, "booking.ResetMailTemplate(%s)", t.ID)
	if err := mailTemplateNotFound(kind, lang); err != nil {
		return false, err
	}
	var removed bool
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		before, err := currentMailTemplate(ctx, tx, kind, lang, true)
		if err != nil || !before.Custom {
			return err
		}
		if _, err := tx.NewDelete().Model((*MailTemplate)(nil)).Where("kind = ? AND lang = ?", kind, lang).Exec(ctx); err != nil {
			return err
		}
		removed = true
		return by.Audit(ctx, tx, t.ID, "mail_template.reset", MailTemplateTarget(kind, lang),
			mailTemplateAudit(before), mailTemplateAudit(defaultView(kind, lang)))
	})
	return removed, err
}

// MailTemplateTarget is the audit log's target of a template: "reservation_created/ja".
func MailTemplateTarget(kind OutboxKind, lang string) string { return string(kind) + "/" + lang }

func mailTemplateAudit(v MailTemplateView) map[string]any {
	return map[string]any{"subject": v.Subject, "body": v.Body, "custom": v.Custom}
}

// MailPreview is a wording rendered with a sample booking.
type MailPreview struct {
	Subject string
	Body    string
}

// PreviewMail checks in like SaveMailTemplate and renders it with a sample booking of the city:
// its name, call-center number and first 交付場所 (with address and guidance), a date a week
// ahead with its weekday, and the login URL from env. Nothing is saved. It returns not_found for
// an unknown kind or language and invalid with per-field keys for a wording that cannot be used.
func (s *Service) PreviewMail(ctx context.Context, t *tenant.Tenant, in MailTemplateInput, env MailEnv) (_ *MailPreview, err error) {
	defer tenant.Wrap(&err, "booking.PreviewMail(%s)", t.ID)
	if err := mailTemplateNotFound(in.Kind, in.Lang); err != nil {
		return nil, err
	}
	in = in.normalize()
	if err := ValidateMailTemplate(in); err != nil {
		return nil, err
	}
	locs, err := s.Locations(ctx, t.ID, true)
	if err != nil {
		return nil, err
	}
	data := sampleMailData(in.Lang)
	data.City, data.CallCenter = t.Name, t.Settings.CallCenterPhone
	data.URL = LoginURL(t.Slug, env.BaseDomain, env.Port)
	if len(locs) > 0 {
		data.Place, data.Address, data.Guidance = locs[0].Name, locs[0].Address, strings.TrimSpace(locs[0].Guidance)
		data.OldPlace = locs[len(locs)-1].Name
	}
	start := s.now().In(JST).AddDate(0, 0, 7)
	for start.Weekday() == time.Saturday || start.Weekday() == time.Sunday {
		start = start.AddDate(0, 0, 1)
	}
	day := DateOf(start)
	data.When = FormatSlot(in.Lang, day.Time(10, 0), day.Time(10, 30))
	if in.Kind == KindChanged {
		old := day.AddDays(-1)
		if old.Weekday() == time.Sunday {
			old = old.AddDays(-2)
		}
		data.OldWhen = FormatSlot(in.Lang, old.Time(14, 0), old.Time(14, 30))
	} else {
		data.OldWhen, data.OldPlace = "", ""
	}
	subject, body, err := RenderMail(&MailTemplate{Subject: in.Subject, Body: in.Body}, in.Kind, in.Lang, data)
	if err != nil {
		return nil, mailTemplateInvalid(map[string]string{"body": "mailwording.body.exec"}, nil)
	}
	return &MailPreview{Subject: subject, Body: body}, nil
}

// sampleMailData is a realistic booking for checks and previews.
func sampleMailData(lang string) MailData {
	start := Date{2026, time.June, 3}.Time(10, 0)
	d := MailData{City: "松阪市", Code: "K7M2QX9D", CodeGrouped: "K7M2 QX9D", When: FormatSlot(lang, start, start.Add(30*time.Minute)),
		Place: "本庁 戸籍住民課", Address: "三重県松阪市殿町1340番地1",
		Guidance: "交付通知書、本人確認書類（運転免許証など）、通知カードまたは住民基本台帳カードをお持ちください。\n本庁1階の2番窓口へお越しください。",
		People:   1, OldWhen: FormatSlot(lang, start.AddDate(0, 0, -1), start.AddDate(0, 0, -1).Add(30*time.Minute)), OldPlace: "嬉野地域振興局",
		URL: "https://matsusaka.example.lg.jp/login", CallCenter: "0598-00-0000"}
	return d
}

// largestMailData fills every field to the longest value the rest of the system accepts, so a
// template that renders with it renders with any booking (the 64 KiB output limit).
func largestMailData() MailData {
	d := sampleMailData("ja")
	d.City = strings.Repeat("市", 100)
	d.Place, d.OldPlace = strings.Repeat("場", 100), strings.Repeat("場", 100)
	d.Address = strings.Repeat("所", 200)
	d.Guidance = strings.Repeat("案", 4000)
	d.People = 99
	return d
}

// ValidateMailTemplate checks a wording (after normalising line breaks): the subject is one line
// of 1–200 characters without control characters, the body 1–10,000 characters without control
// characters other than line breaks and tabs; both parse in the supported subset, use only
// MailPlaceholders and render; the body shows what RequiredMailPlaceholders names. It returns
// invalid with Fields "subject" and "body" (keys mailwording.subject.* / mailwording.body.*) and Args
// "subject_names", "body_names" (the offending placeholders), "body_missing" (what must be
// added) and "subject_line", "body_line" (where a syntax error is).
func ValidateMailTemplate(in MailTemplateInput) error {
	in = in.normalize()
	fields, args := map[string]string{}, map[string]any{}
	switch n := utf8.RuneCountInString(in.Subject); {
	case n == 0:
		fields["subject"] = "mailwording.subject.required"
	case n > MailSubjectMaxLen:
		fields["subject"] = "mailwording.subject.too_long"
	case strings.IndexFunc(in.Subject, badSubjectRune) >= 0:
		fields["subject"] = "mailwording.subject.control"
	default:
		if key := checkMailText("subject", in.Subject, nil, args); key != "" {
			fields["subject"] = key
		}
	}
	switch n := utf8.RuneCountInString(in.Body); {
	case strings.TrimSpace(in.Body) == "":
		fields["body"] = "mailwording.body.required"
	case n > MailBodyMaxLen:
		fields["body"] = "mailwording.body.too_long"
	case strings.IndexFunc(in.Body, badBodyRune) >= 0:
		fields["body"] = "mailwording.body.control"
	default:
		if key := checkMailText("body", in.Body, RequiredMailPlaceholders(in.Kind), args); key != "" {
			fields["body"] = key
		}
	}
	if len(fields) > 0 {
		return mailTemplateInvalid(fields, args)
	}
	return nil
}

func mailTemplateInvalid(fields map[string]string, args map[string]any) error {
	return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: fields, Args: args}
}

// badSubjectRune is a character that must not reach a header: controls (CR, LF, TAB, NUL …),
// the Unicode line and paragraph separators and the bidirectional overrides that make a
// subject read differently from what it says.
func badSubjectRune(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || (r >= '\u202A' && r <= '\u202E') ||
		(r >= '\u2066' && r <= '\u2069') || r == utf8.RuneError
}

func badBodyRune(r rune) bool {
	return (unicode.IsControl(r) && r != '\n' && r != '\t') || (r >= '\u202A' && r <= '\u202E') ||
		(r >= '\u2066' && r <= '\u2069') || r == utf8.RuneError
}

var parseLineRE = regexp.MustCompile(`^template: mail:(\d+):`)

// checkMailText parses text in the supported subset and renders it with a sample and the
// largest booking; it returns a message key for field, or "", and puts the details in args.
func checkMailText(field, text string, required [][]string, args map[string]any) string {
	tpl, err := template.New("mail").Option("missingkey=error").Parse(text)
	if err != nil {
		if m := parseLineRE.FindStringSubmatch(err.Error()); m != nil {
			args[field+"_line"] = m[1]
			return "mailwording." + field + ".syntax_line"
		}
		return "mailwording." + field + ".syntax"
	}
	if len(tpl.Templates()) > 1 { // {{define}} / {{block}}
		args[field+"_names"] = "{{define}}"
		return "mailwording." + field + ".unsupported"
	}
	c := &mailTreeCheck{top: map[string]bool{}}
	if tpl.Tree != nil {
		c.walk(tpl.Tree.Root, true)
	}
	switch {
	case len(c.unsupported) > 0:
		args[field+"_names"] = strings.Join(c.unsupported, "、")
		return "mailwording." + field + ".unsupported"
	case len(c.unknown) > 0:
		args[field+"_names"] = strings.Join(c.unknown, "、")
		return "mailwording." + field + ".unknown"
	}
	var missing []string
	for _, group := range required {
		if !slices.ContainsFunc(group, func(n string) bool { return c.top[n] }) {
			missing = append(missing, "{{."+group[0]+"}}")
		}
	}
	if len(missing) > 0 {
		args[field+"_missing"] = strings.Join(missing, "、")
		return "mailwording." + field + ".missing"
	}
	for _, d := range []MailData{sampleMailData("ja"), largestMailData()} {
		if _, err := render(text, d); err != nil {
			return "mailwording." + field + ".exec"
		}
	}
	return ""
}

// mailTreeCheck walks a parsed template and collects what the supported subset does not allow.
type mailTreeCheck struct {
	unknown     []string        // {{.CardNo}}: a field MailData does not have
	unsupported []string        // {{range …}}, {{printf …}}, {{$x := …}}: a construct not allowed
	top         map[string]bool // placeholders shown unconditionally
}

func (c *mailTreeCheck) add(list *[]string, s string) {
	if !slices.Contains(*list, s) {
		*list = append(*list, s)
	}
}

func (c *mailTreeCheck) walk(n parse.Node, top bool) {
	switch n := n.(type) {
	case nil:
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, x := range n.Nodes {
			c.walk(x, top)
		}
	case *parse.TextNode, *parse.CommentNode:
	case *parse.ActionNode:
		if name, ok := c.pipe(n.Pipe, n.String()); ok && top {
			c.top[name] = true
		}
	case *parse.IfNode:
		c.pipe(n.Pipe, "{{if "+n.Pipe.String()+"}}")
		c.walk(n.List, false)
		c.walk(n.ElseList, false)
	default:
		c.add(&c.unsupported, shortNode(n.String()))
	}
}

// pipe accepts exactly one placeholder (.Name) and returns its name.
func (c *mailTreeCheck) pipe(p *parse.PipeNode, whole string) (string, bool) {
	if p == nil || len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		c.add(&c.unsupported, shortNode(whole))
		return "", false
	}
	f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
	if !ok {
		c.add(&c.unsupported, shortNode(whole))
		return "", false
	}
	name := strings.Join(f.Ident, ".")
	if len(f.Ident) != 1 || !slices.Contains(MailPlaceholders, name) {
		c.add(&c.unknown, "{{."+name+"}}")
		return "", false
	}
	return name, true
}

// shortNode keeps an offending construct short enough to name in a message.
func shortNode(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		return string([]rune(s)[:40]) + "…"
	}
	return s
}
