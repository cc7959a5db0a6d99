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
// message again after the lease, with the same Message-ID.
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
