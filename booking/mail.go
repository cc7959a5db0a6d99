package booking

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"text/template"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// Mail to citizens: confirmation, change, cancellation and the day-before reminder, in Japanese
// or (when the reservation's lang is "en") English. Each city may replace the built-in wording of
// any kind and language with its own text/template (mail_templates); the data a template sees is
// MailData, which holds what the citizen gave or was given (booking code, time, place) and never
// a name or a card number. Mail is plain text with the visit attached as an .ics event.

// MailData is what a mail template can show.
type MailData struct {
	City        string // the municipality, e.g. 松阪市
	Code        string // booking code, e.g. K7M2QX9D
	CodeGrouped string // the code in two groups for reading aloud: K7M2 QX9D
	When        string // 2026年6月3日（水）10:00～10:30
	Place       string // 交付場所 name
	Address     string
	Guidance    string // what to bring, where to go (set per location by the city)
	People      int    // how many cards (people) the booking is for
	OldWhen     string // change mail: the previous time
	OldPlace    string // change mail: the previous place
	URL         string // where to check, change or cancel: https://{slug}.{BASE_DOMAIN}/login
	CallCenter  string // the city's call-center number, may be empty
}

// MailEvent is the visit as a calendar event, attached to the mail as an .ics file.
type MailEvent struct {
	UID         string // stable per reservation, so a change updates the same calendar entry
	Sequence    int    // grows with every change
	Stamp       time.Time
	Start, End  time.Time
	Summary     string
	Location    string
	Description string
	URL         string
	Cancelled   bool // METHOD:CANCEL, STATUS:CANCELLED
}

// MailTemplate is a city's own subject and body for one kind of mail in one language.
type MailTemplate struct {
	bun.BaseModel `bun:"table:mail_templates"`

	TenantID  uuid.UUID  `bun:"tenant_id,pk,type:uuid"`
	Kind      OutboxKind `bun:"kind,pk"`
	Lang      string     `bun:"lang,pk"`
	Subject   string     `bun:"subject,notnull"`
	Body      string     `bun:"body,notnull"`
	UpdatedBy string     `bun:"updated_by,notnull"`
	UpdatedAt time.Time  `bun:"updated_at,notnull,default:current_timestamp"`
}

// MailKinds lists every kind of citizen mail.
var MailKinds = []OutboxKind{KindCreated, KindChanged, KindCancelled, KindReminder}

// DefaultMailTemplate returns the built-in subject and body of kind in lang ("ja" or "en").
func DefaultMailTemplate(kind OutboxKind, lang string) (subject, body string) {
	t := defaultTemplates[langOrJA(lang)][kind]
	return t[0], t[1]
}

// RenderMail renders kind in lang with data and the city's template (nil: the default). The
// subject is one line.
func RenderMail(tpl *MailTemplate, kind OutboxKind, lang string, data MailData) (subject, body string, err error) {
	subjT, bodyT := DefaultMailTemplate(kind, lang)
	if tpl != nil {
		subjT, bodyT = tpl.Subject, tpl.Body
	}
	if subject, err = render(subjT, data); err != nil {
		return "", "", fmt.Errorf("mail subject: %w", err)
	}
	if body, err = render(bodyT, data); err != nil {
		return "", "", fmt.Errorf("mail body: %w", err)
	}
	return strings.Join(strings.Fields(subject), " "), body, nil
}

func render(text string, data MailData) (string, error) {
	t, err := template.New("mail").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", err
	}
	// A city's template must not be able to produce a huge message ({{range 100000000}}).
	b := &limitedBuffer{max: 64 << 10}
	if err := t.Execute(b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if l.Len()+len(p) > l.max {
		return 0, errors.New("mail text too long")
	}
	return l.Buffer.Write(p)
}

// buildMail renders the outbox row's mail inside the tenant transaction.
func buildMail(ctx context.Context, tx bun.IDB, t *tenant.Tenant, m *OutboxMessage, v *ReservationView, pre *mailPrefetch, env MailEnv, now time.Time) (*MailJob, error) {
	lang := langOrJA(v.Lang)
	data := MailData{
		City: t.Name, Code: v.Code, CodeGrouped: groupCode(v.Code),
		When:  FormatSlot(lang, v.Slot.StartsAt, v.Slot.EndsAt),
		Place: v.Location.Name, Address: v.Location.Address, Guidance: strings.TrimSpace(v.Location.Guidance),
		People: v.PartySize, URL: LoginURL(t.Slug, env.BaseDomain, env.Port), CallCenter: t.Settings.CallCenterPhone,
	}
	if m.Kind == KindChanged {
		var d struct {
			OldStartsAt   time.Time `json:"old_starts_at"`
			OldLocationID uuid.UUID `json:"old_location_id"`
		}
		if err := json.Unmarshal(m.Data, &d); err == nil && !d.OldStartsAt.IsZero() {
			var old Slot
			err := tx.NewSelect().Model(&old).Where("location_id = ? AND starts_at = ?", d.OldLocationID, d.OldStartsAt).Scan(ctx)
			if err == nil {
				data.OldWhen = FormatSlot(lang, old.StartsAt, old.EndsAt)
			} else {
				data.OldWhen = FormatDate(lang, DateOf(d.OldStartsAt)) + d.OldStartsAt.In(JST).Format("15:04")
				if lang == "en" {
					data.OldWhen = FormatDate(lang, DateOf(d.OldStartsAt)) + " " + d.OldStartsAt.In(JST).Format("15:04")
				}
			}
			var loc Location
			if err := tx.NewSelect().Model(&loc).Where("id = ?", d.OldLocationID).Scan(ctx); err == nil {
				data.OldPlace = loc.Name
			}
		}
	}
	override := pre.tpls[tplKey{m.Kind, lang}] // nil: the default wording
	subject, body, err := RenderMail(override, m.Kind, lang, data)
	if err != nil && override != nil {
		// A city's template that no longer renders must not stop the mail: use the default.
		subject, body, err = RenderMail(nil, m.Kind, lang, data)
	}
	if err != nil {
		return nil, err
	}
	from, err := mailFrom(t, env)
	if err != nil {
		return nil, err
	}
	summary := "マイナンバーカードの受け取り（" + t.Name + "）"
	if lang == "en" {
		summary = "My Number Card pickup (" + t.Name + ")"
	}
	// SEQUENCE counts the changes and the cancellation mailed before this message (RFC 5545:
	// a calendar keeps the entry with the highest sequence).
	seq := pre.seqs[m.ID]
	loc := v.Location.Name
	if v.Location.Address != "" {
		loc += ", " + v.Location.Address
	}
	return &MailJob{
		TenantID: t.ID, OutboxID: m.ID, ReservationID: v.ID, Kind: m.Kind, Lang: lang,
		From: from, FromName: t.Name, Subject: subject, Body: body,
		Event: &MailEvent{
			UID: v.ID.String() + "@" + env.BaseDomain, Sequence: seq,
			Stamp: now, Start: v.Slot.StartsAt, End: v.Slot.EndsAt, Summary: summary, Location: loc,
			Description: "予約番号 / Booking code: " + v.Code + "\n" + data.URL, URL: data.URL,
			Cancelled: m.Kind == KindCancelled,
		},
	}, nil
}

type tplKey struct {
	kind OutboxKind
	lang string
}

// mailPrefetch is what the mails of one StartMails transaction read together, a few queries for
// the whole batch instead of several per mail: the reservations' views (without their cards,
// which no mail shows), the city's own templates, and each row's calendar sequence.
type mailPrefetch struct {
	views map[uuid.UUID]*ReservationView // by reservation id
	tpls  map[tplKey]*MailTemplate
	seqs  map[uuid.UUID]int // by outbox id
}

// prefetchMail reads what rows' mails need, inside the tenant transaction.
func prefetchMail(ctx context.Context, tx bun.IDB, rows []*OutboxMessage) (*mailPrefetch, error) {
	pre := &mailPrefetch{views: map[uuid.UUID]*ReservationView{}, tpls: map[tplKey]*MailTemplate{}, seqs: map[uuid.UUID]int{}}
	if len(rows) == 0 {
		return pre, nil
	}
	var resIDs, rowIDs []uuid.UUID
	for _, m := range rows {
		resIDs = append(resIDs, m.ReservationID)
		rowIDs = append(rowIDs, m.ID)
	}
	var res []Reservation
	if err := tx.NewSelect().Model(&res).Where("id IN (?)", bun.List(resIDs)).Scan(ctx); err != nil {
		return nil, err
	}
	locIDs, slotIDs := map[uuid.UUID]bool{}, map[uuid.UUID]bool{}
	for i := range res {
		pre.views[res[i].ID] = &ReservationView{Reservation: res[i]}
		locIDs[res[i].LocationID], slotIDs[res[i].SlotID] = true, true
	}
	if len(res) > 0 {
		var locs []Location
		if err := tx.NewSelect().Model(&locs).Where("id IN (?)", bun.List(keysOf(locIDs))).Scan(ctx); err != nil {
			return nil, err
		}
		var slots []Slot
		if err := tx.NewSelect().Model(&slots).Where("id IN (?)", bun.List(keysOf(slotIDs))).Scan(ctx); err != nil {
			return nil, err
		}
		locByID, slotByID := map[uuid.UUID]Location{}, map[uuid.UUID]Slot{}
		for _, l := range locs {
			locByID[l.ID] = l
		}
		for _, sl := range slots {
			slotByID[sl.ID] = sl
		}
		for id, v := range pre.views {
			l, okL := locByID[v.LocationID]
			sl, okS := slotByID[v.SlotID]
			if !okL || !okS {
				delete(pre.views, id) // read one by one, with loadView's errors
				continue
			}
			v.Location, v.Slot = l, sl
		}
	}
	var tpls []MailTemplate
	if err := tx.NewSelect().Model(&tpls).Scan(ctx); err != nil {
		return nil, err
	}
	for i := range tpls {
		pre.tpls[tplKey{tpls[i].Kind, tpls[i].Lang}] = &tpls[i]
	}
	var seqs []struct {
		ID  uuid.UUID `bun:"id"`
		Seq int       `bun:"seq"`
	}
	if err := tx.NewRaw(`SELECT o.id, (SELECT count(*) FROM outbox x WHERE x.reservation_id = o.reservation_id
			AND x.kind IN ('reservation_changed', 'reservation_cancelled') AND x.seq <= o.seq) AS seq
		FROM outbox o WHERE o.id IN (?)`, bun.List(rowIDs)).Scan(ctx, &seqs); err != nil {
		return nil, err
	}
	for _, x := range seqs {
		pre.seqs[x.ID] = x.Seq
	}
	return pre, nil
}

func keysOf(m map[uuid.UUID]bool) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// mailFrom is the city's sender address when it set a valid one on a domain the vendor allowed
// it (a domain removed since is not used), else the deployment's default.
func mailFrom(t *tenant.Tenant, env MailEnv) (string, error) {
	if a, err := ValidateEmail(t.Settings.MailFrom); err == nil && a != "" && t.SendsFrom(a) {
		return a, nil
	}
	from := env.DefaultFrom
	if from == "" {
		from = "no-reply@" + env.BaseDomain
	}
	a, err := mail.ParseAddress(from)
	if err != nil || a.Name != "" || strings.ContainsAny(from, "\r\n") {
		return "", errors.New("the default sender address is not a plain address")
	}
	return a.Address, nil
}

// LoginURL is where a citizen of the city checks, changes or cancels a booking: https, except
// for BASE_DOMAIN=localhost (the demo), which is plain http with the port.
func LoginURL(slug, baseDomain, port string) string {
	if baseDomain == "localhost" {
		host := slug + ".localhost"
		if port != "" && port != "80" {
			host += ":" + port
		}
		return "http://" + host + "/login"
	}
	return "https://" + slug + "." + baseDomain + "/login"
}

// FormatDate writes a date as 「2026年6月3日（水）」 or "Wed 3 June 2026".
func FormatDate(lang string, d Date) string {
	if lang == "en" {
		return d.Time(12, 0).Format("Mon 2 January 2006")
	}
	return fmt.Sprintf("%d年%d月%d日（%s）", d.Year, d.Month, d.Day, WeekdayJA(d.Weekday()))
}

// FormatSlot writes a time as 「2026年6月3日（水）10:00～10:30」 or "Wed 3 June 2026 10:00–10:30".
func FormatSlot(lang string, start, end time.Time) string {
	if lang == "en" {
		return FormatDate(lang, DateOf(start)) + " " + start.In(JST).Format("15:04") + "–" + end.In(JST).Format("15:04")
	}
	return FormatDate(lang, DateOf(start)) + start.In(JST).Format("15:04") + "～" + end.In(JST).Format("15:04")
}

func groupCode(code string) string {
	if len(code) == 8 {
		return code[:4] + " " + code[4:]
	}
	return code
}

// The built-in templates. Shared fragments keep the four kinds consistent.
const (
	jaVisit = `■予約番号
{{.CodeGrouped}}

■日時
{{.When}}

■人数
{{.People}}名

■場所
{{.Place}}{{if .Address}}
{{.Address}}{{end}}
{{- if .Guidance}}

■ご案内
{{.Guidance}}
{{- end}}
`
	jaManage = `
■予約の確認・変更・取消
交付通知書に記載の製造管理番号（9桁）と生年月日（月日）で、次のページからログインしてください。
{{.URL}}
`
	jaFooter = `{{if .CallCenter}}
■お問い合わせ
{{.City}} マイナンバーカード予約コールセンター
電話 {{.CallCenter}}
{{end}}
――
このメールは送信専用のアドレスからお送りしています。ご返信いただいてもお答えできません。
お心当たりのない場合は、お手数ですがこのメールを破棄してください。
{{.City}}
`
	enVisit = `Booking code
{{.CodeGrouped}}

Date and time
{{.When}} (Japan time)

People
{{.People}}

Place
{{.Place}}{{if .Address}}
{{.Address}}{{end}}
{{- if .Guidance}}

What to bring
{{.Guidance}}
{{- end}}
`
	enManage = `
Check, change or cancel
Log in with the 9-digit number on your notice (交付通知書) and your birthday (month and day):
{{.URL}}
`
	enFooter = `{{if .CallCenter}}
Questions
{{.City}} My Number Card booking call center
Phone {{.CallCenter}}
{{end}}
--
This message was sent from an address that cannot receive replies.
If you did not make this booking, please delete this message.
{{.City}}
`
)

var defaultTemplates = map[string]map[OutboxKind][2]string{
	"ja": {
		KindCreated: {`【{{.City}}】マイナンバーカード受け取りのご予約を受け付けました（予約番号 {{.Code}}）`,
			`マイナンバーカードの受け取りのご予約を受け付けました。
当日は窓口で予約番号をお伝えください。

` + jaVisit + jaManage + jaFooter},
		KindChanged: {`【{{.City}}】マイナンバーカード受け取りのご予約を変更しました（予約番号 {{.Code}}）`,
			`マイナンバーカードの受け取りのご予約を、次のとおり変更しました。
{{if .OldWhen}}
■変更前
{{.OldWhen}}{{if .OldPlace}}
{{.OldPlace}}{{end}}
{{end}}
【変更後のご予約】
` + jaVisit + jaManage + jaFooter},
		KindCancelled: {`【{{.City}}】マイナンバーカード受け取りのご予約を取り消しました（予約番号 {{.Code}}）`,
			`次のマイナンバーカードの受け取りのご予約を取り消しました。

■予約番号
{{.CodeGrouped}}

■日時
{{.When}}

■場所
{{.Place}}

改めてご予約いただく場合は、次のページからログインしてください。
{{.URL}}
` + jaFooter},
		KindReminder: {`【{{.City}}】マイナンバーカード受け取りのご予約日が近づいています（予約番号 {{.Code}}）`,
			`マイナンバーカードの受け取りのご予約日が近づきましたので、お知らせします。
当日は窓口で予約番号をお伝えください。

` + jaVisit + jaManage + jaFooter},
	},
	"en": {
		KindCreated: {`[{{.City}}] Your My Number Card pickup is booked (code {{.Code}})`,
			`Your appointment to pick up your My Number Card is booked.
Please tell the counter your booking code on the day.

` + enVisit + enManage + enFooter},
		KindChanged: {`[{{.City}}] Your My Number Card pickup was changed (code {{.Code}})`,
			`Your appointment to pick up your My Number Card was changed as follows.
{{if .OldWhen}}
Before
{{.OldWhen}}{{if .OldPlace}}
{{.OldPlace}}{{end}}
{{end}}
Now
` + enVisit + enManage + enFooter},
		KindCancelled: {`[{{.City}}] Your My Number Card pickup was cancelled (code {{.Code}})`,
			`The following appointment to pick up your My Number Card was cancelled.

Booking code
{{.CodeGrouped}}

Date and time
{{.When}}

Place
{{.Place}}

To book again, log in here:
{{.URL}}
` + enFooter},
		KindReminder: {`[{{.City}}] Reminder: your My Number Card pickup (code {{.Code}})`,
			`This is a reminder of your appointment to pick up your My Number Card.
Please tell the counter your booking code on the day.

` + enVisit + enManage + enFooter},
	},
}
