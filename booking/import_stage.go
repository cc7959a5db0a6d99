package booking

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/madoguchi/madoguchi/tenant"
)

// The staged import: PostgreSQL refuses COPY FROM into a table with row-level security, so the
// parsed rows are streamed with COPY into a TEMP table (no RLS, dropped at commit) inside one
// transaction scoped to the tenant, and moved into cards with set-based statements that the WITH
// CHECK policy still guards row by row. Parsing runs in its own goroutine while COPY sends, so the
// two CPUs of a small node both work.
//
// Each staged row carries the ids its card and its history row will get: UUIDv7 (time-ordered,
// made here in file order), so the 100,000 entries of a city's first file go to the right-hand
// end of the primary keys and of the history's (tenant_id, card_id, …) indexes instead of
// random pages, and the history's foreign-key checks find the card in recently used pages.
// (PostgreSQL 15 has no UUIDv7 function; gen_random_uuid is v4.) The ids are never guessed from:
// every read is scoped to the tenant and checks the staff's rights, as for any other id.

// importStageBatch is how many parsed rows travel from the parser to COPY at a time.
const importStageBatch = 2048

// importLockClass is the first key of the per-tenant advisory lock that serialises commits.
const importLockClass = 0x4d444749 // "MDGI"

// PreviewImport parses a card CSV with the mapping profile prof, stages its good rows and counts
// what a commit would do against the tenant's cards now: Inserted (new card numbers), Updated
// (known numbers whose birth date, name, kana or storage position differ), Unchanged, Rejected.
// Nothing is written. progress, when not nil, is called from time to time with the rows staged
// so far. A file ParseCardCSV refuses returns its invalid error.
func (s *Service) PreviewImport(ctx context.Context, t *tenant.Tenant, prof ImportProfile, r io.Reader, progress func(done int)) (_ *ImportResult, err error) {
	defer tenant.Wrap(&err, "booking.PreviewImport(%s)", idOf(t))
	return s.stageImport(ctx, t, prof, r, false, progress, nil)
}

// CommitImport is PreviewImport that writes: in one transaction, new card numbers are inserted
// with status imported and a history row (channel import), changed ones are updated (their status
// is kept), and cards of the file that are still imported or notice_sent although they belong to
// an active booking become reserved, with a history row (Linked counts them). Importing the same
// file again changes nothing. Commits of one tenant run one at a time.
//
// done, when not nil, runs in the same transaction after the cards are written, so a job can
// record its end atomically with the cards; its error rolls everything back.
func (s *Service) CommitImport(ctx context.Context, t *tenant.Tenant, prof ImportProfile, r io.Reader, progress func(done int), done func(ctx context.Context, tx pgx.Tx, res *ImportResult) error) (_ *ImportResult, err error) {
	defer tenant.Wrap(&err, "booking.CommitImport(%s)", idOf(t))
	return s.stageImport(ctx, t, prof, r, true, progress, done)
}

// idOf is t's id for error context: uuid.Nil for a nil tenant, which stageImport refuses.
func idOf(t *tenant.Tenant) uuid.UUID {
	if t == nil {
		return uuid.Nil
	}
	return t.ID
}

func (s *Service) stageImport(ctx context.Context, t *tenant.Tenant, prof ImportProfile, r io.Reader, commit bool, progress func(int), done func(context.Context, pgx.Tx, *ImportResult) error) (*ImportResult, error) {
	if t == nil || len(s.cfg.SecretKey) == 0 {
		return nil, tenant.Errorf(tenant.Internal, "error.internal").Wrap(errors.New("import needs a tenant and the secret key"))
	}
	now := s.now()
	var res *ImportResult
	err := tenant.InPgxTx(ctx, s.db, t.ID, func(ctx context.Context, tx pgx.Tx) error {
		res = &ImportResult{}
		if commit {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", importLockClass, t.ID.String()); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE import_stage (id uuid NOT NULL, hist_id uuid NOT NULL, card_no text NOT NULL,
			birth_hmac bytea NOT NULL, name text, name_kana text, storage_pos text NOT NULL) ON COMMIT DROP`); err != nil {
			return err
		}
		n, rejected, err := s.copyStage(ctx, tx, t, prof, r, progress)
		if err != nil {
			return err
		}
		res.Rejected = rejected
		if n == 0 {
			return nil
		}
		if !commit {
			return tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE c.id IS NULL),
	count(*) FILTER (WHERE c.id IS NOT NULL AND (c.birth_hmac, c.name, c.name_kana, c.storage_pos)
		IS DISTINCT FROM (s.birth_hmac, s.name, s.name_kana, s.storage_pos)),
	count(*) FILTER (WHERE c.id IS NOT NULL AND (c.birth_hmac, c.name, c.name_kana, c.storage_pos)
		IS NOT DISTINCT FROM (s.birth_hmac, s.name, s.name_kana, s.storage_pos))
FROM import_stage s LEFT JOIN cards c ON c.card_no = s.card_no`).Scan(&res.Inserted, &res.Updated, &res.Unchanged)
		}
		if err := writeStaged(ctx, tx, t.ID, now, res); err != nil {
			return err
		}
		res.Unchanged = int(n) - res.Inserted - res.Updated
		if done != nil {
			return done(ctx, tx, res)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// writeStaged moves the staged rows into cards: changed ones first (so the new ones are not
// counted twice), then the new ones with their history, then the links to active bookings.
// The advisory lock keeps other imports out; a card added by hand in the meantime makes the
// insert fail with a conflict (nothing written), and a retry picks it up as known.
func writeStaged(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, now time.Time, res *ImportResult) error {
	// A city's first import (the big one) has no cards and no bookings yet: skip the joins.
	var hasCards, hasBookings bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cards), EXISTS (SELECT 1 FROM reservation_cards WHERE active)`).Scan(&hasCards, &hasBookings); err != nil {
		return err
	}
	if !hasCards {
		// Every staged row is new: two plain INSERT … SELECT in file order, the ids already
		// staged, without carrying the inserted rows from one statement to the next.
		tag, err := tx.Exec(ctx, `INSERT INTO cards (tenant_id, id, card_no, birth_hmac, name, name_kana, storage_pos, status, status_changed_at, created_at, updated_at)
SELECT $1, s.id, s.card_no, s.birth_hmac, s.name, s.name_kana, s.storage_pos, $2, $3, $3, $3 FROM import_stage s`, tenantID, CardImported, now)
		if err != nil {
			return err
		}
		res.Inserted = int(tag.RowsAffected())
		_, err = tx.Exec(ctx, `INSERT INTO card_status_history (tenant_id, id, card_id, from_status, to_status, channel, actor, changed_at)
SELECT $1, s.hist_id, s.id, '', $2, $4, '', $3 FROM import_stage s`, tenantID, CardImported, now, tenant.ChannelImport)
		return err
	}
	tag, err := tx.Exec(ctx, `UPDATE cards c SET birth_hmac = s.birth_hmac, name = s.name, name_kana = s.name_kana,
	storage_pos = s.storage_pos, updated_at = $1
FROM import_stage s
WHERE c.card_no = s.card_no AND (c.birth_hmac, c.name, c.name_kana, c.storage_pos)
	IS DISTINCT FROM (s.birth_hmac, s.name, s.name_kana, s.storage_pos)`, now)
	if err != nil {
		return err
	}
	res.Updated = int(tag.RowsAffected())
	if err := tx.QueryRow(ctx, `WITH ins AS (
	INSERT INTO cards (tenant_id, id, card_no, birth_hmac, name, name_kana, storage_pos, status, status_changed_at, created_at, updated_at)
	SELECT $1, s.id, s.card_no, s.birth_hmac, s.name, s.name_kana, s.storage_pos, $2, $3, $3, $3
	FROM import_stage s WHERE NOT EXISTS (SELECT 1 FROM cards c WHERE c.card_no = s.card_no)
	RETURNING tenant_id, id
), hist AS (
	INSERT INTO card_status_history (tenant_id, id, card_id, from_status, to_status, channel, actor, changed_at)
	SELECT ins.tenant_id, s.hist_id, ins.id, '', $2, $4, '', $3 FROM ins JOIN import_stage s ON s.id = ins.id
)
SELECT count(*) FROM ins`, tenantID, CardImported, now, tenant.ChannelImport).Scan(&res.Inserted); err != nil {
		return err
	}
	// 予約との紐付け: a card of the file that has an active booking but is still imported or
	// notice_sent (booked before its record reached this system, or set back by hand) follows
	// its booking and becomes reserved.
	if !hasBookings {
		return nil
	}
	return tx.QueryRow(ctx, `WITH due AS (
	SELECT c.id, c.status FROM cards c JOIN import_stage s ON s.card_no = c.card_no
	WHERE c.status IN ($1, $2) AND EXISTS (
		SELECT 1 FROM reservation_cards rc JOIN reservations r ON r.tenant_id = rc.tenant_id AND r.id = rc.reservation_id
		WHERE rc.card_id = c.id AND rc.active AND r.status = 'booked')
	FOR UPDATE OF c
), upd AS (
	UPDATE cards c SET status = $3, status_changed_at = $4, updated_at = $4 FROM due
	WHERE c.id = due.id RETURNING c.tenant_id, c.id, due.status AS from_status
), hist AS (
	INSERT INTO card_status_history (tenant_id, card_id, from_status, to_status, channel, actor, changed_at)
	SELECT tenant_id, id, from_status, $3, $5, '', $4 FROM upd
)
SELECT count(*) FROM upd`, CardImported, CardNoticeSent, CardReserved, now, tenant.ChannelImport).Scan(&res.Linked)
}

// copyStage parses r in a goroutine and streams its good rows into import_stage with COPY. It
// returns the rows staged and the rejected rows, or the parser's whole-file error.
func (s *Service) copyStage(ctx context.Context, tx pgx.Tx, t *tenant.Tenant, prof ImportProfile, r io.Reader, progress func(int)) (int64, []RowError, error) {
	ch := make(chan []CardInput, 4)
	stop := make(chan struct{})
	var rejected []RowError
	var perr error
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer close(ch)
		batch := make([]CardInput, 0, importStageBatch)
		send := func() error {
			select {
			case ch <- batch:
				batch = make([]CardInput, 0, importStageBatch)
				return nil
			case <-stop:
				return errStageStopped
			}
		}
		rejected, perr = parseCardCSV(r, t, prof, s.cfg.ImportMaxRows, func(in CardInput) error {
			if batch = append(batch, in); len(batch) == importStageBatch {
				return send()
			}
			return nil
		})
		if perr == nil && len(batch) > 0 {
			perr = send()
		}
	}()
	src := &stageSource{ch: ch, tenantID: t.ID, progress: progress, mac: hmac.New(sha256.New, s.cfg.SecretKey)}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"import_stage"}, []string{"id", "hist_id", "card_no", "birth_hmac", "name", "name_kana", "storage_pos"}, src)
	close(stop)
	<-finished
	if perr != nil && !errors.Is(perr, errStageStopped) {
		return 0, nil, perr // the file's own error comes first: COPY only saw a cut-off stream
	}
	if err != nil {
		return 0, nil, err
	}
	if progress != nil {
		progress(int(n))
	}
	return n, rejected, nil
}

var errStageStopped = errors.New("staging stopped")

// stageSource is the pgx.CopyFromSource over the parser's batches; it computes each card's
// birth-date HMAC on the COPY side of the pipeline.
type stageSource struct {
	ch       <-chan []CardInput
	batch    []CardInput
	i        int
	n        int
	tenantID uuid.UUID
	mac      hash.Hash
	progress func(int)
	vals     [7]any
}

func (s *stageSource) Next() bool {
	s.i++
	for s.i >= len(s.batch) {
		b, ok := <-s.ch
		if !ok {
			return false
		}
		s.batch, s.i = b, 0
		if s.progress != nil && s.n > 0 {
			s.progress(s.n)
		}
	}
	s.n++
	return true
}

func (s *stageSource) Values() ([]any, error) {
	in := &s.batch[s.i]
	s.mac.Reset()
	s.mac.Write(s.tenantID[:])
	s.mac.Write([]byte{0})
	s.mac.Write([]byte(in.CardNo))
	s.mac.Write([]byte{0})
	s.mac.Write([]byte(in.Birth))
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	histID, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	s.vals[0], s.vals[1] = id, histID
	s.vals[2], s.vals[3], s.vals[4], s.vals[5], s.vals[6] = in.CardNo, s.mac.Sum(nil), nullIfEmpty(in.Name), nullIfEmpty(in.NameKana), in.StoragePos
	return s.vals[:], nil
}

func (s *stageSource) Err() error { return nil }

func nullIfEmpty(v string) any {
	if v == "" {
		return nil
	}
	return v
}
