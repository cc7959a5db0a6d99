package jobs_test

import (
	"bytes"
	"context"
	"mime"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// TestMailCalendarITIP sends every kind of citizen mail in both languages — confirmation,
// change, reminder and cancellation of a Japanese and an English booking — through a running
// worker and a real SMTP server, and reads each message as a mail program would: the MIME
// structure with net/mail and mime/multipart, the Subject unfolded the way parsers that keep a
// folded line's whitespace do (it must not start with a space), and the .ics with an iCalendar
// parser, checking what a calendar program relies on (RFC 5545 and iTIP, RFC 5546): METHOD
// REQUEST for booking, change and reminder and CANCEL for the cancellation, matching the MIME
// method; ORGANIZER (the city's From) and ATTENDEE (the citizen, RSVP=FALSE) in both; the same
// UID for every message of a booking; a SEQUENCE that rises with the change and the
// cancellation; DTSTART/DTEND of the slot; STATUS.
func TestMailCalendarITIP(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const from = "yoyaku@city.example.lg.jp"
	_, err := tenant.NewService(e.d.App).SetMailDomains(ctx, e.ten.Slug, []string{"city.example.lg.jp"}, tenant.System("test"))
	must(t, err)
	must(t, tenant.NewService(e.d.App).UpdateSettings(ctx, e.ten.ID, tenant.Settings{MailFrom: from}))
	e.startWorker(t, "w1")

	first := e.reminderSlot(t)
	second := e.slotOn(t, booking.DateOf(first.StartsAt).AddDays(2))
	wait := func(n int, what string) {
		t.Helper()
		if !e.sink.Wait(n, 15*time.Second) {
			t.Fatalf("%s: received %d messages, want %d", what, e.sink.Count(), n)
		}
	}
	langs := []string{"ja", "en"}
	res := map[string]*booking.Reservation{}
	for _, lang := range langs {
		res[lang] = e.reserve(t, first.ID, "citizen-"+lang+"@example.jp", lang)
	}
	wait(2, "confirmations")
	for _, lang := range langs {
		if _, err := e.svc.Change(ctx, e.ten, res[lang].ID, second.ID, uuid.Nil, web); err != nil {
			t.Fatal(err)
		}
	}
	wait(4, "changes")
	e.clock.Set(booking.DateOf(second.StartsAt).AddDays(-1).Time(booking.ReminderHour(e.ten), 0))
	if n, err := e.svc.QueueReminders(ctx, e.ten); err != nil || n != 2 {
		t.Fatalf("QueueReminders = %d, %v; want 2", n, err)
	}
	wait(6, "reminders")
	for _, lang := range langs {
		must(t, e.svc.Cancel(ctx, e.ten, res[lang].ID, web))
	}
	wait(8, "cancellations")

	// Outbox rows by Message-ID, to know each message's kind and order.
	type rowInfo struct {
		kind booking.OutboxKind
		id   uuid.UUID
		lang string
	}
	rows := map[string]rowInfo{}
	for _, lang := range langs {
		waitFor(t, 5*time.Second, "outbox rows sent", func() bool {
			for _, m := range e.outbox(t, res[lang].ID) {
				if m.State != booking.OutboxSent {
					return false
				}
			}
			return true
		})
		for _, m := range e.outbox(t, res[lang].ID) {
			rows["<"+booking.MessageID(m.ID, baseDomain)+">"] = rowInfo{m.Kind, m.ID, lang}
		}
	}
	type calInfo struct {
		seq int
		uid string
	}
	byLang := map[string]map[uuid.UUID]calInfo{"ja": {}, "en": {}}
	seen := map[string]bool{}
	wantMethod := map[booking.OutboxKind]string{booking.KindCreated: "REQUEST", booking.KindChanged: "REQUEST",
		booking.KindReminder: "REQUEST", booking.KindCancelled: "CANCEL"}
	for _, m := range e.sink.Messages() {
		p := parse(t, m.Data)
		row, ok := rows[p.Header.Get("Message-Id")]
		if !ok {
			t.Fatalf("Message-ID %q is not an outbox row's", p.Header.Get("Message-Id"))
		}
		r := res[row.lang]
		name := string(row.kind) + "/" + row.lang
		seen[name] = true

		// The Subject as a parser that keeps a folded line's leading whitespace reads it.
		subject := rawSubject(t, m.Data)
		if subject != strings.TrimSpace(subject) || !strings.Contains(subject, r.Code) || !strings.Contains(subject, e.ten.Name) {
			t.Errorf("%s: Subject decodes to %q; want no leading or trailing space, the code and the city", name, subject)
		}
		head, _, _ := bytes.Cut(m.Data, []byte("\r\n\r\n"))
		for _, l := range strings.Split(string(head), "\r\n") {
			if len(l) > 78 {
				t.Errorf("%s: header line of %d characters (RFC 5322: at most 78): %q", name, len(l), l)
			}
		}
		if p.Subject != subject {
			t.Errorf("%s: net/mail reads the Subject as %q, an unfolding parser as %q", name, p.Subject, subject)
		}
		marker := map[string]string{"ja": "マイナンバーカード", "en": "My Number Card"}[row.lang]
		if !strings.Contains(p.Body, marker) || p.Header.Get("Content-Language") != row.lang {
			t.Errorf("%s: body or Content-Language (%q) is not in its language:\n%s", name, p.Header.Get("Content-Language"), p.Body)
		}

		// The calendar object.
		cal, err := ics.ParseCalendar(strings.NewReader(p.ICS))
		if err != nil || len(cal.Events()) != 1 {
			t.Fatalf("%s: .ics does not parse into one event (%v):\n%s", name, err, p.ICS)
		}
		method := ""
		for _, cp := range cal.CalendarProperties {
			if cp.IANAToken == string(ics.PropertyMethod) {
				method = cp.Value
			}
		}
		_, params, _ := mime.ParseMediaType(p.ICSType)
		if method != wantMethod[row.kind] || params["method"] != method {
			t.Errorf("%s: METHOD %q, MIME method %q; want %s", name, method, params["method"], wantMethod[row.kind])
		}
		ev := cal.Events()[0]
		org := ev.GetProperty(ics.ComponentPropertyOrganizer)
		if org == nil || !strings.EqualFold(org.Value, "mailto:"+from) || first1(org.ICalParameters["CN"]) != e.ten.Name {
			t.Errorf("%s: ORGANIZER = %+v, want CN=%s:mailto:%s (the From)", name, org, e.ten.Name, from)
		}
		if p.From == nil || p.From.Address != from {
			t.Errorf("%s: From = %v, want %s", name, p.From, from)
		}
		att := ev.Attendees()
		if len(att) != 1 || !strings.EqualFold(att[0].Email(), *r.Email) || !strings.EqualFold(first1(att[0].ICalParameters["RSVP"]), "FALSE") {
			t.Errorf("%s: ATTENDEE = %+v, want exactly the citizen %s with RSVP=FALSE", name, att, *r.Email)
		}
		slot := second
		if row.kind == booking.KindCreated {
			slot = first
		}
		start, err1 := ev.GetStartAt()
		end, err2 := ev.GetEndAt()
		if err1 != nil || err2 != nil || !start.Equal(slot.StartsAt) || !end.Equal(slot.EndsAt) {
			t.Errorf("%s: DTSTART %v DTEND %v (%v, %v); want %v–%v", name, start, end, err1, err2, slot.StartsAt, slot.EndsAt)
		}
		if ev.GetProperty(ics.ComponentPropertyDtstamp) == nil {
			t.Errorf("%s: no DTSTAMP", name)
		}
		status := ev.GetProperty(ics.ComponentPropertyStatus)
		wantStatus := map[bool]string{true: "CANCELLED", false: "CONFIRMED"}[row.kind == booking.KindCancelled]
		if status == nil || status.Value != wantStatus {
			t.Errorf("%s: STATUS = %v, want %s", name, status, wantStatus)
		}
		seqProp := ev.GetProperty(ics.ComponentPropertySequence)
		if seqProp == nil {
			t.Fatalf("%s: no SEQUENCE", name)
		}
		seq, err := strconv.Atoi(seqProp.Value)
		if err != nil {
			t.Fatalf("%s: SEQUENCE %q", name, seqProp.Value)
		}
		byLang[row.lang][row.id] = calInfo{seq: seq, uid: ev.Id()}
		if ev.Id() != r.ID.String()+"@"+baseDomain {
			t.Errorf("%s: UID = %q, want %s@%s", name, ev.Id(), r.ID, baseDomain)
		}
	}
	for _, lang := range langs {
		for _, k := range booking.MailKinds {
			if !seen[string(k)+"/"+lang] {
				t.Errorf("no %s mail in %s", k, lang)
			}
		}
		// In outbox order: one UID; SEQUENCE never falls, and rises with the change and the cancellation.
		var last calInfo
		for i, m := range e.outbox(t, res[lang].ID) {
			c := byLang[lang][m.ID]
			if i > 0 {
				rises := m.Kind == booking.KindChanged || m.Kind == booking.KindCancelled
				if c.uid != last.uid || c.seq < last.seq || (rises && c.seq <= last.seq) {
					t.Errorf("%s: %s has UID %s SEQUENCE %d after UID %s SEQUENCE %d", lang, m.Kind, c.uid, c.seq, last.uid, last.seq)
				}
			}
			last = c
		}
	}
}

// rawSubject unfolds the Subject header by removing only the line breaks (RFC 5322 2.2.3, as
// Python's email package does, keeping the whitespace that starts a folded line) and decodes it.
func rawSubject(t *testing.T, raw []byte) string {
	t.Helper()
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	m := regexp.MustCompile(`(?m)^Subject:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)`).FindSubmatch(head)
	if m == nil {
		t.Fatalf("no Subject header:\n%s", head)
	}
	// Leading whitespace on the Subject line itself belongs to the syntax; a folded line's is kept.
	line, rest, _ := strings.Cut(string(m[1]), "\r\n")
	value := strings.TrimLeft(line, " \t") + strings.ReplaceAll(rest, "\r\n", "")
	s, err := new(mime.WordDecoder).DecodeHeader(value)
	if err != nil {
		t.Fatalf("Subject %q: %v", value, err)
	}
	return s
}

func first1(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
