package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/tenant"
)

// TestImportTasks runs the real worker on a throwaway Redis: an uploaded file is validated by
// import:validate (preview, nothing written), committed by import:commit after the admin's
// request, and a second enqueue of either task changes nothing. Progress is visible while the
// commit runs.
func TestImportTasks(t *testing.T) {
	e := newEnv(t)
	w := e.startWorker(t, "w1")
	ctx := context.Background()
	q := jobs.NewImportQueue(e.redis.Client(t))
	admin := tenant.Staff(uuid.Nil, "imp.admin", "192.0.2.1")

	var b strings.Builder
	b.WriteString("個人番号,製造管理番号,生年月日,氏名\n")
	const rows = 30000
	for i := range rows {
		fmt.Fprintf(&b, "123456789019,8%08d,1990-03-12,松阪 太郎\n", i)
	}
	b.WriteString("123456789019,899999999,1990-02-30,悪い 日付\n")
	j, err := e.svc.CreateImportJob(ctx, e.ten.ID, admin, "cards.csv", []byte(b.String()))
	must(t, err)
	must(t, q.EnqueueImportValidate(ctx, e.ten.ID, j.ID))
	must(t, q.EnqueueImportValidate(ctx, e.ten.ID, j.ID)) // a double click: one task

	job := func() *booking.ImportJob {
		got, err := e.svc.ImportJob(ctx, e.ten.ID, j.ID)
		must(t, err)
		return got
	}
	waitFor(t, 60*time.Second, "validated", func() bool { return job().State == booking.ImportValidated })
	if got := job(); got.New != rows || got.Rejected != 1 || got.RowErrors[0].Line != rows+2 {
		t.Fatalf("preview = new %d, rejected %d, errors %+v; want %d new, 1 rejected at line %d", got.New, got.Rejected, got.RowErrors, rows, rows+2)
	}
	must(t, e.svc.RequestImportCommit(ctx, e.ten.ID, j.ID, admin))
	must(t, q.EnqueueImportCommit(ctx, e.ten.ID, j.ID))
	var sawProgress bool
	waitFor(t, 60*time.Second, "done", func() bool {
		got := job()
		sawProgress = sawProgress || (got.State == booking.ImportCommitting && got.ProgressDone > 0 && got.ProgressDone < rows)
		return got.State == booking.ImportDone
	})
	if got := job(); got.New != rows || got.Changed != 0 || got.Rejected != 1 || got.ProgressDone != rows {
		t.Fatalf("result = %+v", got)
	}
	if !sawProgress {
		t.Log("no intermediate progress seen (the commit was faster than the poll)")
	}
	// Run again (a retry, or a second worker): the job stays done, nothing is imported twice.
	for _, typ := range []string{jobs.TypeImportValidate, jobs.TypeImportCommit} {
		task, err := jobs.NewImportTask(typ, jobs.ImportPayload{TenantID: e.ten.ID, ImportID: j.ID})
		must(t, err)
		if err := w.Mux.ProcessTask(ctx, task); err != nil {
			t.Fatalf("%s again = %v, want a no-op", typ, err)
		}
	}
	if got := job(); got.State != booking.ImportDone || got.New != rows {
		t.Fatalf("after repeated tasks: %+v", got)
	}
	if n := e.historyCount(t); n != rows {
		t.Fatalf("import history rows = %d, want %d", n, rows)
	}
	// A payload that cannot be decoded is not retried.
	if err := w.Mux.ProcessTask(ctx, asynq.NewTask(jobs.TypeImportCommit, []byte("{"))); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("bad payload = %v, want SkipRetry", err)
	}
}

func (e *env) historyCount(t *testing.T) int {
	t.Helper()
	var n int
	must(t, tenant.InTx(context.Background(), e.d.App, e.ten.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT count(*) FROM card_status_history WHERE channel = 'import'").Scan(ctx, &n)
	}))
	return n
}
