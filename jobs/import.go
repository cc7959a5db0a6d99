package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/madoguchi/madoguchi/tenant"
)

// Import task types (queue import). The payload names the job only; the file travels in
// PostgreSQL (import_jobs.file_bytes), never through Redis or local disk.
const (
	TypeImportValidate = "import:validate" // parse and stage an uploaded card CSV, store the preview
	TypeImportCommit   = "import:commit"   // write the cards of a validated, confirmed import
	importMaxRetry     = 5
	importTaskTimeout  = 15 * time.Minute // 400,000 rows at a tenth of the measured rate
	importRetention    = 24 * time.Hour
)

// ImportPayload names one import job of one tenant.
type ImportPayload struct {
	TenantID uuid.UUID `json:"tenant_id"`
	ImportID uuid.UUID `json:"import_id"`
}

// NewImportTask returns the typ task (TypeImportValidate or TypeImportCommit) of one job, with a
// task id unique to type and job: enqueueing it twice is refused while the first exists.
func NewImportTask(typ string, p ImportPayload) (*asynq.Task, error) {
	if p.TenantID == uuid.Nil || p.ImportID == uuid.Nil {
		return nil, fmt.Errorf("import task without tenant or import id")
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(typ, b, asynq.Queue(QueueImport), asynq.TaskID(typ+":"+p.ImportID.String()),
		asynq.MaxRetry(importMaxRetry), asynq.Retention(importRetention), asynq.Timeout(importTaskTimeout)), nil
}

// ImportQueue enqueues import tasks for the web process (ui.ImportQueue).
type ImportQueue struct {
	client *asynq.Client
}

// NewImportQueue returns an ImportQueue on the shared go-redis client; Close releases nothing
// the caller owns.
func NewImportQueue(rdb redis.UniversalClient) *ImportQueue {
	return &ImportQueue{client: asynq.NewClientFromRedisClient(rdb)}
}

// EnqueueImportValidate queues the validation of an uploaded job.
func (q *ImportQueue) EnqueueImportValidate(ctx context.Context, tenantID, importID uuid.UUID) error {
	return q.enqueue(ctx, TypeImportValidate, tenantID, importID)
}

// EnqueueImportCommit queues the commit of a job an admin confirmed.
func (q *ImportQueue) EnqueueImportCommit(ctx context.Context, tenantID, importID uuid.UUID) error {
	return q.enqueue(ctx, TypeImportCommit, tenantID, importID)
}

func (q *ImportQueue) enqueue(ctx context.Context, typ string, tenantID, importID uuid.UUID) error {
	t, err := NewImportTask(typ, ImportPayload{TenantID: tenantID, ImportID: importID})
	if err != nil {
		return err
	}
	_, err = q.client.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil // already queued: the handler is idempotent anyway
	}
	return err
}

// HandleImportValidate validates one uploaded job (booking.RunImportValidate: a repeated task
// finds the job validated and does nothing).
func (h *Handlers) HandleImportValidate(ctx context.Context, t *asynq.Task) error {
	tn, p, err := h.importOf(ctx, t)
	if err != nil {
		return err
	}
	return h.Booking.RunImportValidate(ctx, tn, p.ImportID)
}

// HandleImportCommit writes the cards of a confirmed job (booking.RunImportCommit: the job's end
// is stored with the cards, so a repeated task does nothing).
func (h *Handlers) HandleImportCommit(ctx context.Context, t *asynq.Task) error {
	tn, p, err := h.importOf(ctx, t)
	if err != nil {
		return err
	}
	res := h.Booking.RunImportCommit(ctx, tn, p.ImportID)
	if res == nil {
		h.Log.Info("cards import committed", "tenant", tn.Slug, "import", p.ImportID)
	}
	return res
}

func (h *Handlers) importOf(ctx context.Context, t *asynq.Task) (*tenant.Tenant, ImportPayload, error) {
	var p ImportPayload
	if err := decode(t, &p); err != nil {
		return nil, p, err
	}
	tn, err := h.tenant(ctx, p.TenantID)
	return tn, p, err
}
