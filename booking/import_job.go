package booking

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// ImportMaxFileBytes is the largest card CSV the staff admin accepts (about 400,000 J-LIS rows).
const ImportMaxFileBytes = 50 << 20

// ImportMaxRowErrors is how many rejected rows an import job keeps (line and reason); the total is
// always counted.
const ImportMaxRowErrors = 1000

// ImportState is where an import job is. The web process creates it uploaded; the worker
// validates it (a preview: nothing written); an admin commits or cancels it; the worker commits.
type ImportState string

// Import job states.
const (
	ImportUploaded   ImportState = "uploaded"
	ImportValidating ImportState = "validating"
	ImportValidated  ImportState = "validated"
	ImportCommitting ImportState = "committing"
	ImportDone       ImportState = "done"
	ImportFailed     ImportState = "failed"
	ImportCancelled  ImportState = "cancelled"
)

// Busy reports whether the worker has work to do on the job (the page polls while it does).
func (s ImportState) Busy() bool {
	return s == ImportUploaded || s == ImportValidating || s == ImportCommitting
}

// ImportJob is one uploaded card CSV and what became of it. The file's bytes are never loaded
// with it (see importJobColumns) and are deleted once the job has ended.
type ImportJob struct {
	bun.BaseModel `bun:"table:import_jobs"`

	TenantID      uuid.UUID    `bun:"tenant_id,pk,type:uuid"`
	ID            uuid.UUID    `bun:"id,pk,type:uuid"`
	UploadedBy    string       `bun:"uploaded_by,notnull"`
	FileName      string       `bun:"file_name,notnull"`
	FileSize      int64        `bun:"file_size,notnull"`
	State         ImportState  `bun:"state,notnull"`
	ProgressDone  int          `bun:"progress_done,notnull"`
	ProgressTotal int          `bun:"progress_total,notnull"`
	New           int          `bun:"new_count,notnull"`
	Changed       int          `bun:"changed_count,notnull"`
	Unchanged     int          `bun:"unchanged_count,notnull"`
	Rejected      int          `bun:"rejected_count,notnull"`
	Linked        int          `bun:"linked_count,notnull"`
	RowErrors     []RowError   `bun:"row_errors,type:jsonb,notnull"`
	ErrorMessage  string       `bun:"error_message,notnull"`
	CreatedAt     time.Time    `bun:"created_at,notnull"`
	UpdatedAt     time.Time    `bun:"updated_at,notnull"`
	FinishedAt    bun.NullTime `bun:"finished_at"`
}

// Percent is the progress in whole percent (100 once the job no longer works).
func (j *ImportJob) Percent() int {
	if !j.State.Busy() {
		return 100
	}
	if j.ProgressTotal <= 0 {
		return 0
	}
	return min(100, j.ProgressDone*100/j.ProgressTotal)
}

// importJobColumns are the columns of ImportJob, without the file.
var importJobColumns = []string{"tenant_id", "id", "uploaded_by", "file_name", "file_size", "state", "progress_done",
	"progress_total", "new_count", "changed_count", "unchanged_count", "rejected_count", "linked_count", "row_errors",
	"error_message", "created_at", "updated_at", "finished_at"}

// ImportTarget is the audit-log target of an import job.
func ImportTarget(id uuid.UUID) string { return "import:" + id.String() }

// CreateImportJob stores an uploaded card CSV as a new job (state uploaded) and writes
// "import.upload" to the audit log. It returns an invalid error with the field "file" when the
// file is empty (import.file.empty) or larger than ImportMaxFileBytes (import.file.too_big).
// The file name is reduced to its base name, without control characters, at most 255 characters.
func (s *Service) CreateImportJob(ctx context.Context, tenantID uuid.UUID, a tenant.Actor, fileName string, data []byte) (_ *ImportJob, err error) {
	defer tenant.Wrap(&err, "booking.CreateImportJob(%s)", tenantID)
	switch {
	case len(data) == 0:
		return nil, fieldError("file", "import.file.empty")
	case len(data) > ImportMaxFileBytes:
		return nil, fieldError("file", "import.file.too_big")
	}
	name := cleanFileName(fileName)
	now := s.now()
	j := &ImportJob{TenantID: tenantID, ID: uuid.New(), UploadedBy: a.Login, FileName: name, FileSize: int64(len(data)),
		State: ImportUploaded, RowErrors: []RowError{}, CreatedAt: now, UpdatedAt: now, ProgressTotal: countLines(data)}
	err = tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(j).Column(importJobColumns[:17]...).Exec(ctx); err != nil {
			return err
		}
		// The bytes travel as a bound parameter of the driver (binary), not through bun's
		// interpolation, which would spell a 50 MB file as a 100 MB hex literal in the query text.
		if _, err := tx.Tx.ExecContext(ctx, "UPDATE import_jobs SET file_bytes = $1 WHERE id = $2", data, j.ID); err != nil {
			return err
		}
		return a.Audit(ctx, tx, tenantID, "import.upload", ImportTarget(j.ID), nil, map[string]any{"file_name": name, "bytes": len(data)})
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// ImportJob returns one job of the tenant, without its file. An id of another tenant is not_found.
func (s *Service) ImportJob(ctx context.Context, tenantID, id uuid.UUID) (_ *ImportJob, err error) {
	defer tenant.Wrap(&err, "booking.ImportJob(%s, %s)", tenantID, id)
	j := new(ImportJob)
	err = tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(j).Column(importJobColumns...).Where("id = ?", id).Scan(ctx)
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// ImportJobs returns the tenant's latest limit jobs, newest first, without their row errors.
func (s *Service) ImportJobs(ctx context.Context, tenantID uuid.UUID, limit int) (_ []ImportJob, err error) {
	defer tenant.Wrap(&err, "booking.ImportJobs(%s)", tenantID)
	var js []ImportJob
	err = tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&js).Column(importJobColumns[:13]...).Column("error_message", "created_at", "updated_at", "finished_at").
			ColumnExpr("'[]'::jsonb AS row_errors").OrderExpr("created_at DESC, id").Limit(int64(limit)).Scan(ctx)
	})
	return js, err
}

// RequestImportCommit moves a validated job to committing and writes "import.commit" to the
// audit log; the caller then enqueues the commit task. A job in any other state (already
// committing or done: a second click) returns a conflict error and changes nothing.
func (s *Service) RequestImportCommit(ctx context.Context, tenantID, id uuid.UUID, a tenant.Actor) (err error) {
	defer tenant.Wrap(&err, "booking.RequestImportCommit(%s, %s)", tenantID, id)
	return s.moveImport(ctx, tenantID, id, a, "import.commit", []ImportState{ImportValidated}, ImportCommitting)
}

// CancelImport ends a job that is uploaded, validating or validated without importing anything,
// deletes its file and writes "import.cancel" to the audit log. Any other state is a conflict.
func (s *Service) CancelImport(ctx context.Context, tenantID, id uuid.UUID, a tenant.Actor) (err error) {
	defer tenant.Wrap(&err, "booking.CancelImport(%s, %s)", tenantID, id)
	return s.moveImport(ctx, tenantID, id, a, "import.cancel", []ImportState{ImportUploaded, ImportValidating, ImportValidated}, ImportCancelled)
}

func (s *Service) moveImport(ctx context.Context, tenantID, id uuid.UUID, a tenant.Actor, action string, from []ImportState, to ImportState) error {
	return tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		var cur ImportState
		if err := tx.NewSelect().Table("import_jobs").Column("state").Where("id = ?", id).For("UPDATE").Scan(ctx, &cur); err != nil {
			return err
		}
		ok := false
		for _, f := range from {
			ok = ok || cur == f
		}
		if !ok {
			return tenant.Errorf(tenant.Conflict, "import.state_conflict").Wrap(fmt.Errorf("import %s is %s", id, cur))
		}
		q := tx.NewUpdate().Table("import_jobs").Set("state = ?", to).Set("updated_at = ?", s.now()).Where("id = ?", id)
		if to == ImportCancelled {
			q = q.Set("file_bytes = NULL").Set("finished_at = ?", s.now())
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
		return a.Audit(ctx, tx, tenantID, action, ImportTarget(id), map[string]any{"state": cur}, map[string]any{"state": to})
	})
}

// RunImportValidate is the worker's half of validation: it claims an uploaded job (or one left
// validating by a crashed worker), parses and stages its file with the tenant's profile, and
// stores the preview counts and row errors (state validated), or the file's refusal in Japanese
// (state failed, file deleted). Progress is written in short transactions of its own. A job in
// any other state is left alone (the task ran twice): nil.
func (s *Service) RunImportValidate(ctx context.Context, t *tenant.Tenant, id uuid.UUID) (err error) {
	defer tenant.Wrap(&err, "booking.RunImportValidate(%s, %s)", t.ID, id)
	data, ok, err := s.claimImport(ctx, t.ID, id, []ImportState{ImportUploaded, ImportValidating}, ImportValidating)
	if err != nil || !ok {
		return err
	}
	prof, err := s.ImportProfile(ctx, t.ID)
	if err != nil {
		return err
	}
	p := s.importProgress(ctx, t.ID, id)
	res, err := s.PreviewImport(ctx, t, prof, bytes.NewReader(data), p.report)
	p.stop()
	if err != nil {
		return s.failImport(ctx, t.ID, id, ImportValidating, err)
	}
	return tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := s.finishQuery(tx, id, ImportValidating, res).Set("state = ?", ImportValidated).Exec(ctx)
		return err
	})
}

// RunImportCommit is the worker's half of a commit: for a job in state committing it stages the
// file again and writes the cards (CommitImport), and in the same transaction stores the result
// (state done) and deletes the file, so a repeated task finds the job done and does nothing.
// A file refused now (it cannot change, but the profile may have) fails the job.
func (s *Service) RunImportCommit(ctx context.Context, t *tenant.Tenant, id uuid.UUID) (err error) {
	defer tenant.Wrap(&err, "booking.RunImportCommit(%s, %s)", t.ID, id)
	data, ok, err := s.claimImport(ctx, t.ID, id, []ImportState{ImportCommitting}, ImportCommitting)
	if err != nil || !ok {
		return err
	}
	prof, err := s.ImportProfile(ctx, t.ID)
	if err != nil {
		return err
	}
	p := s.importProgress(ctx, t.ID, id)
	_, err = s.CommitImport(ctx, t, prof, bytes.NewReader(data), p.report, func(ctx context.Context, tx pgx.Tx, res *ImportResult) error {
		p.stop()
		q := s.finishQuery(nil, id, ImportCommitting, res).Set("state = ?", ImportDone).Set("file_bytes = NULL").Set("finished_at = ?", s.now())
		tag, err := tx.Exec(ctx, q.String())
		if err == nil && tag.RowsAffected() != 1 {
			err = errImportMoved
		}
		return err
	})
	p.stop()
	if errors.Is(err, errImportMoved) {
		return nil // another run finished it; this one rolled back
	}
	if err != nil && tenant.ErrorCode(err) == tenant.Invalid {
		return s.failImport(ctx, t.ID, id, ImportCommitting, err)
	}
	return err
}

var errImportMoved = errors.New("import job left the expected state")

// finishQuery is the UPDATE that stores a result on a job still in state from.
func (s *Service) finishQuery(tx bun.IDB, id uuid.UUID, from ImportState, res *ImportResult) *bun.UpdateQuery {
	if tx == nil {
		tx = s.db
	}
	errs := res.Rejected
	if len(errs) > ImportMaxRowErrors {
		errs = errs[:ImportMaxRowErrors]
	}
	if errs == nil {
		errs = []RowError{}
	}
	b, _ := json.Marshal(errs)
	n := res.Inserted + res.Updated + res.Unchanged
	return tx.NewUpdate().Table("import_jobs").
		Set("new_count = ?", res.Inserted).Set("changed_count = ?", res.Updated).Set("unchanged_count = ?", res.Unchanged).
		Set("rejected_count = ?", len(res.Rejected)).Set("linked_count = ?", res.Linked).Set("row_errors = ?", string(b)).
		Set("progress_done = ?", n).Set("progress_total = ?", n).Set("updated_at = ?", s.now()).
		Where("id = ?", id).Where("state = ?", from)
}

// claimImport moves the job from one of from to state to and returns its file; ok is false when
// the job is in none of them (or its file is gone).
func (s *Service) claimImport(ctx context.Context, tenantID, id uuid.UUID, from []ImportState, to ImportState) (data []byte, ok bool, err error) {
	err = tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		var row struct {
			State ImportState
			Data  []byte
		}
		err := tx.NewSelect().Table("import_jobs").ColumnExpr("state, file_bytes AS data").Where("id = ?", id).For("UPDATE").Scan(ctx, &row.State, &row.Data)
		if err != nil {
			return err
		}
		for _, f := range from {
			ok = ok || row.State == f
		}
		if !ok || row.Data == nil {
			ok = false
			return nil
		}
		data = row.Data
		_, err = tx.NewUpdate().Table("import_jobs").Set("state = ?", to).Set("progress_done = 0").Set("updated_at = ?", s.now()).Where("id = ?", id).Exec(ctx)
		return err
	})
	if tenant.ErrorCode(err) == tenant.NotFound {
		return nil, false, nil // deleted with its tenant: nothing to do
	}
	return data, ok, err
}

// failImport ends a job whose file was refused: the Japanese reason is stored for the page, the
// file deleted. Errors that are not the file's fault are returned for a retry instead.
func (s *Service) failImport(ctx context.Context, tenantID, id uuid.UUID, from ImportState, cause error) error {
	e := tenant.AsError(cause)
	if e == nil || e.Code != tenant.Invalid || !strings.HasPrefix(e.Key, "import.") || e.Err == nil {
		return cause
	}
	return tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewUpdate().Table("import_jobs").Set("state = ?", ImportFailed).Set("error_message = ?", e.Err.Error()).
			Set("file_bytes = NULL").Set("finished_at = ?", s.now()).Set("updated_at = ?", s.now()).
			Where("id = ?", id).Where("state = ?", from).Exec(ctx)
		return err
	})
}

// importProgress writes a job's progress in short transactions of its own, at most every 500 ms
// or 5,000 rows, so the page sees it while the long transaction runs.
type importProgressWriter struct {
	s        *Service
	ctx      context.Context
	tenantID uuid.UUID
	id       uuid.UUID

	mu      sync.Mutex
	last    time.Time
	lastN   int
	stopped bool
}

func (s *Service) importProgress(ctx context.Context, tenantID, id uuid.UUID) *importProgressWriter {
	return &importProgressWriter{s: s, ctx: ctx, tenantID: tenantID, id: id, last: time.Now()}
}

func (p *importProgressWriter) report(done int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || (done-p.lastN < 5000 && time.Since(p.last) < 500*time.Millisecond) {
		return
	}
	p.last, p.lastN = time.Now(), done
	_ = tenant.InTx(p.ctx, p.s.db, p.tenantID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewUpdate().Table("import_jobs").Set("progress_done = ?", done).
			Set("progress_total = greatest(progress_total, ?)", done).Where("id = ?", p.id).Exec(ctx)
		return err
	}) // progress is best effort: a failed write only delays the bar
}

func (p *importProgressWriter) stop() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
}

// cleanFileName keeps the base name of an uploaded file, without control characters, cut to
// 255 characters.
func cleanFileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) || r == utf8.RuneError {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	if name == "." || name == "/" || name == "" {
		name = "upload.csv"
	}
	if r := []rune(name); len(r) > 255 {
		name = string(r[:255])
	}
	return name
}

// countLines is the number of data rows a file has at most (its line count minus the header),
// the total of the progress bar before the file is parsed.
func countLines(data []byte) int {
	n := bytes.Count(data, []byte{'\n'})
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return max(n-1, 0)
}
