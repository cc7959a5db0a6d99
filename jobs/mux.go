package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// Handlers holds the dependencies of every task handler; cmd/madoguchi builds it (through
// Worker).
type Handlers struct {
	Log     *slog.Logger
	Booking *booking.Service
	Tenants *tenant.Directory
	Mailer  Mailer
	MailEnv booking.MailEnv
	Metrics *Metrics
	// OutboxKeep is how long finished outbox rows of past visits are kept (default 180 days).
	OutboxKeep time.Duration
}

// NewServeMux registers every task handler on one mux, with logging and metrics middleware.
func NewServeMux(h *Handlers) *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.Use(h.logMiddleware)
	mux.HandleFunc(TypeMailSend, h.HandleMailSend)
	mux.HandleFunc(TypeMailBatch, h.HandleMailBatch)
	mux.HandleFunc(TypeRemindersQueue, h.HandleRemindersQueue)
	mux.HandleFunc(TypeHoldsRelease, h.HandleHoldsRelease)
	mux.HandleFunc(TypeSlotsGenerate, h.HandleSlotsGenerate)
	mux.HandleFunc(TypeOutboxCleanup, h.HandleOutboxCleanup)
	mux.HandleFunc(TypeRetentionApply, h.HandleRetentionApply)
	mux.HandleFunc(TypeFleetFigures, h.HandleFleetFigures)
	mux.HandleFunc(TypeTrainingReset, h.HandleTrainingReset)
	mux.HandleFunc(TypeImportValidate, h.HandleImportValidate)
	mux.HandleFunc(TypeImportCommit, h.HandleImportCommit)
	return mux
}

func (h *Handlers) logMiddleware(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		start := time.Now()
		err := next.ProcessTask(ctx, t)
		id, _ := asynq.GetTaskID(ctx)
		retry, _ := asynq.GetRetryCount(ctx)
		h.Metrics.task(t.Type(), err, time.Since(start))
		switch {
		case err != nil && isBusy(err):
			h.Log.Debug("task postponed", "type", t.Type(), "task_id", id, "err", err)
		case err != nil:
			h.Log.Warn("task failed", "type", t.Type(), "task_id", id, "retry", retry, "elapsed", time.Since(start), "err", err)
		default:
			h.Log.Debug("task done", "type", t.Type(), "task_id", id, "elapsed", time.Since(start))
		}
		return err
	})
}

// tenantOf returns the tenant of a payload; a tenant that no longer exists ends the task.
func (h *Handlers) tenantOf(ctx context.Context, t *asynq.Task) (*tenant.Tenant, error) {
	var p TenantPayload
	if err := decode(t, &p); err != nil {
		return nil, err
	}
	return h.tenant(ctx, p.TenantID)
}

// tenant returns the tenant with id; an unknown id ends the task without retries.
func (h *Handlers) tenant(ctx context.Context, id uuid.UUID) (*tenant.Tenant, error) {
	t, err := h.Tenants.Get(ctx, id)
	if tenant.ErrorCode(err) == tenant.NotFound {
		return nil, fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return t, err
}

// HandleRemindersQueue writes the tenant's due reminders to the outbox (the relay sends them).
func (h *Handlers) HandleRemindersQueue(ctx context.Context, t *asynq.Task) error {
	tn, err := h.tenantOf(ctx, t)
	if err != nil {
		return err
	}
	n, err := h.Booking.QueueReminders(ctx, tn)
	if n > 0 {
		h.Log.Info("reminders queued", "tenant", tn.Slug, "count", n)
	}
	return err
}

// HandleHoldsRelease returns the places of the tenant's expired holds.
func (h *Handlers) HandleHoldsRelease(ctx context.Context, t *asynq.Task) error {
	tn, err := h.tenantOf(ctx, t)
	if err != nil {
		return err
	}
	_, err = h.Booking.ReleaseExpiredHolds(ctx, tn)
	return err
}

// HandleSlotsGenerate materialises the tenant's slots over its horizon.
func (h *Handlers) HandleSlotsGenerate(ctx context.Context, t *asynq.Task) error {
	tn, err := h.tenantOf(ctx, t)
	if err != nil {
		return err
	}
	return h.Booking.GenerateSlots(ctx, tn)
}

// HandleOutboxCleanup deletes the tenant's finished outbox rows of past visits after the
// retention period.
func (h *Handlers) HandleOutboxCleanup(ctx context.Context, t *asynq.Task) error {
	tn, err := h.tenantOf(ctx, t)
	if err != nil {
		return err
	}
	keep := h.OutboxKeep
	if keep <= 0 {
		keep = 180 * 24 * time.Hour
	}
	n, err := h.Booking.CleanupOutbox(ctx, tn.ID, keep)
	if n > 0 {
		h.Log.Info("outbox cleaned", "tenant", tn.Slug, "deleted", n)
	}
	return err
}

// HandleRetentionApply is the tenant's nightly data hygiene (see README,
// 'Mail and background jobs'): it marks the bookings of past days nobody came to as no_show,
// freeing their cards, then removes personal data past the city's retention periods. It logs and
// counts how many rows changed, never what they held. Both steps are idempotent, so a retried or
// repeated task does no harm.
func (h *Handlers) HandleRetentionApply(ctx context.Context, t *asynq.Task) error {
	tn, err := h.tenantOf(ctx, t)
	if err != nil {
		return err
	}
	now := h.Booking.Now()
	ns, err := h.Booking.MarkNoShows(ctx, tn, now)
	if err != nil {
		return err
	}
	rc, err := h.Booking.ApplyRetention(ctx, tn, now)
	if err != nil {
		return err
	}
	h.Metrics.retention(ns, rc)
	h.Log.Info("retention applied", "tenant", tn.Slug, "no_show_reservations", ns.Reservations, "no_show_cards", ns.Cards,
		"names", rc.Names, "emails", rc.Emails, "mail_errors", rc.MailErrors, "cards", rc.Pseudonyms, "imports", rc.Imports, "stuck_imports", rc.StuckImports)
	return nil
}

// HandleFleetFigures counts the tenant's figures for the vendor's fleet overview inside the
// tenant's scope and writes them to the global fleet_days table (counts only).
func (h *Handlers) HandleFleetFigures(ctx context.Context, t *asynq.Task) error {
	tn, err := h.tenantOf(ctx, t)
	if err != nil {
		return err
	}
	return h.Booking.UpdateFleetFigures(ctx, tn)
}

// HandleTrainingReset puts a training city (研修用) back to its fresh state: the practice
// bookings, cards and audit log of the day are replaced by new fictitious ones
// (booking.Service.ResetTraining, as the system). The scheduler enqueues it for training cities
// only; a real city's task does nothing.
func (h *Handlers) HandleTrainingReset(ctx context.Context, t *asynq.Task) error {
	tn, err := h.tenantOf(ctx, t)
	if err != nil {
		return err
	}
	if !tn.Training() {
		return nil
	}
	if err := h.Booking.ResetTraining(ctx, tn, tenant.System("training-reset")); err != nil {
		return err
	}
	h.Log.Info("training city reset", "tenant", tn.Slug)
	return nil
}
