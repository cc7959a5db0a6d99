package jobs

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/wneessen/go-mail"

	"github.com/madoguchi/madoguchi/booking"
)

// HandleMailSend sends the mail of one outbox row, at most once by effect:
//
//  1. booking.StartMail locks the row in the tenant scope, consults the sent_mail ledger (already
//     sent: mark the row sent and stop; another worker's live lease: retry later), drops mail
//     that no longer applies, re-validates the stored address, renders the message and takes
//     the send lease, all in one short transaction;
//  2. the message goes to SMTP outside any transaction;
//  3. booking.MailSent marks ledger and row sent; a permanent refusal (5xx) or the last retry
//     marks the row failed and records the reason on the reservation for staff
//     (booking.MailFailed); a temporary failure is retried with backoff.
//
// SMTP itself cannot be exactly-once: a crash between the server's 250 and step 3 sends the
// message again after the lease, with the same Message-ID. A rush goes through HandleMailBatch;
// this handler sends a lone row and every row the relay re-queues.
func (h *Handlers) HandleMailSend(ctx context.Context, t *asynq.Task) error {
	var p MailPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	job, note, err := h.Booking.StartMail(ctx, p.TenantID, p.OutboxID, h.mailEnv())
	if errors.Is(err, booking.ErrMailBusy) {
		return errBusy
	}
	if err != nil {
		return fmt.Errorf("prepare mail %s: %w", p.OutboxID, err)
	}
	if job == nil {
		h.Metrics.mail("", note)
		h.Log.Info("mail not sent", "tenant_id", p.TenantID, "outbox_id", p.OutboxID, "why", note)
		return nil
	}
	// Bookkeeping must survive a cancelled task context (shutdown, timeout).
	bg := context.WithoutCancel(ctx)
	msg, err := BuildMessage(job, h.Booking.Now()) // the Date header, on the service clock
	if err != nil {
		h.Metrics.mail(job.Kind, "refused")
		reason := booking.MaskEmails(err.Error())
		if ferr := h.Booking.MailFailed(bg, job, true, "message refused before sending: "+reason); ferr != nil {
			return ferr
		}
		return fmt.Errorf("build mail %s: %s: %w", job.OutboxID, reason, asynq.SkipRetry)
	}
	sendErr := h.Mailer.Send(ctx, msg)
	if sendErr == nil {
		if err := retryDB(bg, func() error { return h.Booking.MailSent(bg, job) }); err != nil {
			return fmt.Errorf("record sent mail %s: %w", job.OutboxID, err)
		}
		h.Metrics.mail(job.Kind, "sent")
		return nil
	}
	permanent := IsPermanent(sendErr)
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, ok := asynq.GetMaxRetry(ctx)
	last := ok && retried >= maxRetry
	// The mail library's error text names the recipient; what is kept (the outbox row, the task's
	// error in asynq's archive, the worker's log) has it masked.
	reason := booking.MaskEmails(sendErr.Error())
	if err := h.Booking.MailFailed(bg, job, permanent || last, reason); err != nil {
		h.Log.Error("record mail failure", "outbox_id", job.OutboxID, "err", err)
	}
	if permanent {
		h.Metrics.mail(job.Kind, "failed")
		return fmt.Errorf("send mail %s: %s: %w", job.OutboxID, reason, asynq.SkipRetry)
	}
	h.Metrics.mail(job.Kind, "retry")
	return fmt.Errorf("send mail %s (attempt %d): %s", job.OutboxID, retried+1, reason)
}

func (h *Handlers) mailEnv() booking.MailEnv {
	env := h.MailEnv
	if env.Lease == 0 {
		env.Lease = mailSendLease
	}
	return env
}

// BuildMessage turns a job into a MIME message: UTF-8 plain text, B-encoded subject and names,
// Date, a Message-ID derived from the outbox row, exactly one recipient, and the visit as an
// .ics attachment. It refuses a recipient that is not exactly one plain address.
func BuildMessage(job *booking.MailJob, now time.Time) (*mail.Msg, error) {
	to, err := booking.ValidateEmail(job.To)
	if err != nil || to == "" || to != job.To {
		return nil, errors.New("recipient is not exactly one valid address")
	}
	m := mail.NewMsg(mail.WithCharset(mail.CharsetUTF8), mail.WithEncoding(mail.EncodingB64), mail.WithNoDefaultUserAgent())
	if err := m.FromFormat(job.FromName, job.From); err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	if err := m.To(to); err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	if len(m.GetToString()) != 1 {
		return nil, errors.New("recipient is not exactly one address")
	}
	m.SetGenHeaderPreformatted(mail.HeaderSubject, EncodeSubject(job.Subject))
	m.SetDateWithValue(now.In(booking.JST))
	m.SetMessageIDWithValue(job.MessageID)
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetGenHeader(mail.HeaderXAutoResponseSuppress, "All")
	m.SetGenHeader(mail.HeaderContentLang, job.Lang)
	m.SetBodyString(mail.TypeTextPlain, job.Body)
	if job.Event != nil {
		ics, method, err := RenderICS(job.Event, job.FromName, job.From, to)
		if err != nil {
			return nil, err
		}
		ct := mail.ContentType("text/calendar; charset=utf-8; method=" + method)
		if err := m.AttachReader("reservation.ics", bytes.NewReader(ics), mail.WithFileContentType(ct)); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// EncodeSubject B-encodes a subject (RFC 2047) as UTF-8 encoded words folded so that the first
// word starts on the Subject line itself. go-mail's own folding put a line break right after
// "Subject:" when the first word did not fit, and parsers that keep the whitespace of a folded
// line (Python's email package, some mail programs) then showed the subject with a leading
// space. Each line stays within 76 characters and no character is split between two words.
func EncodeSubject(s string) string {
	const (
		wrap      = len("=?UTF-8?B?") + len("?=")
		firstLine = 76 - len("Subject: ")
		nextLine  = 76 - len(" ")
	)
	var b strings.Builder
	budget := (firstLine - wrap) / 4 * 3 // raw bytes that fit in one word on this line
	for len(s) > 0 || b.Len() == 0 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n+size > budget {
				break
			}
			n += size
		}
		if b.Len() > 0 {
			b.WriteString("\r\n ")
		}
		b.WriteString("=?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte(s[:n])) + "?=")
		s = s[n:]
		budget = (nextLine - wrap) / 4 * 3
	}
	return b.String()
}

var errBusy = fmt.Errorf("%w", booking.ErrMailBusy)

func isBusy(err error) bool { return errors.Is(err, booking.ErrMailBusy) }

// retryDB runs fn up to three times with a short pause: recording a sent mail must not fail on a
// momentary database hiccup, or the mail would be sent again after its lease.
func retryDB(ctx context.Context, fn func() error) error {
	var err error
	for i := range 3 {
		if err = fn(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(i+1) * 500 * time.Millisecond):
		}
	}
	return err
}

// mailBatchMax bounds the rows of one batch task (the relay makes them of Relay.MailBatch).
const mailBatchMax = 500

// HandleMailBatch sends the mails of a batch of one tenant's fresh outbox rows with the
// guarantees of HandleMailSend for each mail, in three steps instead of three per mail:
//
//  1. booking.StartMails decides every row and takes each mail's own send lease in the ledger,
//     in one transaction (one commit for the batch);
//  2. the messages go out one after another on the Mailer's kept connection, outside any
//     transaction;
//  3. a recorder commits the outcomes while the batch is still sending: whatever arrived since
//     its last commit goes into the next one (booking.RecordMails, durable). A mail accepted by
//     the server is recorded about one commit later, as a single mail is, so a worker killed
//     mid-batch repeats at most the mails of the commit in flight, after their leases — never
//     the whole batch — and loses none (every unrecorded row is still open and leased).
//
// Each mail keeps its own outcome: a refused recipient (5xx) fails only its row, recorded on its
// reservation; a temporary refusal (4xx) is counted on its row and retried. A failed connection
// stops the batch, as does a cancelled context (shutdown, timeout): the rows not tried get their
// leases back at once, uncounted. A batch with rows to retry returns an error, and asynq retries
// it with backoff; the retry starts only the rows still open. Rows another worker is sending
// (its lease is live) are left to it and retried like a busy single mail.
func (h *Handlers) HandleMailBatch(ctx context.Context, t *asynq.Task) error {
	var p MailBatchPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	if len(p.OutboxIDs) == 0 || len(p.OutboxIDs) > mailBatchMax {
		return fmt.Errorf("mail batch of %d rows: %w", len(p.OutboxIDs), asynq.SkipRetry)
	}
	starts, err := h.Booking.StartMails(ctx, p.TenantID, p.OutboxIDs, h.mailEnv())
	if err != nil {
		return fmt.Errorf("prepare mail batch: %w", err)
	}
	var toSend []*booking.MailJob
	busy := 0
	for _, st := range starts {
		switch {
		case st.Busy:
			busy++
		case st.Job == nil:
			h.Metrics.mail("", st.Note)
			h.Log.Info("mail not sent", "tenant_id", p.TenantID, "outbox_id", st.OutboxID, "why", st.Note)
		default:
			toSend = append(toSend, st.Job)
		}
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, ok := asynq.GetMaxRetry(ctx)
	last := ok && retried >= maxRetry
	// Bookkeeping must survive a cancelled task context (shutdown, timeout).
	rec := h.startMailRecorder(context.WithoutCancel(ctx), p.TenantID, len(toSend))
	var retry []string
	stopped := false
	for _, job := range toSend {
		if stopped || ctx.Err() != nil {
			stopped = true
			rec.add(booking.MailOutcome{Job: job, NotTried: true}, "")
			continue
		}
		msg, err := BuildMessage(job, h.Booking.Now()) // the Date header, on the service clock
		if err != nil {
			reason := booking.MaskEmails(err.Error())
			rec.add(booking.MailOutcome{Job: job, Final: true, Reason: "message refused before sending: " + reason}, "refused")
			continue
		}
		sendErr := h.Mailer.Send(ctx, msg)
		if sendErr == nil {
			rec.add(booking.MailOutcome{Job: job, Sent: true}, "sent")
			continue
		}
		permanent := IsPermanent(sendErr)
		// The mail library's error text names the recipient; what is kept has it masked.
		reason := booking.MaskEmails(sendErr.Error())
		outcome := "retry"
		if permanent || last {
			outcome = "failed"
		}
		rec.add(booking.MailOutcome{Job: job, Final: permanent || last, Reason: reason}, outcome)
		if !permanent {
			retry = append(retry, job.OutboxID.String()+": "+reason)
			if !isReply(sendErr) {
				stopped = true // the server is unreachable: the rest would fail the same way
			}
		}
	}
	if err := rec.wait(); err != nil {
		return fmt.Errorf("record mail batch: %w", err)
	}
	switch {
	case len(retry) > 0:
		return fmt.Errorf("send mail batch (attempt %d): %d of %d mails to retry, first %s", retried+1, len(retry), len(toSend), retry[0])
	case stopped && ctx.Err() != nil:
		return fmt.Errorf("mail batch stopped: %w", context.Cause(ctx))
	case stopped:
		return errors.New("mail batch stopped before its end")
	case busy > 0:
		return fmt.Errorf("%d of %d mails: %w", busy, len(starts), errBusy)
	}
	return nil
}

// isReply reports whether err is the SMTP server's reply to this message (its recipient, its
// content), not a failed connection.
func isReply(err error) bool {
	var se *mail.SendError
	return errors.As(err, &se) && se.ErrorCode() >= 400
}

// mailRecorder commits a batch's outcomes in groups while the batch is still sending: each commit
// takes every outcome that arrived during the previous one.
type mailRecorder struct {
	ch   chan recorded
	done chan struct{}
	err  error
}

type recorded struct {
	o      booking.MailOutcome
	metric string // the outcome counted once it is recorded; "" for none
}

func (h *Handlers) startMailRecorder(ctx context.Context, tenantID uuid.UUID, n int) *mailRecorder {
	r := &mailRecorder{ch: make(chan recorded, n), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for first := range r.ch {
			group := []recorded{first}
		more:
			for {
				select {
				case x, ok := <-r.ch:
					if !ok {
						break more
					}
					group = append(group, x)
				default:
					break more
				}
			}
			outs := make([]booking.MailOutcome, len(group))
			for i, x := range group {
				outs[i] = x.o
			}
			// A failed group does not stop the next one: each outcome recorded is a mail that is
			// not sent again.
			if err := retryDB(ctx, func() error { return h.Booking.RecordMails(ctx, tenantID, outs) }); err != nil {
				h.Log.Error("record mail outcomes", "tenant_id", tenantID, "mails", len(outs), "err", err)
				r.err = err
				continue
			}
			for _, x := range group {
				if x.metric != "" {
					h.Metrics.mail(x.o.Job.Kind, x.metric)
				}
			}
		}
	}()
	return r
}

func (r *mailRecorder) add(o booking.MailOutcome, metric string) {
	r.ch <- recorded{o: o, metric: metric}
}

// wait closes the recorder and returns once every outcome is committed (or failed to be).
func (r *mailRecorder) wait() error {
	close(r.ch)
	<-r.done
	return r.err
}
