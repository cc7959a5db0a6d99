package booking

import (
	"context"
	"errors"
	"io"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// chunkedCSV describes one CSV export read in keyset-paged chunks: the reservations export and
// the card list's CSV differ only in these fields, and share everything else (the CSVWriter, the
// transaction, the flush after each chunk, the audit row whatever happens).
type chunkedCSV[R any] struct {
	header []string
	// chunk reads up to exportChunk rows after last (nil for the first chunk), in the export's
	// order; fewer than exportChunk rows means there are no more.
	chunk  func(ctx context.Context, tx bun.IDB, last *R) ([]R, error)
	fields func(r *R) []string
	// action and filter name the audit row ("export.csv", "card.export") and the filter it records.
	action string
	filter map[string]any
}

// writeChunkedCSV writes e's header and rows to w in enc inside one tenant transaction, calling
// flush (may be nil) after each chunk so the rows reach the client while the next chunk is read:
// the file never sits in memory whole. It writes the audit row with the filter, encoding, row
// count, replaced characters, size and SHA-256 of what was written and the result: "complete",
// "incomplete" when writing to w failed half-way (the client went away; that write error is
// returned) or "failed" when the database did (recorded in a transaction of its own). It returns
// invalid for an unknown encoding.
func writeChunkedCSV[R any](ctx context.Context, db *bun.DB, t *tenant.Tenant, e chunkedCSV[R], enc Encoding, w io.Writer, flush func() error, a tenant.Actor) (*ExportResult, error) {
	cw, err := NewCSVWriter(w, enc)
	if err != nil {
		return nil, err
	}
	var writeErr error
	res := &ExportResult{}
	audit := func(ctx context.Context, tx bun.IDB, result string) error {
		r := cw.Result()
		r.Rows = res.Rows
		*res = r
		return a.Audit(ctx, tx, t.ID, e.action, "", nil, map[string]any{
			"filter": e.filter, "encoding": string(cw.enc), "rows": r.Rows, "replaced": r.Replaced,
			"bytes": r.Bytes, "sha256": r.SHA256, "result": result})
	}
	err = tenant.InTx(ctx, db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		if writeErr = cw.Write(e.header); writeErr != nil {
			return audit(ctx, tx, "incomplete")
		}
		var last *R
		for {
			rows, err := e.chunk(ctx, tx, last)
			if err != nil {
				return err
			}
			for i := range rows {
				if writeErr = cw.Write(e.fields(&rows[i])); writeErr != nil {
					return audit(ctx, tx, "incomplete")
				}
				res.Rows++
			}
			if flush != nil {
				if writeErr = flush(); writeErr != nil {
					return audit(ctx, tx, "incomplete")
				}
			}
			if len(rows) < exportChunk {
				break
			}
			last = &rows[len(rows)-1]
		}
		return audit(ctx, tx, "complete")
	})
	if err != nil {
		// The transaction failed (the database, not the client): record what was sent anyway.
		if aerr := tenant.InTx(context.WithoutCancel(ctx), db, t.ID, func(ctx context.Context, tx bun.Tx) error {
			return audit(ctx, tx, "failed")
		}); aerr != nil {
			err = errors.Join(err, aerr)
		}
		return res, err
	}
	return res, writeErr
}
