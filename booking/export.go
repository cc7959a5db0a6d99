package booking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"

	"github.com/madoguchi/madoguchi/tenant"
)

// CSV export of reservations for Excel: a header row first, one row per card, CRLF line ends,
// every text field quoted (RFC 4180), ISO dates, fixed Japanese words for statuses, no line breaks
// inside fields, a leading ' on fields that a spreadsheet would run as a formula, and UTF-8 with a
// BOM (default) or CP932. Rows are read in keyset-paged chunks inside one tenant transaction and
// written as they come, so an export never sits in memory whole.

// Encoding is the character encoding of a CSV export.
type Encoding string

// Export encodings.
const (
	EncodingUTF8 Encoding = "utf8" // UTF-8 with a byte-order mark, so Excel opens it correctly
	EncodingSJIS Encoding = "sjis" // CP932 (Windows-31J) for older tools; lossy
)

// ExportFilter selects the reservations to export. Zero fields do not filter; From and To are
// inclusive days (JST).
type ExportFilter struct {
	From, To   Date
	LocationID uuid.UUID
	Status     ReservationStatus
}

// query is the export's filter as the bookings search knows it: the export is the search's
// subset, so both validate and audit the same way.
func (f ExportFilter) query() ReservationFilter {
	return ReservationFilter{From: f.From, To: f.To, LocationID: f.LocationID, Status: f.Status}
}

// Validate returns invalid with per-field keys for a bad filter.
func (f ExportFilter) Validate() error {
	q := f.query()
	return q.Validate()
}

func (f ExportFilter) auditMap() map[string]any { return f.query().auditMap() }

// ExportHeader is the CSV header row.
var ExportHeader = []string{"予約番号", "日付", "曜日", "開始", "終了", "交付場所", "状態", "受付経路", "人数", "製造管理番号", "保管位置"}

// StatusLabels are the fixed Japanese words for reservation statuses in exports and prints.
var StatusLabels = map[ReservationStatus]string{Booked: "予約済", Visited: "来庁済", NoShow: "未来庁", Cancelled: "取消済"}

// ChannelLabels are the fixed Japanese words for booking channels in exports.
var ChannelLabels = map[tenant.Channel]string{tenant.ChannelWeb: "インターネット", tenant.ChannelCallCenter: "コールセンター", tenant.ChannelStaff: "窓口（職員）"}

// ExportResult tells what an export wrote.
type ExportResult struct {
	Rows     int    // data rows (one per card)
	Replaced int    // characters CP932 cannot encode, written as '?'
	Bytes    int64  // size of the file
	SHA256   string // hex digest of the file, as recorded in the audit log
}

// exportChunk is how many rows one keyset query reads.
const exportChunk = 1000

type exportRow struct {
	Code         string            `bun:"code"`
	StartsAt     time.Time         `bun:"starts_at"`
	EndsAt       time.Time         `bun:"ends_at"`
	LocationName string            `bun:"location_name"`
	Status       ReservationStatus `bun:"status"`
	Channel      tenant.Channel    `bun:"channel"`
	PartySize    int               `bun:"party_size"`
	CardNo       string            `bun:"card_no"`
	StoragePos   string            `bun:"storage_pos"`
}

// ExportCSV writes the tenant's reservations matching f to w as CSV, one row per card, ordered by
// start time, code and card number; flush (may be nil) is called after each chunk so the rows
// reach the client while the next chunk is read. The export is audit-logged ("export.csv") with
// the filter, row count, replaced characters, size and SHA-256 of the file, and whether it was
// complete — also when writing to w failed half-way (the client went away), in which case that
// write error is returned. It returns invalid for a bad filter or encoding.
func (s *Service) ExportCSV(ctx context.Context, t *tenant.Tenant, f ExportFilter, enc Encoding, w io.Writer, flush func() error, v tenant.Actor) (_ *ExportResult, err error) {
	defer tenant.Wrap(&err, "booking.ExportCSV(%s)", t.ID)
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return writeChunkedCSV(ctx, s.db, t, chunkedCSV[exportRow]{
		header: ExportHeader, fields: (*exportRow).fields, action: "export.csv", filter: f.auditMap(),
		chunk: func(ctx context.Context, tx bun.IDB, last *exportRow) ([]exportRow, error) {
			q := tx.NewSelect().TableExpr("reservations AS r").
				Join("JOIN slots AS s ON s.tenant_id = r.tenant_id AND s.id = r.slot_id").
				Join("JOIN locations AS l ON l.tenant_id = r.tenant_id AND l.id = r.location_id").
				Join("LEFT JOIN reservation_cards AS rc ON rc.tenant_id = r.tenant_id AND rc.reservation_id = r.id").
				Join("LEFT JOIN cards AS c ON c.tenant_id = rc.tenant_id AND c.id = rc.card_id").
				ColumnExpr("r.code, r.starts_at, s.ends_at, l.name AS location_name, r.status, r.channel, r.party_size").
				ColumnExpr("coalesce(c.card_no, '') AS card_no, coalesce(c.storage_pos, '') AS storage_pos").
				OrderExpr("r.starts_at, r.code, coalesce(c.card_no, '')").
				Limit(exportChunk)
			q = f.query().where(q)
			if last != nil {
				q = q.Where("(r.starts_at, r.code, coalesce(c.card_no, '')) > (?, ?, ?)", last.StartsAt, last.Code, last.CardNo)
			}
			var rows []exportRow
			err := q.Scan(ctx, &rows)
			return rows, err
		},
	}, enc, w, flush, v)
}

func (r *exportRow) fields() []string {
	d := DateOf(r.StartsAt)
	return []string{r.Code, d.String(), WeekdayJA(d.Weekday()),
		r.StartsAt.In(JST).Format("15:04"), r.EndsAt.In(JST).Format("15:04"),
		r.LocationName, StatusLabels[r.Status], ChannelLabels[r.Channel], strconv.Itoa(r.PartySize),
		r.CardNo, r.StoragePos}
}

// CSVWriter writes CSV rows for Excel: CRLF, every field quoted, quotes
// doubled, CR/LF inside a field replaced by a space (unless PreserveLineBreaks), a ' before a field starting with = + - @,
// tab, CR or NUL (ASVS 5.0 1.2.10), and the chosen encoding (a BOM first for UTF-8). For CP932 it
// first maps the characters CP932 lacks to their usual look-alikes (〜→～, −→－, —→―, ‖→∥, ¥→￥,
// ‾→￣, ¢→￠, £→￡, ¬→￢) and then writes '?' for what is left, counting it.
type CSVWriter struct {
	w          io.Writer
	h          hash.Hash
	sjis       *encoding.Encoder
	n          int64
	replaced   int
	started    bool
	enc        Encoding
	buf        []byte
	keepBreaks bool
}

// NewCSVWriter returns a writer in enc ("" means UTF-8); invalid for an unknown encoding.
func NewCSVWriter(w io.Writer, enc Encoding) (*CSVWriter, error) {
	cw := &CSVWriter{w: w, h: sha256.New(), enc: enc}
	switch enc {
	case "", EncodingUTF8:
		cw.enc = EncodingUTF8
	case EncodingSJIS:
		cw.sjis = japanese.ShiftJIS.NewEncoder()
	default:
		return nil, &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{"encoding": "staff.export.encoding_invalid"}}
	}
	return cw, nil
}

var cp932LookAlikes = strings.NewReplacer(
	"\u301c", "\uff5e", // 〜 WAVE DASH → ～ FULLWIDTH TILDE
	"\u2212", "\uff0d", // − MINUS SIGN → －
	"\u2014", "\u2015", // — EM DASH → ― HORIZONTAL BAR
	"\u2016", "\u2225", // ‖ → ∥
	"\u00a5", "\uffe5", // ¥ → ￥
	"\u203e", "\uffe3", // ‾ OVERLINE → ￣
	"\u00a2", "\uffe0", // ¢ → ￠
	"\u00a3", "\uffe1", // £ → ￡
	"\u00ac", "\uffe2", // ¬ → ￢
)

// PreserveLineBreaks makes the writer keep CR and LF inside fields (quoted, as RFC 4180 allows)
// instead of replacing them with a space: for files a program reads back whole, such as the
// handover archive, where a mail template's lines must survive.
func (cw *CSVWriter) PreserveLineBreaks() { cw.keepBreaks = true }

// Write writes one row.
func (cw *CSVWriter) Write(fields []string) error {
	b := cw.start()
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = cw.appendField(b, f)
	}
	return cw.end(b)
}

// WriteNullable writes one row in which a nil field is NULL: an empty field without quotes,
// which PostgreSQL's COPY … CSV reads as NULL, while an empty string is written quoted ("").
func (cw *CSVWriter) WriteNullable(fields []*string) error {
	b := cw.start()
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		if f != nil {
			b = cw.appendField(b, *f)
		}
	}
	return cw.end(b)
}

func (cw *CSVWriter) start() []byte {
	b := cw.buf[:0]
	if !cw.started && cw.enc == EncodingUTF8 {
		b = append(b, 0xEF, 0xBB, 0xBF)
	}
	cw.started = true
	return b
}

func (cw *CSVWriter) end(b []byte) error {
	b = append(b, '\r', '\n')
	cw.buf = b
	n, err := cw.w.Write(b)
	cw.h.Write(b[:n])
	cw.n += int64(n)
	return err
}

func (cw *CSVWriter) appendField(b []byte, f string) []byte {
	f = EscapeFormula(f)
	if !cw.keepBreaks {
		f = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(f)
	}
	f = strings.ReplaceAll(f, `"`, `""`)
	b = append(b, '"')
	if cw.sjis != nil {
		b = cw.appendSJIS(b, cp932LookAlikes.Replace(f))
	} else {
		b = append(b, strings.ToValidUTF8(f, "\uFFFD")...)
	}
	return append(b, '"')
}

func (cw *CSVWriter) appendSJIS(b []byte, s string) []byte {
	if out, err := cw.sjis.String(s); err == nil {
		return append(b, out...)
	}
	var tmp [utf8.UTFMax]byte
	for _, r := range s {
		if r < utf8.RuneSelf {
			b = append(b, byte(r))
			continue
		}
		n := utf8.EncodeRune(tmp[:], r)
		out, err := cw.sjis.Bytes(tmp[:n])
		if err != nil || len(out) == 0 {
			b = append(b, '?')
			cw.replaced++
			continue
		}
		b = append(b, out...)
	}
	return b
}

// Result returns the size, digest and replacement count so far (Rows is the caller's).
func (cw *CSVWriter) Result() ExportResult {
	return ExportResult{Replaced: cw.replaced, Bytes: cw.n, SHA256: hex.EncodeToString(cw.h.Sum(nil))}
}

// EscapeFormula puts a ' before a value that a spreadsheet would read as a formula (one starting
// with =, +, -, @, tab, CR or NUL).
func EscapeFormula(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r\x00", rune(s[0])) {
		return "'" + s
	}
	return s
}
