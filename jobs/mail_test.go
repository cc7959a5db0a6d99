package jobs_test

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/uptrace/bun"
	gomail "github.com/wneessen/go-mail"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/tenant"
)

var web = tenant.Citizen("")

// TestMailKinds books, changes and cancels in Japanese and books in English with a reminder,
// through a running worker and a real SMTP server, and checks every message received.
func TestMailKinds(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := tenant.NewService(e.d.App).SetMailDomains(ctx, e.ten.Slug, []string{"city.example.lg.jp"}, tenant.System("test"))
	must(t, err)
	must(t, tenant.NewService(e.d.App).UpdateSettings(ctx, e.ten.ID, tenant.Settings{
		CallCenterPhone: "0598-53-4003", MailFrom: "yoyaku@city.example.lg.jp"}))
	e.startWorker(t, "w1")

	first := e.reminderSlot(t)
	day := booking.DateOf(first.StartsAt)
	second := e.slotOn(t, day.AddDays(2))
	// Each step waits for its mail: a confirmation still queued when the booking is cancelled
	// is rightly skipped.
	step := func(n int, what string) {
		t.Helper()
		if !e.sink.Wait(n, 10*time.Second) {
			t.Fatalf("%s: received %d messages, want %d", what, e.sink.Count(), n)
		}
	}
	ja := e.reserve(t, first.ID, "taro@example.jp", "ja")
	step(1, "confirmation")
	if _, err := e.svc.Change(ctx, e.ten, ja.ID, second.ID, uuid.Nil, web); err != nil {
		t.Fatal(err)
	}
	step(2, "change")
	must(t, e.svc.Cancel(ctx, e.ten, ja.ID, web))
	step(3, "cancellation")
	en := e.reserve(t, first.ID, "hanako@example.jp", "en")
	step(4, "English confirmation")
	e.clock.Set(day.AddDays(-1).Time(9, 0))
	if n, err := e.svc.QueueReminders(ctx, e.ten); err != nil || n != 1 {
		t.Fatalf("QueueReminders = %d, %v; want 1", n, err)
	}
	step(5, "reminder")

	kinds := map[string]booking.OutboxMessage{} // Message-ID → row
	for _, r := range []uuid.UUID{ja.ID, en.ID} {
		waitFor(t, 5*time.Second, "outbox rows sent", func() bool {
			for _, m := range e.outbox(t, r) {
				if m.State != booking.OutboxSent {
					return false
				}
			}
			return true
		})
		for _, m := range e.outbox(t, r) {
			kinds["<"+booking.MessageID(m.ID, baseDomain)+">"] = m
		}
	}
	seen := map[booking.OutboxKind]int{}
	for _, m := range e.sink.Messages() {
		for _, b := range m.Data {
			if b >= 0x80 {
				t.Fatalf("message has 8-bit bytes; want MIME-encoded 7-bit:\n%s", m.Data)
			}
		}
		p := parse(t, m.Data)
		row, ok := kinds[p.Header.Get("Message-Id")]
		if !ok {
			t.Fatalf("Message-ID %q is not derived from an outbox row", p.Header.Get("Message-Id"))
		}
		seen[row.Kind]++
		r, slot, lang := ja, second, "ja"
		switch {
		case row.ReservationID == en.ID:
			r, slot, lang = en, first, "en"
		case row.Kind == booking.KindCreated:
			slot = first // sent before the change
		}
		name := string(row.Kind) + "/" + lang
		// Headers.
		if p.From == nil || p.From.Address != "yoyaku@city.example.lg.jp" || p.From.Name != e.ten.Name {
			t.Errorf("%s: From = %v, want %s <yoyaku@city.example.lg.jp>", name, p.From, e.ten.Name)
		}
		if len(p.To) != 1 || p.To[0].Address != *r.Email || len(m.To) != 1 || m.To[0] != *r.Email {
			t.Errorf("%s: To = %v (envelope %v), want exactly %s", name, p.To, m.To, *r.Email)
		}
		if !strings.HasPrefix(p.Header.Get("Subject"), "=?UTF-8?") || !strings.Contains(p.Subject, r.Code) || !strings.Contains(p.Subject, e.ten.Name) {
			t.Errorf("%s: Subject = %q (raw %q)", name, p.Subject, p.Header.Get("Subject"))
		}
		if _, err := mail.ParseDate(p.Header.Get("Date")); err != nil {
			t.Errorf("%s: Date = %q: %v", name, p.Header.Get("Date"), err)
		}
		if p.Header.Get("Mime-Version") != "1.0" || p.Header.Get("Auto-Submitted") != "auto-generated" {
			t.Errorf("%s: MIME-Version %q, Auto-Submitted %q", name, p.Header.Get("Mime-Version"), p.Header.Get("Auto-Submitted"))
		}
		// Body.
		want := []string{r.Code[:4] + " " + r.Code[4:], booking.FormatSlot(lang, slot.StartsAt, slot.EndsAt), e.loc.Name,
			"https://" + e.ten.Slug + "." + baseDomain + "/login", "0598-53-4003"}
		if lang == "ja" {
			want = append(want, "マイナンバーカード", "（"+[]string{"日", "月", "火", "水", "木", "金", "土"}[slot.StartsAt.In(booking.JST).Weekday()]+"）")
		} else {
			want = append(want, "Booking code", "My Number Card")
		}
		if row.Kind == booking.KindChanged {
			want = append(want, booking.FormatSlot(lang, first.StartsAt, first.EndsAt))
		}
		for _, w := range want {
			if !strings.Contains(p.Body, w) {
				t.Errorf("%s: body lacks %q:\n%s", name, w, p.Body)
			}
		}
		for _, card := range []string{"製造管理番号 0", "A-0"} { // no card number, no storage position
			if strings.Contains(p.Body, card) {
				t.Errorf("%s: body shows card data %q", name, card)
			}
		}
		// The .ics attachment.
		cal, err := ics.ParseCalendar(strings.NewReader(p.ICS))
		if err != nil || len(cal.Events()) != 1 {
			t.Fatalf("%s: ICS does not parse (%v):\n%s", name, err, p.ICS)
		}
		ev := cal.Events()[0]
		start, err := ev.GetStartAt()
		end, err2 := ev.GetEndAt()
		if err != nil || err2 != nil || !start.Equal(slot.StartsAt) || !end.Equal(slot.EndsAt) {
			t.Errorf("%s: ICS start %v end %v (%v, %v), want %v–%v", name, start, end, err, err2, slot.StartsAt, slot.EndsAt)
		}
		if uid := ev.Id(); uid != r.ID.String()+"@"+baseDomain {
			t.Errorf("%s: ICS UID = %q", name, uid)
		}
		if loc := ev.GetProperty(ics.ComponentPropertyLocation); loc == nil || !strings.Contains(loc.Value, e.loc.Name) {
			t.Errorf("%s: ICS LOCATION = %v", name, loc)
		}
		wantSeq := map[booking.OutboxKind]string{booking.KindCreated: "0", booking.KindChanged: "1", booking.KindCancelled: "2", booking.KindReminder: "0"}[row.Kind]
		if seq := ev.GetProperty(ics.ComponentPropertySequence); seq == nil || seq.Value != wantSeq {
			t.Errorf("%s: ICS SEQUENCE = %v, want %s", name, seq, wantSeq)
		}
		if strings.Contains(strings.ReplaceAll(p.ICS, "\r\n", ""), "\n") {
			t.Errorf("%s: ICS lines must end in CRLF", name)
		}
		wantMethod := "method=REQUEST"
		if row.Kind == booking.KindCancelled {
			wantMethod = "method=CANCEL"
		}
		if !strings.Contains(p.ICSType, wantMethod) || !strings.Contains(p.ICS, "METHOD:"+strings.TrimPrefix(wantMethod, "method=")) {
			t.Errorf("%s: ICS type %q, want %s", name, p.ICSType, wantMethod)
		}
	}
	for _, k := range booking.MailKinds {
		if seen[k] == 0 {
			t.Errorf("no %s mail received", k)
		}
	}
}

// TestHostileAddressNeverSent: an outbox row whose reservation holds an address that is not
// exactly one plain address (written behind the validator's back) is refused, never sent, and
// staff see why.
func TestHostileAddressNeverSent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	slot := bookingtest.FirstSlot(t, e.svc, e.ten, e.loc, e.clock.Now())
	hostile := []string{"a@example.com\r\nBcc: x@evil.example", "a@example.com, b@example.com", `"x" <a@example.com>`,
		"a@example.com\nBcc:x@evil.example", "a@example.com%0d%0aBcc:x@evil.example"}
	var ids []uuid.UUID
	for _, addr := range hostile {
		r := e.reserve(t, slot.ID, "", "ja") // no address: no outbox row yet
		must(t, tenant.InTx(ctx, e.d.App, e.ten.ID, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "UPDATE reservations SET email = ? WHERE id = ?", addr, r.ID); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO outbox (tenant_id, kind, reservation_id) VALUES (?, 'reservation_created', ?)", e.ten.ID, r.ID)
			return err
		}))
		ids = append(ids, r.ID)
	}
	good := e.reserve(t, slot.ID, "good@example.jp", "ja")
	e.startWorker(t, "w1")
	if !e.sink.Wait(1, 10*time.Second) {
		t.Fatal("the valid booking's mail did not arrive")
	}
	for i, id := range ids {
		waitFor(t, 10*time.Second, "refusal of "+hostile[i], func() bool { return e.outbox(t, id)[0].State == booking.OutboxFailed })
		v, err := e.svc.ReservationByID(ctx, e.ten, id)
		if err != nil || !strings.Contains(v.MailError, "invalid recipient") {
			t.Errorf("mail_error for %q = %q, %v", hostile[i], v.MailError, err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	msgs := e.sink.Messages()
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != *good.Email {
		t.Errorf("sink received %d messages (%v), want only the valid one", len(msgs), msgs)
	}
}

// TestSMTPDownRetriedDeliveredOnce: with the SMTP server down the mail task fails and is
// retried with backoff; once the server is back the mail arrives exactly once.
func TestSMTPDownRetriedDeliveredOnce(t *testing.T) {
	e := newEnv(t)
	addr := e.smtp
	e.sink.Close()
	e.startWorker(t, "w1")
	slot := bookingtest.FirstSlot(t, e.svc, e.ten, e.loc, e.clock.Now())
	r := e.reserve(t, slot.ID, "taro@example.jp", "ja")
	waitFor(t, 10*time.Second, "two failed attempts", func() bool { return e.outbox(t, r.ID)[0].Attempts >= 2 })
	if row := e.outbox(t, r.ID)[0]; row.State == booking.OutboxSent || row.State == booking.OutboxFailed || row.LastError == "" {
		t.Fatalf("while SMTP is down: state %s, last error %q", row.State, row.LastError)
	}
	e.startSink(t, addr)
	if !e.sink.Wait(1, 15*time.Second) {
		t.Fatal("mail not delivered after the SMTP server came back")
	}
	waitFor(t, 5*time.Second, "outbox sent", func() bool { return e.outbox(t, r.ID)[0].State == booking.OutboxSent })
	time.Sleep(1500 * time.Millisecond) // longer than the retry backoff: a duplicate would show
	if n := e.sink.Count(); n != 1 {
		t.Errorf("received %d copies, want 1", n)
	}
}

// TestPermanentFailureRecorded: a 5xx refusal is not retried; the outbox row fails, the
// reservation shows the error to staff, and the task stays in asynq's archive.
func TestPermanentFailureRecorded(t *testing.T) {
	e := newEnv(t)
	e.sink.RejectRcpt = func(addr string) error {
		if strings.HasPrefix(addr, "nobody@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
		}
		return nil
	}
	e.startWorker(t, "w1")
	slot := bookingtest.FirstSlot(t, e.svc, e.ten, e.loc, e.clock.Now())
	r := e.reserve(t, slot.ID, "nobody@example.jp", "ja")
	waitFor(t, 10*time.Second, "outbox failed", func() bool { return e.outbox(t, r.ID)[0].State == booking.OutboxFailed })
	row := e.outbox(t, r.ID)[0]
	v, err := e.svc.ReservationByID(context.Background(), e.ten, r.ID)
	if err != nil || !strings.Contains(v.MailError, "550") || row.Attempts != 1 {
		t.Errorf("mail_error %q (%v), attempts %d; want the 550 after one attempt", v.MailError, err, row.Attempts)
	}
	insp := asynq.NewInspectorFromRedisClient(e.redis.Client(t))
	waitFor(t, 5*time.Second, "archived task", func() bool {
		ti, err := insp.GetTaskInfo(jobs.QueueMail, jobs.MailTaskID(row.ID))
		return err == nil && ti.State == asynq.TaskStateArchived
	})
	// The mail library's error names the recipient; the archive and the row keep it masked.
	ti, err := insp.GetTaskInfo(jobs.QueueMail, jobs.MailTaskID(row.ID))
	must(t, err)
	for what, text := range map[string]string{"archived task error": ti.LastErr, "outbox error": row.LastError, "mail_error": v.MailError} {
		if strings.Contains(text, "nobody@") || !strings.Contains(text, "550") {
			t.Errorf("%s = %q, want the 550 with the address masked", what, text)
		}
	}
	if e.sink.Count() != 0 {
		t.Errorf("sink received %d messages, want 0", e.sink.Count())
	}
}

// TestMailHandlerIdempotent runs the handler twice for one row, as asynq may after a lease
// expiry or a relay crash between enqueue and mark: one mail.
func TestMailHandlerIdempotent(t *testing.T) {
	e := newEnv(t)
	slot := bookingtest.FirstSlot(t, e.svc, e.ten, e.loc, e.clock.Now())
	r := e.reserve(t, slot.ID, "taro@example.jp", "ja")
	row := e.outbox(t, r.ID)[0]
	mailer, err := jobs.NewSMTPMailer("smtp://" + e.smtp)
	must(t, err)
	defer mailer.Close()
	h := &jobs.Handlers{Log: e.log, Booking: e.svc, Tenants: tenant.NewDirectory(tenant.NewService(e.d.App), 0), Mailer: mailer,
		MailEnv: booking.MailEnv{BaseDomain: baseDomain}}
	task, err := jobs.NewMailSendTask(jobs.MailPayload{TenantID: e.ten.ID, OutboxID: row.ID})
	must(t, err)
	for i := range 3 {
		if err := h.HandleMailSend(context.Background(), task); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if n := e.sink.Count(); n != 1 {
		t.Errorf("received %d messages, want 1", n)
	}
	// An undecodable payload is never retried.
	err = h.HandleMailSend(context.Background(), asynq.NewTask(jobs.TypeMailSend, []byte("{not json")))
	if !errors.Is(err, asynq.SkipRetry) {
		t.Errorf("undecodable payload: err = %v, want SkipRetry", err)
	}
}

// TestSMTPRequireSTARTTLS: with ?starttls=required nothing is sent to a server that offers no
// STARTTLS (the test sink); without it the same mail goes out in clear, as before.
func TestSMTPRequireSTARTTLS(t *testing.T) {
	e := newEnv(t)
	if _, err := jobs.NewSMTPMailer("smtp://" + e.smtp + "?starttls=maybe"); err == nil {
		t.Error("starttls=maybe accepted")
	}
	msg := func() *gomail.Msg {
		m := gomail.NewMsg()
		must(t, m.From("noreply@"+baseDomain))
		must(t, m.To("taro@example.jp"))
		m.Subject("test")
		m.SetBodyString(gomail.TypeTextPlain, "test")
		return m
	}
	strict, err := jobs.NewSMTPMailer("smtp://" + e.smtp + "?starttls=required")
	must(t, err)
	defer strict.Close()
	if err := strict.Send(context.Background(), msg()); err == nil || e.sink.Count() != 0 {
		t.Fatalf("sent without TLS although required: err %v, sink %d", err, e.sink.Count())
	}
	loose, err := jobs.NewSMTPMailer("smtp://" + e.smtp)
	must(t, err)
	defer loose.Close()
	must(t, loose.Send(context.Background(), msg()))
}
