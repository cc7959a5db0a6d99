package jobs

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
)

// Task types.
const (
	TypeMailSend        = "mail:send"         // one outbox row → one mail (queue mail)
	TypeMailBatch       = "mail:batch"        // fresh outbox rows of one tenant → their mails (queue mail)
	TypeRemindersQueue  = "reminders:queue"   // write the tenant's due reminders to the outbox
	TypeHoldsRelease    = "holds:release"     // return the places of the tenant's expired holds
	TypeSlotsGenerate   = "slots:generate"    // materialise the tenant's slots over its horizon
	TypeOutboxCleanup   = "outbox:cleanup"    // delete the tenant's old finished outbox rows
	TypeRetentionApply  = "retention:apply"   // mark no-shows, remove personal data past retention
	TypeFleetFigures    = "fleet:figures"     // count the tenant's figures for the vendor's fleet overview
	TypeTrainingReset   = "training:reset"    // put a training city back to its fresh state (nightly)
	MailMaxRetry        = 20                  // with the default backoff: about a day
	periodicMaxRetry    = 3                   // the next tick repeats the work anyway
	mailRetention       = 24 * time.Hour      // a finished mail task keeps its id this long
	periodicRetention   = 2 * time.Hour       // a finished periodic task keeps its id this long
	mailTaskTimeout     = 2 * time.Minute     // one SMTP attempt, bookkeeping included
	periodicTaskTimeout = 10 * time.Minute    // slot generation over the horizon of a big city
	mailSendLease       = 2 * mailTaskTimeout // the ledger lease: after it, a crashed send is retried
)

// MailPayload names one outbox row. It never carries an address, a name or the text.
type MailPayload struct {
	TenantID uuid.UUID `json:"tenant_id"`
	OutboxID uuid.UUID `json:"outbox_id"`
}

// MailBatchPayload names fresh outbox rows of one tenant, sent by one task. It never carries an
// address, a name or the text.
type MailBatchPayload struct {
	TenantID  uuid.UUID   `json:"tenant_id"`
	OutboxIDs []uuid.UUID `json:"outbox_ids"`
}

// MailBatchTaskID is the asynq task id of a batch: the relay claiming the same rows again after
// a crash between enqueue and mark builds the same batch, which asynq then refuses.
func MailBatchTaskID(p MailBatchPayload) string {
	h := sha256.New()
	for _, id := range p.OutboxIDs {
		h.Write(id[:])
	}
	return fmt.Sprintf("mail:batch:%s:%x", p.OutboxIDs[0], h.Sum(nil)[:8])
}

// NewMailBatchTask returns the task that sends the mails of a batch of outbox rows, on the mail
// queue, with the retries, retention and timeout of a single mail: a retry sends only the rows
// still open.
func NewMailBatchTask(p MailBatchPayload) (*asynq.Task, error) {
	if p.TenantID == uuid.Nil || len(p.OutboxIDs) == 0 {
		return nil, fmt.Errorf("mail batch task without tenant or outbox ids")
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeMailBatch, b, asynq.Queue(QueueMail), asynq.TaskID(MailBatchTaskID(p)),
		asynq.MaxRetry(MailMaxRetry), asynq.Retention(mailRetention), asynq.Timeout(mailTaskTimeout)), nil
}

// TenantPayload names a tenant for periodic work and the tick it belongs to (for logs).
type TenantPayload struct {
	TenantID uuid.UUID `json:"tenant_id"`
	Tick     time.Time `json:"tick"`
}

// MailTaskID is the asynq task id of an outbox row's mail: enqueueing the same row twice is
// refused by asynq with ErrTaskIDConflict while the first task exists.
func MailTaskID(outboxID uuid.UUID) string { return "mail:" + outboxID.String() }

// NewMailSendTask returns the task that sends the outbox row's mail, on the mail queue, with its
// deterministic task id, retries with backoff and a retention that keeps the id after success.
func NewMailSendTask(p MailPayload) (*asynq.Task, error) {
	if p.TenantID == uuid.Nil || p.OutboxID == uuid.Nil {
		return nil, fmt.Errorf("mail task without tenant or outbox id")
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeMailSend, b, asynq.Queue(QueueMail), asynq.TaskID(MailTaskID(p.OutboxID)),
		asynq.MaxRetry(MailMaxRetry), asynq.Retention(mailRetention), asynq.Timeout(mailTaskTimeout)), nil
}

// NewTenantTask returns a periodic task of type typ for one tenant and tick, with a task id
// unique to job, tenant and tick.
func NewTenantTask(typ string, p TenantPayload) (*asynq.Task, error) {
	if p.TenantID == uuid.Nil {
		return nil, fmt.Errorf("%s task without tenant id", typ)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	id := fmt.Sprintf("%s:%s:%d", typ, p.TenantID, p.Tick.Unix())
	return asynq.NewTask(typ, b, asynq.Queue(QueueDefault), asynq.TaskID(id),
		asynq.MaxRetry(periodicMaxRetry), asynq.Retention(periodicRetention), asynq.Timeout(periodicTaskTimeout)), nil
}

// decode unmarshals a payload; a payload that cannot be decoded is never retried.
func decode(t *asynq.Task, v any) error {
	if err := json.Unmarshal(t.Payload(), v); err != nil {
		return fmt.Errorf("decode %s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	return nil
}
