package booking

import (
	"context"
	"io"
	"time"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// This file is the staff card list taken as a whole rather than a page at a time: the list with
// the screen's filter as CSV and as a print view (e.g. every card whose notice was sent and that
// has no booking yet, for a reminder postcard), and one status change applied to every card the
// filter matches. The change is one set-based statement (an UPDATE feeding the history INSERT),
// so 100,000 cards cost the same three statements as ten.

// CardFilter selects cards as the staff card list does, without paging.
type CardFilter struct {
	No     string     // 製造管理番号 or its beginning, in any form NormalizeCardNo accepts; "" for all
	Status CardStatus // "" for every status
}

// normalize returns f with its number normalised, or invalid ("q", "status") as SearchCards
// does: a 12-digit 個人番号 is refused before anything is stored or logged.
func (f CardFilter) normalize() (CardFilter, error) {
	no := NormalizeCardNo(f.No)
	switch {
	case len(no) == 12 && isDigits(no):
		return f, fieldError("q", "login.card_no.my_number")
	case !searchNoRE.MatchString(no):
		return f, fieldError("q", "cards.search.invalid")
	case f.Status != "" && !ValidCardStatus(f.Status):
		return f, fieldError("status", "cards.refused.no_status")
	}
	f.No = no
	return f, nil
}

// Validate returns invalid (fields "q", "status") for a filter the card list refuses.
func (f CardFilter) Validate() error {
	_, err := f.normalize()
	return err
}

// where adds the filter to q (cards, unaliased). f must be normalised: No is [0-9A-Z]*.
//
// The beginning of a number is asked as a byte-wise range (~>=~, ~<~: every number that starts
// with No, and only those), which cards_no_prefix_idx serves. LIKE would not use it: under
// row-level security a condition that is not leakproof (LIKE is not) is checked only after the
// policy, row by row, so the search read every card of the city.
func (f CardFilter) where(q *bun.SelectQuery) *bun.SelectQuery {
	if f.No != "" {
		// The last character plus one: '9'+1 and 'Z'+1 (':' and '[') sort after every
		// character a number may hold.
		next := f.No[:len(f.No)-1] + string(f.No[len(f.No)-1]+1)
		q = q.Where("card_no ~>=~ ? AND card_no ~<~ ?", f.No, next)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	return q
}

func (f CardFilter) auditMap() map[string]any {
	return map[string]any{"q": f.No, "status": string(f.Status)}
}

// CardStatusLabels are the fixed Japanese words for card statuses in the card CSV (as the
// screen's Japanese labels).
var CardStatusLabels = map[CardStatus]string{
	CardImported: "取込済（通知前）", CardNoticeSent: "通知書送付済", CardReserved: "予約済", CardVisited: "来庁済",
	CardIssued: "交付済", CardReturned: "返戻", CardOnHold: "保留", CardVoid: "無効",
}

// CardExportHeader is the header row of the card CSV.
var CardExportHeader = []string{"製造管理番号", "状態", "状態の変更日", "保管位置", "氏名", "氏名（カナ）"}

type cardExportRow struct {
	CardNo          string     `bun:"card_no"`
	Status          CardStatus `bun:"status"`
	StatusChangedAt time.Time  `bun:"status_changed_at"`
	StoragePos      string     `bun:"storage_pos"`
	Name            string     `bun:"name"`
	NameKana        string     `bun:"name_kana"`
}

func (r *cardExportRow) fields() []string {
	return []string{r.CardNo, CardStatusLabels[r.Status], DateOf(r.StatusChangedAt).String(), r.StoragePos, r.Name, r.NameKana}
}

// ExportCards writes the tenant's cards matching f to w as CSV for Excel (CSVWriter: UTF-8 with a
// BOM, or CP932), ordered by number, read in keyset-paged chunks inside one transaction and
// flushed (flush may be nil) after each chunk, so the file never sits in memory whole. The export
// is audit-logged ("card.export") with the filter, row count, size and SHA-256 of the file and
// whether it was complete — also when writing to w failed half-way, in which case that error is
// returned. It returns invalid for a bad filter or encoding.
func (s *Service) ExportCards(ctx context.Context, t *tenant.Tenant, f CardFilter, enc Encoding, w io.Writer, flush func() error, a tenant.Actor) (_ *ExportResult, err error) {
	defer tenant.Wrap(&err, "booking.ExportCards(%s)", t.ID)
	if f, err = f.normalize(); err != nil {
		return nil, err
	}
	return writeChunkedCSV(ctx, s.db, t, chunkedCSV[cardExportRow]{
		header: CardExportHeader, fields: (*cardExportRow).fields, action: "card.export", filter: f.auditMap(),
		chunk: func(ctx context.Context, tx bun.IDB, last *cardExportRow) ([]cardExportRow, error) {
			after := ""
			if last != nil {
				after = last.CardNo
			}
			var rows []cardExportRow
			err := f.where(tx.NewSelect().TableExpr("cards")).
				ColumnExpr("card_no, status, status_changed_at, storage_pos, coalesce(name, '') AS name, coalesce(name_kana, '') AS name_kana").
				Where("card_no > ?", after).OrderExpr("card_no").Limit(exportChunk).
				Scan(ctx, &rows)
			return rows, err
		},
	}, enc, w, flush, a)
}

// MaxPrintCards is the most cards one print view lists; beyond it the page says to use the CSV.
const MaxPrintCards = 2000

// CardPrint is the print view of the card list: the first MaxPrintCards cards matching the
// filter, by number, and how many match in all.
type CardPrint struct {
	Filter CardFilter // normalised
	Cards  []Card
	Total  int
}

// Truncated reports whether more cards match than the print lists.
func (p *CardPrint) Truncated() bool { return p.Total > len(p.Cards) }

// PrintCards returns the print view of the tenant's cards matching f and audit-logs the read
// ("card.print": filter, cards shown, total). It returns invalid for a bad filter.
func (s *Service) PrintCards(ctx context.Context, t *tenant.Tenant, f CardFilter, a tenant.Actor) (_ *CardPrint, err error) {
	defer tenant.Wrap(&err, "booking.PrintCards(%s)", t.ID)
	if f, err = f.normalize(); err != nil {
		return nil, err
	}
	out := &CardPrint{Filter: f}
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		n, err := f.where(tx.NewSelect().Model((*Card)(nil))).Count(ctx)
		if err != nil {
			return err
		}
		out.Total = int(n)
		if err := f.where(tx.NewSelect().Model(&out.Cards)).Order("card_no").Limit(MaxPrintCards).Scan(ctx); err != nil {
			return err
		}
		return a.Audit(ctx, tx, t.ID, "card.print", "", nil, map[string]any{"filter": f.auditMap(), "shown": len(out.Cards), "total": out.Total})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkFilterChange validates a change of every card matching f to status to: f must name one
// status (so every matching card moves the same way, all or none) and staff must be allowed to
// move cards from it to to. It returns f normalised, invalid ("q", "status", "to") or the
// conflict "cards.filter.refused" (Args "from", "to").
func checkFilterChange(f CardFilter, to CardStatus) (CardFilter, error) {
	f, err := f.normalize()
	switch {
	case err != nil:
		return f, err
	case f.Status == "":
		return f, fieldError("status", "cards.filter.status_required")
	case !ValidCardStatus(to):
		return f, fieldError("to", "cards.refused.no_status")
	}
	if err := CheckCardTransition(f.Status, to); err != nil {
		return f, tenant.Errorf(tenant.Conflict, "cards.filter.refused").WithArgs(map[string]any{"from": string(f.Status), "to": string(to)})
	}
	return f, nil
}

// CountCardsForChange is the check before ChangeCardStatusByFilter: it validates the change as
// that does and returns how many of the tenant's cards it would move now. It reads counts only,
// so it is not audit-logged.
func (s *Service) CountCardsForChange(ctx context.Context, t *tenant.Tenant, f CardFilter, to CardStatus) (_ int, err error) {
	defer tenant.Wrap(&err, "booking.CountCardsForChange(%s)", t.ID)
	if f, err = checkFilterChange(f, to); err != nil {
		return 0, err
	}
	var n int
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		c, err := f.where(tx.NewSelect().Model((*Card)(nil))).Count(ctx)
		n = int(c)
		return err
	})
	return n, err
}

// ChangeCardStatusByFilter moves every card of the tenant matching f (which must name one status)
// to status to, by hand, all or nothing, in one transaction of three statements whatever the
// number of cards: the scope, one statement that locks the matching cards in id order, updates
// them and writes each one's history row (channel and actor of a), and one audit row
// ("card.status.filter": filter, from, to, count). expect is the count the clerk confirmed
// (CountCardsForChange); when the cards matching f are no longer exactly that many, it returns
// the conflict "cards.filter.count_changed" (Args "expect", "n") and changes nothing. It returns
// the errors of checkFilterChange, and invalid ("expect") for a count of zero or less.
func (s *Service) ChangeCardStatusByFilter(ctx context.Context, t *tenant.Tenant, f CardFilter, to CardStatus, expect int, a tenant.Actor) (_ int, err error) {
	defer tenant.Wrap(&err, "booking.ChangeCardStatusByFilter(%s)", t.ID)
	if f, err = checkFilterChange(f, to); err != nil {
		return 0, err
	}
	if expect <= 0 {
		return 0, fieldError("expect", "cards.filter.none")
	}
	now := s.now()
	var n int
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		// Locked in id order, as ChangeCardStatus and lockCards do, so concurrent changes cannot
		// deadlock; a card whose status changed while this waited no longer matches and is left
		// out, which the count then reports.
		match := f.where(tx.NewSelect().Model((*Card)(nil)).Column("id")).Order("id").For("UPDATE")
		err := tx.NewRaw(`WITH m AS (?),
			u AS (UPDATE cards c SET status = ?, status_changed_at = ?, updated_at = ?
				FROM m WHERE c.tenant_id = current_tenant_id() AND c.id = m.id RETURNING c.id),
			h AS (INSERT INTO card_status_history (tenant_id, card_id, from_status, to_status, channel, actor, changed_at)
				SELECT current_tenant_id(), u.id, ?, ?, ?, ?, ? FROM u RETURNING 1)
			SELECT count(*) FROM h`,
			match, to, now, now, f.Status, to, a.Channel, a.Login, now).Scan(ctx, &n)
		if err != nil {
			return err
		}
		if n != expect {
			return tenant.Errorf(tenant.Conflict, "cards.filter.count_changed").WithArgs(map[string]any{"expect": expect, "n": n})
		}
		return a.Audit(ctx, tx, t.ID, "card.status.filter", "", map[string]any{"status": string(f.Status)},
			map[string]any{"status": string(to), "filter": f.auditMap(), "count": n})
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
