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
func (s *Service) ClaimOutbox(ctx context.Context, tenantID uuid.UUID, limit int, lease time.Duration) ([]uuid.UUID, error) {
	rows, err := s.ClaimOutboxRows(ctx, tenantID, limit, lease)
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids, err
}

// OutboxClaim is one row claimed by ClaimOutboxRows.
type OutboxClaim struct {
	ID    uuid.UUID
	Fresh bool // pending: never handed to the queue (else enqueued, its lease ended: a sweep)
}

// ClaimOutboxRows is ClaimOutbox that also says which rows are fresh (never handed to the queue)
// and which are swept (handed over before, still not done): the relay may batch fresh rows, and
// re-queues swept rows under their own task ids.
func (s *Service) ClaimOutboxRows(ctx context.Context, tenantID uuid.UUID, limit int, lease time.Duration) (_ []OutboxClaim, err error) {
	defer tenant.Wrap(&err, "booking.ClaimOutbox(%s)", tenantID)
	var rows []struct {
		ID    uuid.UUID `bun:"id"`
		Fresh bool      `bun:"fresh"`
	}
	err = tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`WITH due AS (
				SELECT id, state FROM outbox
				WHERE state IN ('pending', 'enqueued') AND (lease_until IS NULL OR lease_until < clock_timestamp())
				ORDER BY seq LIMIT ? FOR UPDATE SKIP LOCKED)
			, leased AS (UPDATE outbox o SET lease_until = clock_timestamp() + make_interval(secs => ?), updated_at = ?
				FROM due WHERE o.id = due.id
				RETURNING o.id, o.seq, due.state = 'pending' AS fresh)
			SELECT id, fresh FROM leased ORDER BY seq`, limit, lease.Seconds(), s.now()).Scan(ctx, &rows)
	})
	out := make([]OutboxClaim, len(rows))
	for i, r := range rows {
		out[i] = OutboxClaim{ID: r.ID, Fresh: r.Fresh}
	}
	return out, err
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
	starts, err := s.startMails(ctx, tenantID, []uuid.UUID{outboxID}, env)
	switch {
	case err != nil:
		return nil, "", err
	case starts[0].Busy:
		return nil, "", ErrMailBusy
	}
	return starts[0].Job, starts[0].Note, nil
}

// MailStart is StartMails' answer for one outbox row: a job to send, or a note saying why there
// is nothing to send, or Busy (another worker's send lease is live; try again later).
type MailStart struct {
	OutboxID uuid.UUID
	Job      *MailJob
	Note     string
	Busy     bool
}

// StartMails is StartMail for several rows of one tenant in one transaction (one commit for a
// batch of mails): every row gets StartMail's decision and, when it is to be sent, its own send
// lease in the ledger. The answers come in the order of ids. The rows are locked in id order,
// so two batches sharing rows never deadlock; a row another worker is sending is answered Busy
// and does not hold up the others. An error (the database) leaves nothing written.
func (s *Service) StartMails(ctx context.Context, tenantID uuid.UUID, ids []uuid.UUID, env MailEnv) (_ []MailStart, err error) {
	defer tenant.Wrap(&err, "booking.StartMails(%s, %d rows)", tenantID, len(ids))
	return s.startMails(ctx, tenantID, ids, env)
}

func (s *Service) startMails(ctx context.Context, tenantID uuid.UUID, ids []uuid.UUID, env MailEnv) ([]MailStart, error) {
	if env.Lease <= 0 {
		env.Lease = 2 * time.Minute
	}
	now := s.now()
	var starts []MailStart
	err := tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		starts = make([]MailStart, len(ids)) // a retried transaction starts afresh
		if len(ids) == 0 {
			return nil
		}
		var rows []OutboxMessage
		if err := tx.NewSelect().Model(&rows).Where("id IN (?)", bun.List(ids)).Order("id").For("UPDATE").Scan(ctx); err != nil {
			return err
		}
		byID := make(map[uuid.UUID]*OutboxMessage, len(rows))
		msgIDs := make([]string, 0, len(rows))
		for i := range rows {
			byID[rows[i].ID] = &rows[i]
			msgIDs = append(msgIDs, MessageID(rows[i].ID, env.BaseDomain))
		}
		type ledger struct {
			MessageID string `bun:"message_id"`
			State     string `bun:"state"`
			Live      bool   `bun:"live"`
		}
		var leds []ledger
		if len(msgIDs) > 0 {
			if err := tx.NewRaw("SELECT message_id, state, coalesce(lease_until > clock_timestamp(), false) AS live FROM sent_mail WHERE message_id IN (?)",
				bun.List(msgIDs)).Scan(ctx, &leds); err != nil {
				return fmt.Errorf("read ledger: %w", err)
			}
		}
		ledByID := make(map[string]ledger, len(leds))
		for _, l := range leds {
			ledByID[l.MessageID] = l
		}
		var open []*OutboxMessage
		for i := range rows {
			if rows[i].State == OutboxPending || rows[i].State == OutboxEnqueued {
				open = append(open, &rows[i])
			}
		}
		pre, err := prefetchMail(ctx, tx, open)
		if err != nil {
			return fmt.Errorf("read mails: %w", err)
		}
		var leases []sentMailLease
		var t *tenant.Tenant
		for i, id := range ids {
			st := &starts[i]
			st.OutboxID = id
			m := byID[id]
			if m == nil {
				st.Note = "no such outbox row"
				continue
			}
			if m.State != OutboxPending && m.State != OutboxEnqueued {
				st.Note = "already " + string(m.State)
				continue
			}
			msgID := MessageID(m.ID, env.BaseDomain)
			if led, ok := ledByID[msgID]; ok {
				switch {
				case led.State == "sent":
					st.Note = "already sent (ledger)"
					if err := finishOutbox(ctx, tx, m, OutboxSent, "", now); err != nil {
						return err
					}
					m.State = OutboxSent // the same id twice in one batch: done once
					continue
				case led.Live:
					st.Busy = true
					continue
				}
			}
			if t == nil {
				t = new(tenant.Tenant)
				if err := tx.NewSelect().Model(t).Where("id = ?", tenantID).Scan(ctx); err != nil {
					return fmt.Errorf("read tenant: %w", err)
				}
			}
			job, note, err := startOneMail(ctx, tx, t, m, pre, env, now)
			if err != nil {
				return err
			}
			st.Job, st.Note = job, note
			if job == nil {
				m.State = OutboxSkipped // finished one way or another; a repeated id is not sent
				continue
			}
			job.MessageID = msgID
			leases = append(leases, sentMailLease{TenantID: tenantID, MessageID: msgID, OutboxID: m.ID, State: "sending"})
			ledByID[msgID] = ledger{MessageID: msgID, State: "sending", Live: true} // a repeated id is busy
		}
		if len(leases) == 0 {
			return nil
		}
		// Every mail's own send lease, in one statement.
		_, err = tx.NewInsert().Model(&leases).
			Value("lease_until", "clock_timestamp() + make_interval(secs => ?)", env.Lease.Seconds()).
			On("CONFLICT (tenant_id, message_id) DO UPDATE").
			Set("state = 'sending', lease_until = EXCLUDED.lease_until, attempts = sent_mail.attempts + 1").
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("take send lease: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return starts, nil
}

// sentMailLease is a send lease taken in the sent_mail ledger (state sending).
type sentMailLease struct {
	bun.BaseModel `bun:"table:sent_mail,alias:sent_mail"`

	TenantID  uuid.UUID `bun:"tenant_id,type:uuid"`
	MessageID string    `bun:"message_id"`
	OutboxID  uuid.UUID `bun:"outbox_id,type:uuid"`
	State     string    `bun:"state"`
	// LeaseUntil is set by the insert, on the database clock (shared by every replica).
	LeaseUntil *time.Time `bun:"lease_until"`
}

// startOneMail decides one locked, open row whose ledger holds no sent mark and no live lease:
// finished without sending (skipped or failed, with a note), or a job to send.
func startOneMail(ctx context.Context, tx bun.Tx, t *tenant.Tenant, m *OutboxMessage, pre *mailPrefetch, env MailEnv, now time.Time) (*MailJob, string, error) {
	if t.Training() {
		// A training city's mail is never delivered, to whomever it is addressed: trainees
		// see its wording on the admin's mail pages, and the row says why it was not sent.
		return nil, "skipped: " + TrainingMailNote, finishOutbox(ctx, tx, m, OutboxSkipped, TrainingMailNote, now)
	}
	v := pre.views[m.ReservationID]
	if v == nil {
		var err error
		if v, err = loadView(ctx, tx, m.ReservationID); err != nil {
			return nil, "", err
		}
	}
	if why := staleMail(m, v, now); why != "" {
		return nil, "skipped: " + why, finishOutbox(ctx, tx, m, OutboxSkipped, why, now)
	}
	to := ""
	if v.Email != nil {
		to = *v.Email
	}
	if to == "" {
		return nil, "skipped: no address", finishOutbox(ctx, tx, m, OutboxSkipped, "no address", now)
	}
	// Exactly as stored: an address that only validates once trimmed is refused too.
	if addr, err := ValidateEmail(to); err != nil || addr != to {
		if err := finishOutbox(ctx, tx, m, OutboxFailed, "invalid recipient address", now); err != nil {
			return nil, "", err
		}
		return nil, "refused: the stored address is not exactly one valid address", setMailError(ctx, tx, v.ID, m.Kind, "invalid recipient address", now)
	}
	job, err := buildMail(ctx, tx, t, m, v, pre, env, now)
	if err != nil {
		return nil, "", fmt.Errorf("build mail: %w", err)
	}
	job.To = to
	return job, "", nil
}

// MailSent records that the SMTP server accepted the job's message: the ledger and the outbox
// row say sent, and an earlier delivery error on the reservation is cleared.
func (s *Service) MailSent(ctx context.Context, job *MailJob) (err error) {
	defer tenant.Wrap(&err, "booking.MailSent(%s, %s)", job.TenantID, job.OutboxID)
	return s.RecordMails(ctx, job.TenantID, []MailOutcome{{Job: job, Sent: true}})
}

// MailFailed records a failed attempt and releases the send lease. A final failure (a permanent
// SMTP refusal, or the last retry) marks the row failed and writes reason on the reservation,
// where staff see it; otherwise the row stays open for the next retry.
func (s *Service) MailFailed(ctx context.Context, job *MailJob, final bool, reason string) (err error) {
	defer tenant.Wrap(&err, "booking.MailFailed(%s, %s)", job.TenantID, job.OutboxID)
	return s.RecordMails(ctx, job.TenantID, []MailOutcome{{Job: job, Final: final, Reason: reason}})
}

// MailOutcome is what became of one started job (StartMail, StartMails): Sent (the SMTP server
// accepted it), NotTried (never handed to SMTP: its lease is released, no attempt counted), or
// else a failed attempt, Final or to be retried, with its Reason.
type MailOutcome struct {
	Job      *MailJob
	Sent     bool
	NotTried bool
	Final    bool
	Reason   string
}

// RecordMails records the outcomes of several jobs of one tenant in one durable transaction:
// sent mails as MailSent does, failed attempts as MailFailed does, untried jobs by releasing
// their leases. Either every outcome is recorded or none.
func (s *Service) RecordMails(ctx context.Context, tenantID uuid.UUID, outs []MailOutcome) (err error) {
	defer tenant.Wrap(&err, "booking.RecordMails(%s, %d mails)", tenantID, len(outs))
	now := s.now()
	var sentMsg []string
	var sentRows, sentRes []uuid.UUID
	for _, o := range outs {
		if o.Job.TenantID != tenantID {
			return fmt.Errorf("mail %s belongs to another tenant", o.Job.OutboxID)
		}
		if o.Sent {
			sentMsg = append(sentMsg, o.Job.MessageID)
			sentRows = append(sentRows, o.Job.OutboxID)
			sentRes = append(sentRes, o.Job.ReservationID)
		}
	}
	if len(outs) == 0 {
		return nil
	}
	return tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		if len(sentMsg) > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE sent_mail SET state = 'sent', sent_at = ?, lease_until = NULL
				WHERE message_id IN (?)`, now, bun.List(sentMsg)); err != nil {
				return fmt.Errorf("mark ledger sent: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'sent', lease_until = NULL, attempts = attempts + 1, last_error = '',
				updated_at = ? WHERE id IN (?)`, now, bun.List(sentRows)); err != nil {
				return fmt.Errorf("mark outbox sent: %w", err)
			}
			if _, err := tx.ExecContext(ctx, "UPDATE reservations SET mail_error = '' WHERE id IN (?) AND mail_error <> ''", bun.List(sentRes)); err != nil {
				return fmt.Errorf("clear mail error: %w", err)
			}
		}
		for _, o := range outs {
			if o.Sent {
				continue
			}
			if err := mailNotSent(ctx, tx, o, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// mailNotSent records one outcome other than sent: the lease is released; a tried job counts an
// attempt, and a final failure marks the row failed and tells staff on the reservation.
func mailNotSent(ctx context.Context, tx bun.Tx, o MailOutcome, now time.Time) error {
	job := o.Job
	if _, err := tx.ExecContext(ctx, "DELETE FROM sent_mail WHERE message_id = ? AND state = 'sending'", job.MessageID); err != nil {
		return fmt.Errorf("release send lease: %w", err)
	}
	if o.NotTried {
		return nil
	}
	reason := clip(o.Reason, 500)
	if !o.Final {
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
