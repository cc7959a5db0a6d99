package ui

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// AdminImportsPage is the data of admin/imports.html: the upload form and past imports.
type AdminImportsPage struct {
	BasePage
	Jobs    []booking.ImportJob
	Profile booking.ImportProfile
	MaxMB   int
}

// AdminImportPage is the data of admin/import.html: one import's progress, summary or result.
type AdminImportPage struct {
	BasePage
	Job       *booking.ImportJob
	StateKey  string
	MoreCount int // rejected rows beyond the ones listed
}

func (u *UI) importsPage(c *fiber.Ctx, errs map[string]string) (*AdminImportsPage, error) {
	t := web.TenantOf(c)
	jobs, err := u.deps.Booking.ImportJobs(c.UserContext(), t.ID, 50)
	if err != nil {
		return nil, err
	}
	prof, err := u.deps.Booking.ImportProfile(c.UserContext(), t.ID)
	if err != nil {
		return nil, err
	}
	p := &AdminImportsPage{BasePage: u.base(c), Jobs: jobs, Profile: prof, MaxMB: booking.ImportMaxFileBytes >> 20}
	p.Errors = errs
	return p, nil
}

func (u *UI) adminImports(c *fiber.Ctx) error {
	p, err := u.importsPage(c, nil)
	if err != nil {
		return err
	}
	if err := u.staffTakeFlash(c, &p.BasePage); err != nil {
		return err
	}
	return u.render(c, "admin/imports", p)
}

// adminImportUpload stores the uploaded file as an import job and queues its validation. An
// empty or too large file, or no file, re-renders the form with 422.
func (u *UI) adminImportUpload(c *fiber.Ctx) error {
	fh, err := c.FormFile("file")
	var data []byte
	name := ""
	if err == nil {
		name = fh.Filename
		if fh.Size > booking.ImportMaxFileBytes {
			return u.importUploadError(c, "import.file.too_big")
		}
		f, err := fh.Open()
		if err != nil {
			return err
		}
		// The part was streamed to a temporary file; it is read once, into a buffer of its size
		// (not grown by doubling), which the import job stores.
		data = make([]byte, fh.Size)
		_, err = io.ReadFull(f, data)
		f.Close()
		if err != nil {
			return err
		}
	}
	j, err := u.deps.Booking.CreateImportJob(c.UserContext(), web.TenantOf(c).ID, staffActorOf(c), name, data)
	if e := tenant.AsError(err); e != nil && e.Fields["file"] != "" {
		return u.importUploadError(c, e.Fields["file"])
	}
	if err != nil {
		return err
	}
	if err := u.deps.ImportQueue.EnqueueImportValidate(c.UserContext(), j.TenantID, j.ID); err != nil {
		return err
	}
	return u.staffFlashRedirect(c, "import.uploaded", "/admin/imports/"+j.ID.String())
}

func (u *UI) importUploadError(c *fiber.Ctx, key string) error {
	p, err := u.importsPage(c, map[string]string{"file": key})
	if err != nil {
		return err
	}
	c.Status(fiber.StatusUnprocessableEntity)
	return u.render(c, "admin/imports", p)
}

// importJobOf loads the import named by the :id parameter; a malformed id or another city's
// import is not_found.
func (u *UI) importJobOf(c *fiber.Ctx) (*booking.ImportJob, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return nil, tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	return u.deps.Booking.ImportJob(c.UserContext(), web.TenantOf(c).ID, id)
}

func (u *UI) adminImport(c *fiber.Ctx) error {
	j, err := u.importJobOf(c)
	if err != nil {
		return err
	}
	p := &AdminImportPage{BasePage: u.base(c), Job: j, StateKey: "import.state." + string(j.State), MoreCount: j.Rejected - len(j.RowErrors)}
	if err := u.staffTakeFlash(c, &p.BasePage); err != nil {
		return err
	}
	return u.render(c, "admin/import", p)
}

// importStatus is the JSON the job page polls while the worker runs.
type importStatus struct {
	State   string `json:"state"`
	Busy    bool   `json:"busy"`
	Percent int    `json:"percent"`
	Done    int    `json:"done"`
	Total   int    `json:"total"`
	Label   string `json:"label"` // the state, in the page's language
	Text    string `json:"text"`  // "rows done / total"
}

func (u *UI) adminImportStatus(c *fiber.Ctx) error {
	j, err := u.importJobOf(c)
	if err != nil {
		return err
	}
	lang := web.LangOf(c)
	return c.JSON(importStatus{State: string(j.State), Busy: j.State.Busy(), Percent: j.Percent(), Done: j.ProgressDone, Total: j.ProgressTotal,
		Label: u.locales.T(lang, "import.state."+string(j.State), nil),
		Text:  u.locales.T(lang, "import.progress.rows", map[string]any{"done": j.ProgressDone, "total": j.ProgressTotal})})
}

// adminImportErrorsCSV sends the rejected rows (line and reason; never a value) as a CSV with a
// BOM, which Excel opens as UTF-8.
func (u *UI) adminImportErrorsCSV(c *fiber.Ctx) error {
	j, err := u.importJobOf(c)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString("\uFEFF")
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	_ = w.Write([]string{"行", "理由"})
	for _, e := range j.RowErrors {
		_ = w.Write([]string{strconv.Itoa(e.Line), e.Reason})
	}
	if more := j.Rejected - len(j.RowErrors); more > 0 {
		_ = w.Write([]string{"", fmt.Sprintf("ほか%d行（一覧は先頭%d行までです）", more, booking.ImportMaxRowErrors)})
	}
	w.Flush()
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="import-errors-%s.csv"`, j.ID))
	return c.Send(b.Bytes())
}

// adminImportCommit confirms a validated import and queues the commit. A second click (the
// import is already committing or done) changes nothing and says so.
func (u *UI) adminImportCommit(c *fiber.Ctx) error {
	j, err := u.importJobOf(c)
	if err != nil {
		return err
	}
	to := "/admin/imports/" + j.ID.String()
	err = u.deps.Booking.RequestImportCommit(c.UserContext(), j.TenantID, j.ID, staffActorOf(c))
	if tenant.ErrorCode(err) == tenant.Conflict {
		return u.staffFlashRedirect(c, "import.state_conflict", to)
	}
	if err != nil {
		return err
	}
	if err := u.deps.ImportQueue.EnqueueImportCommit(c.UserContext(), j.TenantID, j.ID); err != nil {
		return err
	}
	return u.staffFlashRedirect(c, "import.committing", to)
}

// adminImportCancel ends an import that has not been committed; nothing is imported.
func (u *UI) adminImportCancel(c *fiber.Ctx) error {
	j, err := u.importJobOf(c)
	if err != nil {
		return err
	}
	to := "/admin/imports/" + j.ID.String()
	err = u.deps.Booking.CancelImport(c.UserContext(), j.TenantID, j.ID, staffActorOf(c))
	if tenant.ErrorCode(err) == tenant.Conflict {
		return u.staffFlashRedirect(c, "import.state_conflict", to)
	}
	if err != nil {
		return err
	}
	return u.staffFlashRedirect(c, "import.cancelled", to)
}
