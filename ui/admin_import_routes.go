package ui

import (
	"context"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
)

// ImportQueue hands card CSV import jobs to the worker (jobs.ImportQueue). The job itself, its
// file included, is in PostgreSQL; the task carries the ids only.
type ImportQueue interface {
	EnqueueImportValidate(ctx context.Context, tenantID, importID uuid.UUID) error
	EnqueueImportCommit(ctx context.Context, tenantID, importID uuid.UUID) error
}

// importUploadPath is the one route that may receive a body larger than maxFormBytes.
const importUploadPath = "/admin/imports"

// maxFormBytes is the body limit of every other request.
const maxFormBytes = 1 << 20

// bodyLimit refuses a body over maxFormBytes (413) except for the card CSV upload, which the
// app's BodyLimit (booking.ImportMaxFileBytes plus room for the form) bounds.
func (u *UI) bodyLimit(c *fiber.Ctx) error {
	if len(c.Request().Body()) > maxFormBytes && !(c.Method() == fiber.MethodPost && c.Path() == importUploadPath) {
		return fiber.ErrRequestEntityTooLarge
	}
	return c.Next()
}

// appBodyLimit is the largest request body the server reads at all.
const appBodyLimit = booking.ImportMaxFileBytes + maxFormBytes

// adminImportRoutes registers the card CSV import (spec 3(3)ク①, 3(4)イ・ウ). Importing changes
// the city's card master data, so only its administrators (市管理者) may upload, see, commit or
// cancel imports and edit the mapping profile. Upload, commit, cancel and profile changes are
// audit-logged by the domain.
func (u *UI) adminImportRoutes(city fiber.Router, adm func(fiber.Handler) []fiber.Handler) {
	city.Get("/admin/imports", adm(u.adminImports)...)                        // admin: past imports, upload form
	city.Post(importUploadPath, adm(u.adminImportUpload)...)                  // admin: upload (≤ 50 MB), queues validation
	city.Get("/admin/imports/profile", adm(u.adminImportProfileShow)...)      // admin: column mapping
	city.Post("/admin/imports/profile", adm(u.adminImportProfileSave)...)     // admin
	city.Get("/admin/imports/:id", adm(u.adminImport)...)                     // admin: progress, summary, errors, result
	city.Get("/admin/imports/:id/status", adm(u.adminImportStatus)...)        // admin: JSON for the progress bar
	city.Get("/admin/imports/:id/errors.csv", adm(u.adminImportErrorsCSV)...) // admin: the row error report
	city.Post("/admin/imports/:id/commit", adm(u.adminImportCommit)...)       // admin: once; a second click is refused
	city.Post("/admin/imports/:id/cancel", adm(u.adminImportCancel)...)       // admin
}
