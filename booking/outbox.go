package booking

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// The outbox: every mail is a row written in the transaction of the change it reports
// (insertOutbox). A relay claims rows by state (never by "last id": ids are not committed in
// order), hands each to the job queue with a task id derived from the row, and marks it
// enqueued; the mail handler sends it once, guarded by the sent_mail ledger, and marks it sent,
// failed or skipped. Rows stuck in enqueued beyond their lease are claimed again (the queue may
// have lost them); the deterministic task id and the ledger make that safe.

// OutboxState is where an outbox row is in its life.
type OutboxState string

// Outbox states.
const (
	OutboxPending  OutboxState = "pending"  // written, not yet handed to the queue
	OutboxEnqueued OutboxState = "enqueued" // handed to the queue; re-handed when its lease expires
	OutboxSent     OutboxState = "sent"     // accepted by the SMTP server
	OutboxFailed   OutboxState = "failed"   // refused for good; reservations.mail_error says why
	OutboxSkipped  OutboxState = "skipped"  // no longer worth sending (cancelled, moved, past)
)

// OutboxMessage is one row of the outbox.
type OutboxMessage struct {
	bun.BaseModel `bun:"table:outbox"`

	TenantID      uuid.UUID       `bun:"tenant_id,pk,type:uuid"`
	ID            uuid.UUID       `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	Kind          OutboxKind      `bun:"kind,notnull"`
	ReservationID uuid.UUID       `bun:"reservation_id,type:uuid,notnull"`
	Data          json.RawMessage `bun:"data,type:jsonb,notnull"`
	State         OutboxState     `bun:"state,notnull"`
	Attempts      int             `bun:"attempts,notnull"`
	LeaseUntil    *time.Time      `bun:"lease_until"`
	LastError     string          `bun:"last_error,notnull"`
	CreatedAt     time.Time       `bun:"created_at,notnull,default:current_timestamp"`
	UpdatedAt     time.Time       `bun:"updated_at,notnull,default:current_timestamp"`
}

// Now returns the service's clock reading (the jobs use the same clock as the bookings).
func (s *Service) Now() time.Time { return s.now() }

// ClaimOutbox claims up to limit of the tenant's rows that are due for the queue: pending rows
// not leased by another relay, and enqueued rows whose lease expired. It leases them for lease
// (so concurrent relays skip them) in a short transaction of its own, using FOR UPDATE SKIP
// LOCKED, and returns their ids oldest first. Leases use the database clock, shared by every
// replica.
func (s *Service) ClaimOutbox(ctx context.Context, tenantID uuid.UUID, limit int, lease time.Duration) (_ []uuid.UUID, err error) {
	defer tenant.Wrap(&err, "booking.ClaimOutbox(%s)", tenantID)
	var ids []uuid.UUID
	err = tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`WITH due AS (
				SELECT id FROM outbox
				WHERE state IN ('pending', 'enqueued') AND (lease_until IS NULL OR lease_until < clock_timestamp())
				ORDER BY seq LIMIT ? FOR UPDATE SKIP LOCKED)
			, leased AS (UPDATE outbox o SET lease_until = clock_timestamp() + make_interval(secs => ?), updated_at = ?
				FROM due WHERE o.id = due.id
				RETURNING o.id, o.seq)
			SELECT id FROM leased ORDER BY seq`, limit, lease.Seconds(), s.now()).Scan(ctx, &ids)
	})
	return ids, err
}

// MarkOutboxEnqueued records that the queue accepted the rows; if they are still not done after
// sweepAfter, ClaimOutbox returns them again. Rows the mail handler already finished keep their
// state.
func (s *Service) MarkOutboxEnqueued(ctx context.Context, tenantID uuid.UUID, ids []uuid.UUID, sweepAfter time.Duration) (err error) {
	defer tenant.Wrap(&err, "booking.MarkOutboxEnqueued(%s)", tenantID)
	if len(ids) == 0 {
		return nil
	}
	return tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'enqueued', lease_until = clock_timestamp() + make_interval(secs => ?),
			updated_at = ? WHERE id IN (?) AND state IN ('pending', 'enqueued')`, sweepAfter.Seconds(), s.now(), bun.List(ids))
		return err
	})
}

// ReleaseOutbox drops the lease of rows the relay could not hand to the queue (Redis down), so
// the next pass retries them at once.
func (s *Service) ReleaseOutbox(ctx context.Context, tenantID uuid.UUID, ids []uuid.UUID) (err error) {
	defer tenant.Wrap(&err, "booking.ReleaseOutbox(%s)", tenantID)
	if len(ids) == 0 {
		return nil
	}
	return tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET lease_until = NULL WHERE id IN (?) AND state IN ('pending', 'enqueued')`, bun.List(ids))
		return err
	})
}

// OutboxBacklog returns how many of the tenant's rows are not done yet and when the oldest was
// written (zero time when none).
func (s *Service) OutboxBacklog(ctx context.Context, tenantID uuid.UUID) (n int, oldest time.Time, err error) {
	defer tenant.Wrap(&err, "booking.OutboxBacklog(%s)", tenantID)
	err = tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		var o sql.NullTime
		if err := tx.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM outbox WHERE state IN ('pending', 'enqueued')`).Scan(&n, &o); err != nil {
			return err
		}
		oldest = o.Time
		return nil
	})
	return n, oldest, err
}

// OutboxByID returns one outbox row, or not_found.
func (s *Service) OutboxByID(ctx context.Context, tenantID, id uuid.UUID) (_ *OutboxMessage, err error) {
	defer tenant.Wrap(&err, "booking.OutboxByID(%s, %s)", tenantID, id)
	var m OutboxMessage
	err = tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		return tenant.DBError(tx.NewSelect().Model(&m).Where("id = ?", id).Scan(ctx))
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// CleanupOutbox deletes finished outbox rows (and their ledger entries) older than keep whose
// visit is over, in batches, and returns how many it deleted. Reminder rows live until the
// visit is over, so they keep guarding against a second reminder.
func (s *Service) CleanupOutbox(ctx context.Context, tenantID uuid.UUID, keep time.Duration) (_ int, err error) {
	defer tenant.Wrap(&err, "booking.CleanupOutbox(%s)", tenantID)
	total := 0
	for {
		var n int
		err := tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewRaw(`WITH gone AS (DELETE FROM outbox WHERE id IN (
					SELECT o.id FROM outbox o JOIN reservations r ON r.id = o.reservation_id
					WHERE o.state IN ('sent', 'failed', 'skipped') AND o.created_at < ? AND r.starts_at < ?
					LIMIT 1000) RETURNING 1)
				SELECT count(*) FROM gone`, s.now().Add(-keep), s.now()).Scan(ctx, &n)
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < 1000 {
			return total, nil
		}
	}
}

// MailEnv is what a mail needs from the deployment: the domain the cities are served under, the
// public port (only for BASE_DOMAIN=localhost, where the demo runs on a port) and the sender to
// use when the city set none.
type MailEnv struct {
	BaseDomain  string
	Port        string        // appended to links when BaseDomain is localhost, e.g. "8080"
	DefaultFrom string        // "" means no-reply@{BaseDomain}
	Lease       time.Duration // how long one SMTP attempt may take before another worker may retry (default 2 min)
}

// MailJob is one message ready for SMTP, built from the outbox row, the reservation and the
// city's templates inside the tenant scope. It carries exactly one recipient, validated again
// just before sending.
type MailJob struct {
	TenantID      uuid.UUID
	OutboxID      uuid.UUID
	ReservationID uuid.UUID
	Kind          OutboxKind
	MessageID     string // without angle brackets; stable across retries
	From          string // address only
	FromName      string // the city's name
	To            string
	Lang          string
	Subject       string
	Body          string
	Event         *MailEvent // the visit as a calendar event (.ics)
}

// TrainingMailNote is why a training city's mail was not sent (the outbox row's last error).
const TrainingMailNote = "training city: never delivered"

// ErrMailBusy is returned by StartMail while another worker holds the send lease of the same
// message; the caller retries later.
var ErrMailBusy = errors.New("mail is being sent by another worker")

// StartMail prepares the outbox row's message and takes the send lease in the sent_mail ledger.
// It returns a nil job and a note saying why when there is nothing to send: the row is already
// done, the ledger says the message went out (the row is then marked sent), the mail is no
// longer relevant (marked skipped: a cancelled or moved reservation, a past visit; any mail of
// a training city, which is never delivered: TrainingMailNote), or the
// stored address is not exactly one valid address (marked failed, never sent). It returns
// ErrMailBusy while another worker's lease is live.
func (s *Service) StartMail(ctx context.Context, tenantID, outboxID uuid.UUID, env MailEnv) (job *MailJob, note string, err error) {
	defer tenant.Wrap(&err, "booking.StartMail(%s, %s)", tenantID, outboxID)
	if env.Lease <= 0 {
		env.Lease = 2 * time.Minute
	}
	now := s.now()
	err = tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		var m OutboxMessage
		if err := tx.NewSelect().Model(&m).Where("id = ?", outboxID).For("UPDATE").Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				note = "no such outbox row"
				return nil
			}
			return err
		}
		if m.State != OutboxPending && m.State != OutboxEnqueued {
			note = "already " + string(m.State)
			return nil
		}
		msgID := MessageID(m.ID, env.BaseDomain)
		var led struct {
			State string
			Live  bool
		}
		err := tx.QueryRowContext(ctx, "SELECT state, coalesce(lease_until > clock_timestamp(), false) FROM sent_mail WHERE message_id = ?", msgID).Scan(&led.State, &led.Live)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("read ledger: %w", err)
		case led.State == "sent":
			note = "already sent (ledger)"
			return finishOutbox(ctx, tx, &m, OutboxSent, "", now)
		case led.Live:
			return ErrMailBusy
		}
		var t tenant.Tenant
		if err := tx.NewSelect().Model(&t).Where("id = ?", tenantID).Scan(ctx); err != nil {
			return fmt.Errorf("read tenant: %w", err)
		}
		if t.Training() {
			// A training city's mail is never delivered, to whomever it is addressed: trainees
			// see its wording on the admin's mail pages, and the row says why it was not sent.
			note = "skipped: " + TrainingMailNote
			return finishOutbox(ctx, tx, &m, OutboxSkipped, TrainingMailNote, now)
		}
		v, err := loadView(ctx, tx, m.ReservationID)
		if err != nil {
			return err
		}
		if why := staleMail(&m, v, now); why != "" {
			note = "skipped: " + why
			return finishOutbox(ctx, tx, &m, OutboxSkipped, why, now)
		}
		to := ""
		if v.Email != nil {
			to = *v.Email
		}
		if to == "" {
			note = "skipped: no address"
			return finishOutbox(ctx, tx, &m, OutboxSkipped, "no address", now)
		}
		// Exactly as stored: an address that only validates once trimmed is refused too.
		if addr, err := ValidateEmail(to); err != nil || addr != to {
			note = "refused: the stored address is not exactly one valid address"
			if err := finishOutbox(ctx, tx, &m, OutboxFailed, "invalid recipient address", now); err != nil {
				return err
			}
			return setMailError(ctx, tx, v.ID, m.Kind, "invalid recipient address", now)
		}
		job, err = buildMail(ctx, tx, &t, &m, v, env, now)
		if err != nil {
			return fmt.Errorf("build mail: %w", err)
		}
		job.To, job.MessageID = to, msgID
		_, err = tx.ExecContext(ctx, `INSERT INTO sent_mail (tenant_id, message_id, outbox_id, state, lease_until)
			VALUES (?, ?, ?, 'sending', clock_timestamp() + make_interval(secs => ?))
			ON CONFLICT (tenant_id, message_id) DO UPDATE SET state = 'sending', lease_until = EXCLUDED.lease_until,
				attempts = sent_mail.attempts + 1`, tenantID, msgID, m.ID, env.Lease.Seconds())
		if err != nil {
			return fmt.Errorf("take send lease: %w", err)
		}
		return nil
	})
	if err != nil {
		job = nil
	}
	return job, note, err
}

// MailSent records that the SMTP server accepted the job's message: the ledger and the outbox
// row say sent, and an earlier delivery error on the reservation is cleared.
func (s *Service) MailSent(ctx context.Context, job *MailJob) (err error) {
	defer tenant.Wrap(&err, "booking.MailSent(%s, %s)", job.TenantID, job.OutboxID)
	now := s.now()
	return tenant.InTx(ctx, s.db, job.TenantID, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE sent_mail SET state = 'sent', sent_at = ?, lease_until = NULL
			WHERE message_id = ?`, now, job.MessageID); err != nil {
			return fmt.Errorf("mark ledger sent: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'sent', lease_until = NULL, attempts = attempts + 1, last_error = '',
			updated_at = ? WHERE id = ?`, now, job.OutboxID); err != nil {
			return fmt.Errorf("mark outbox sent: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE reservations SET mail_error = '' WHERE id = ? AND mail_error <> ''", job.ReservationID); err != nil {
			return fmt.Errorf("clear mail error: %w", err)
		}
		return nil
	})
}

// MailFailed records a failed attempt and releases the send lease. A final failure (a permanent
// SMTP refusal, or the last retry) marks the row failed and writes reason on the reservation,
// where staff see it; otherwise the row stays open for the next retry.
func (s *Service) MailFailed(ctx context.Context, job *MailJob, final bool, reason string) (err error) {
	defer tenant.Wrap(&err, "booking.MailFailed(%s, %s)", job.TenantID, job.OutboxID)
	reason = clip(reason, 500)
	now := s.now()
	return tenant.InTx(ctx, s.db, job.TenantID, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM sent_mail WHERE message_id = ? AND state = 'sending'", job.MessageID); err != nil {
			return fmt.Errorf("release send lease: %w", err)
		}
		if !final {
			_, err := tx.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = ?, updated_at = ?
				WHERE id = ?`, reason, now, job.OutboxID)
			return err
		}
		m := OutboxMessage{ID: job.OutboxID}
		if _, err := tx.ExecContext(ctx, "UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", job.OutboxID); err != nil {
			return fmt.Errorf("count attempt: %w", err)
		}
		if err := finishOutbox(ctx, tx, &m, OutboxFailed, reason, now); err != nil {
			return fmt.Errorf("mark outbox failed: %w", err)
		}
		if err := setMailError(ctx, tx, job.ReservationID, job.Kind, reason, now); err != nil {
			return fmt.Errorf("set mail error: %w", err)
		}
		return nil
	})
}

// MessageID derives a message's Message-ID (without angle brackets) from its outbox row, so
// every retry sends the same id and a duplicate is recognisable.
func MessageID(outboxID uuid.UUID, baseDomain string) string {
	return outboxID.String() + "@" + baseDomain
}

// staleMail says why a mail should no longer be sent, or "".
func staleMail(m *OutboxMessage, v *ReservationView, now time.Time) string {
	if m.Kind != KindCancelled && v.Status == Cancelled {
		return "reservation cancelled"
	}
	if m.Kind != KindCancelled && !v.StartsAt.After(now) {
		return "visit already started"
	}
	if m.Kind == KindReminder {
		var d struct {
			StartsAt time.Time `json:"starts_at"`
		}
		if err := json.Unmarshal(m.Data, &d); err != nil || !d.StartsAt.Equal(v.StartsAt) {
			return "reservation moved"
		}
		if v.Status != Booked {
			return "reservation not active"
		}
	}
	return ""
}

func finishOutbox(ctx context.Context, tx bun.IDB, m *OutboxMessage, st OutboxState, lastError string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE outbox SET state = ?, lease_until = NULL, last_error = ?, updated_at = ?
		WHERE id = ?`, st, clip(lastError, 500), now, m.ID)
	return err
}

// setMailError records on the reservation, for staff, that a mail could not be delivered.
func setMailError(ctx context.Context, tx bun.IDB, reservationID uuid.UUID, kind OutboxKind, reason string, now time.Time) error {
	msg := clip(fmt.Sprintf("%s %s: %s", now.In(JST).Format("2006-01-02 15:04"), kind, reason), 500)
	_, err := tx.ExecContext(ctx, "UPDATE reservations SET mail_error = ? WHERE id = ?", msg, reservationID)
	return err
}

// clip shortens s to at most n runes and removes line breaks.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
