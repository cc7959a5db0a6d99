package booking

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"

	"github.com/madoguchi/madoguchi/tenant"
)

// Limits of a card CSV. A file beyond them is refused as a whole.
const (
	// ImportMaxLineBytes is the longest record (line) a card CSV may have, in bytes.
	ImportMaxLineBytes = 64 << 10
	// ImportMaxRows is the most data rows (header not counted) one card CSV may have.
	ImportMaxRows = 1_000_000
)

// The columns a card CSV may have. Every other column, above all a 個人番号 column, is dropped
// while the row is read and never stored.
const (
	colCardNo     = "製造管理番号"
	colBirth      = "生年月日"
	colName       = "氏名"
	colNameKana   = "氏名カナ"
	colStoragePos = "保管位置"
)

// Field limits, the same as the CHECK constraints of the cards table.
const (
	maxNameRunes       = 100
	maxStoragePosRunes = 50
)

// dbCardNoRE is the cards.card_no CHECK constraint: a tenant's pattern cannot widen it.
var dbCardNoRE = regexp.MustCompile(`^[0-9A-Z]{4,32}$`)

// ImportResult counts what ImportCards did with a file.
type ImportResult struct {
	Inserted  int        // new cards, status imported
	Updated   int        // existing cards whose birth date, name, kana or storage position changed
	Unchanged int        // existing cards the file left as they were
	Linked    int        // cards set to reserved because they belong to an active booking
	Rejected  []RowError // rows not imported, in file order
}

// RowError is one row of a card CSV that was not imported.
type RowError struct {
	Line   int    `json:"line"`   // line of the CSV where the row starts; the header is line 1
	Reason string `json:"reason"` // in Japanese, for the city's staff; never contains the row's values
}

// ParseCardCSV reads a card CSV (UTF-8 with or without BOM, or Shift_JIS/CP932) for tenant t.
// The header must name 製造管理番号 and 生年月日; 氏名, 氏名カナ and 保管位置 are optional and every
// other column is ignored, so a 個人番号 column never leaves the CSV reader. Each returned
// CardInput has its number normalised and its Birth reduced to MMDD (the year is dropped at once).
//
// The encoding is decided on the first 64 KiB: a BOM or valid UTF-8 means UTF-8, anything else is
// decoded as Shift_JIS (CP932). A later byte that is not valid in the chosen encoding, or one the
// Shift_JIS decoder can only replace with U+FFFD, refuses the file.
//
// Rows with a bad value or a card number already seen in the file are returned as RowErrors and
// left out. A whole-file problem — a missing required column, an encoding that is neither UTF-8
// nor Shift_JIS, a line over ImportMaxLineBytes, more than ImportMaxRows rows, broken CSV quoting
// — returns an invalid error (its key starts with "import.", Args hold the details and the cause
// is a Japanese message for the operator) and no rows.
func ParseCardCSV(r io.Reader, t *tenant.Tenant) ([]CardInput, []RowError, error) {
	return ParseCardCSVWith(r, t, DefaultImportProfile())
}

// ParseCardCSVWith is ParseCardCSV for a file whose columns are named as prof says (the tenant's
// mapping profile): prof.CardNo is read as 製造管理番号, prof.Birth as 生年月日, and so on.
func ParseCardCSVWith(r io.Reader, t *tenant.Tenant, prof ImportProfile) (_ []CardInput, _ []RowError, err error) {
	defer tenant.Wrap(&err, "booking.ParseCardCSVWith")
	var cards []CardInput
	rejected, err := parseCardCSV(r, t, prof, ImportMaxRows, func(in CardInput) error { cards = append(cards, in); return nil })
	if err != nil {
		return nil, nil, err
	}
	return cards, rejected, nil
}

// parseCardCSV reads the file and hands each good row to emit, in file order; an error from emit
// stops the read and is returned as is. A file of more than maxRows data rows is refused.
func parseCardCSV(r io.Reader, t *tenant.Tenant, prof ImportProfile, maxRows int, emit func(CardInput) error) ([]RowError, error) {
	lim := &lineLimiter{r: r, max: ImportMaxLineBytes, line: 1, start: 1}
	br := bufio.NewReaderSize(lim, ImportMaxLineBytes)
	head, err := br.Peek(ImportMaxLineBytes)
	if err != nil && err != io.EOF {
		return nil, fileError(err)
	}
	head, bom := bytes.CutPrefix(head, []byte("\uFEFF"))
	var src io.Reader = br
	sjis := !bom && !utf8.Valid(completeLines(head, len(head) < ImportMaxLineBytes))
	if sjis {
		src = transform.NewReader(br, japanese.ShiftJIS.NewDecoder())
	} else if bom {
		br.Discard(len("\uFEFF"))
	}

	cr := csv.NewReader(src)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	p := newCardParser(t, prof, emit)
	header := true
	rows := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fileError(err)
		}
		line, _ := cr.FieldPos(0)
		if !decodedOK(rec, sjis) {
			return nil, encodingError()
		}
		if header {
			if err := p.header(rec); err != nil {
				return nil, err
			}
			header = false
			continue
		}
		if blank(rec) {
			continue
		}
		if rows++; rows > maxRows {
			return nil, importError("import.too_many_rows", map[string]any{"max": maxRows},
				fmt.Sprintf("行数が上限（%d行）を超えています", maxRows))
		}
		if err := p.row(line, rec); err != nil {
			return nil, err
		}
	}
	if header {
		return nil, importError("import.header_missing", map[string]any{"column": prof.CardNo},
			fmt.Sprintf("ヘッダ行がありません（1行目に「%s」「%s」などの列名が必要です）", prof.CardNo, prof.Birth))
	}
	return p.rejected, nil
}

// cardParser turns data rows into CardInputs.
type cardParser struct {
	t        *tenant.Tenant
	prof     ImportProfile
	pattern  *regexp.Regexp
	idx      map[string]int // our column name → index
	seen     map[string]int // card number → line
	emit     func(CardInput) error
	rejected []RowError
}

func (p *cardParser) header(rec []string) error {
	p.idx = map[string]int{}
	ours := p.prof.columns() // source name → our name
	for i, h := range rec {
		h = strings.TrimSpace(strings.ReplaceAll(h, "\uFEFF", ""))
		if col, ok := ours[h]; ok {
			if _, dup := p.idx[col]; dup {
				return importError("import.header_duplicate", map[string]any{"column": h},
					fmt.Sprintf("列「%s」がヘッダに2回あります", h))
			}
			p.idx[col] = i
		}
	}
	for _, c := range [][2]string{{colCardNo, p.prof.CardNo}, {colBirth, p.prof.Birth}} {
		if _, ok := p.idx[c[0]]; !ok {
			return importError("import.header_missing", map[string]any{"column": c[1]},
				fmt.Sprintf("必須の列「%s」（%s）がヘッダ（1行目）にありません", c[1], c[0]))
		}
	}
	return nil
}

// field returns the trimmed value of column name, a copy that does not keep the CSV row alive.
func (p *cardParser) field(rec []string, name string) string {
	i, ok := p.idx[name]
	if !ok || i >= len(rec) {
		return ""
	}
	return strings.Clone(strings.TrimSpace(rec[i]))
}

// cardNo is ValidateCardNo with the tenant's pattern compiled once per file: a number the
// pattern accepts is returned at once, anything else goes through ValidateCardNo for its error.
func (p *cardParser) cardNo(s string) (string, error) {
	no := NormalizeCardNo(s)
	if no != "" && len(no) <= 32 && !(len(no) == 12 && isDigits(no)) && p.pattern.MatchString(no) {
		return no, nil
	}
	return ValidateCardNo(p.t, s)
}

func (p *cardParser) row(line int, rec []string) error {
	in, reasons := p.check(rec)
	if len(reasons) == 0 {
		if first, dup := p.seen[in.CardNo]; dup {
			reasons = append(reasons, RowReason{Column: colCardNo, Text: fmt.Sprintf("製造管理番号が重複しています（%d行目と同じ番号）", first)})
		}
	}
	if len(reasons) > 0 {
		texts := make([]string, len(reasons))
		for i, r := range reasons {
			texts[i] = r.Text
		}
		p.rejected = append(p.rejected, RowError{Line: line, Reason: strings.Join(texts, "、")})
		return nil
	}
	p.seen[in.CardNo] = line
	return p.emit(in)
}

// RowReason is one reason a card row is refused: the column it concerns (製造管理番号, 生年月日,
// 氏名, 氏名カナ, 保管位置) and the reason in Japanese, which never contains the row's values.
type RowReason struct {
	Column string
	Text   string
}

// check validates one data row as the import does; the CardInput is good when no reason is returned.
func (p *cardParser) check(rec []string) (CardInput, []RowReason) {
	var reasons []RowReason
	no, err := p.cardNo(p.field(rec, colCardNo))
	if err == nil && !dbCardNoRE.MatchString(no) {
		err = fieldError("card_no", "login.card_no.invalid")
	}
	if err != nil {
		text := "製造管理番号の形式が正しくありません"
		switch fieldKey(err, "card_no") {
		case "login.card_no.required":
			text = "製造管理番号が空です"
		case "login.card_no.my_number":
			text = "製造管理番号の列に12桁の数字があります（個人番号は取り込めません）"
		}
		reasons = append(reasons, RowReason{Column: colCardNo, Text: text})
	}
	var mmdd string
	if birth := p.field(rec, colBirth); birth == "" {
		reasons = append(reasons, RowReason{Column: colBirth, Text: "生年月日が空です"})
	} else if mmdd, err = MMDDFromBirthDate(normalizeBirthDate(birth)); err != nil {
		reasons = append(reasons, RowReason{Column: colBirth, Text: "生年月日の形式が正しくありません (YYYY-MM-DD または YYYYMMDD)"})
	}
	in := CardInput{CardNo: no, Birth: mmdd}
	for _, f := range []struct {
		col string
		max int
		dst *string
	}{
		{colName, maxNameRunes, &in.Name},
		{colNameKana, maxNameRunes, &in.NameKana},
		{colStoragePos, maxStoragePosRunes, &in.StoragePos},
	} {
		v := p.field(rec, f.col)
		switch {
		case utf8.RuneCountInString(v) > f.max:
			reasons = append(reasons, RowReason{Column: f.col, Text: fmt.Sprintf("%sが長すぎます（%d文字まで）", f.col, f.max)})
		case hasControl(v):
			reasons = append(reasons, RowReason{Column: f.col, Text: fmt.Sprintf("%sに改行や制御文字が含まれています", f.col)})
		case hasDigitRun(v, 12):
			reasons = append(reasons, RowReason{Column: f.col, Text: fmt.Sprintf("%sに12桁の数字があります（個人番号は取り込めません）", f.col)})
		default:
			*f.dst = v
		}
	}
	return in, reasons
}

// newCardParser is the parser of tenant t's rows with the tenant's card number pattern.
func newCardParser(t *tenant.Tenant, prof ImportProfile, emit func(CardInput) error) *cardParser {
	p := &cardParser{t: t, prof: prof, emit: emit, seen: map[string]int{}}
	if t != nil && t.Settings.CardNumberPattern != "" {
		p.pattern, _ = regexp.Compile(t.Settings.CardNumberPattern)
	}
	if p.pattern == nil {
		p.pattern = regexp.MustCompile(defaultCardPattern)
	}
	return p
}

// CardRow is one card typed by staff in the entry form: the columns of the card CSV.
type CardRow struct {
	CardNo, Birth, Name, NameKana, StoragePos string
}

// CheckCardRow validates a card typed by staff exactly as the import validates a row of the card
// CSV (same normalisation, the tenant's number pattern, same limits and refusals, the same
// Japanese reasons). It returns the card to add, or the reasons it is refused.
func CheckCardRow(t *tenant.Tenant, r CardRow) (CardInput, []RowReason) {
	p := newCardParser(t, ImportProfile{}, nil)
	p.idx = map[string]int{colCardNo: 0, colBirth: 1, colName: 2, colNameKana: 3, colStoragePos: 4}
	return p.check([]string{r.CardNo, r.Birth, r.Name, r.NameKana, r.StoragePos})
}

// ImportCards loads a card CSV (see ParseCardCSVWith) into tenant t with the tenant's mapping
// profile, through the staged path of CommitImport: a new card number is inserted with status
// imported and a history row (channel import); a known one gets its birth-date HMAC, name, kana
// and storage position updated when they differ, and keeps its status. Importing the same file
// again changes nothing. Rejected rows are reported in the result and skipped; the good rows are
// written in one transaction, all or nothing.
//
// progress, when not nil, is called from time to time with the rows staged so far. It returns
// invalid (nothing written) for a file the parser refuses, and the database's error (nothing
// written) when a write fails.
func (s *Service) ImportCards(ctx context.Context, t *tenant.Tenant, r io.Reader, progress func(done int)) (_ *ImportResult, err error) {
	defer tenant.Wrap(&err, "booking.ImportCards(%s)", idOf(t))
	if t == nil {
		return nil, tenant.Errorf(tenant.Internal, "error.internal").Wrap(errors.New("ImportCards needs a tenant"))
	}
	prof, err := s.ImportProfile(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	return s.CommitImport(ctx, t, prof, r, progress, nil)
}

func fieldKey(err error, field string) string {
	if e := tenant.AsError(err); e != nil {
		return e.Fields[field]
	}
	return ""
}

// normalizeBirthDate turns full-width digits and separators into ASCII and zero-pads the month
// and day of Y-M-D or Y/M/D, so "1990/3/12" reaches MMDDFromBirthDate as "19900312".
func normalizeBirthDate(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '０' && r <= '９':
			r -= '０' - '0'
		case r == '／' || r == '.' || r == '．' || r == '－' || r == '-':
			r = '/'
		}
		b.WriteRune(r)
	}
	parts := strings.Split(strings.TrimSpace(b.String()), "/")
	if len(parts) != 3 {
		return b.String()
	}
	for i := 1; i < 3; i++ {
		if len(parts[i]) == 1 {
			parts[i] = "0" + parts[i]
		}
	}
	return strings.Join(parts, "")
}

// hasControl reports whether s has a C0 or C1 control character (line breaks and tabs included).
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return true
		}
	}
	return false
}

// hasDigitRun reports whether s has n or more consecutive digits (ASCII or full-width).
func hasDigitRun(s string, n int) bool {
	run := 0
	for _, r := range s {
		if (r >= '0' && r <= '9') || (r >= '０' && r <= '９') {
			if run++; run >= n {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// decodedOK reports whether a record decoded cleanly: valid UTF-8, and for Shift_JIS no
// replacement character (which the decoder writes for bytes it cannot map).
func decodedOK(rec []string, sjis bool) bool {
	for _, f := range rec {
		if !utf8.ValidString(f) || (sjis && strings.ContainsRune(f, utf8.RuneError)) {
			return false
		}
	}
	return true
}

// completeLines trims b, a prefix of the file, to whole lines so a character cut at the end of
// the prefix does not look like invalid UTF-8. At EOF b is whole.
func completeLines(b []byte, atEOF bool) []byte {
	if atEOF {
		return b
	}
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[:i+1]
	}
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ { // no line end: drop a partial last rune
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}

// lineLimiter fails a read once a record (a line, or several lines inside a quoted field) grows
// past max bytes, so a huge line is refused without being buffered. Quotes are tracked on the
// raw bytes: '"' and '\n' are never part of a multi-byte character in UTF-8 or Shift_JIS.
type lineLimiter struct {
	r       io.Reader
	max     int
	n       int  // bytes of the current record so far
	line    int  // current line number
	start   int  // line the current record started on
	inQuote bool // inside a quoted field
	err     error
}

type lineTooLongError struct{ line int }

func (e *lineTooLongError) Error() string {
	return fmt.Sprintf("line %d is longer than %d bytes", e.line, ImportMaxLineBytes)
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	for i, c := range p[:n] {
		switch c {
		case '"':
			l.inQuote = !l.inQuote
		case '\n':
			l.line++
			if !l.inQuote {
				l.n, l.start = 0, l.line
				continue
			}
		}
		if l.n++; l.n > l.max {
			l.err = &lineTooLongError{line: l.start}
			return i, l.err
		}
	}
	return n, err
}

func importError(key string, args map[string]any, msg string) *tenant.Error {
	return tenant.Errorf(tenant.Invalid, key).WithArgs(args).Wrap(errors.New(msg))
}

func encodingError() error {
	return importError("import.encoding", nil,
		"文字コードを判別できません（UTF-8 または Shift_JIS で保存してください。機種依存文字や外字が含まれていないか確認してください）")
}

// fileError turns a read or CSV syntax error into the whole-file error an operator can act on.
func fileError(err error) error {
	var tooLong *lineTooLongError
	var perr *csv.ParseError
	switch {
	case errors.As(err, &tooLong):
		return importError("import.line_too_long", map[string]any{"line": tooLong.line, "max": ImportMaxLineBytes},
			fmt.Sprintf("%d行目が長すぎます（1行%dKiBまで）", tooLong.line, ImportMaxLineBytes>>10))
	case errors.As(err, &perr):
		return importError("import.csv_syntax", map[string]any{"line": perr.StartLine},
			fmt.Sprintf("%d行目: CSVの形式が正しくありません（引用符 \" の対応を確認してください）", perr.StartLine))
	}
	return fmt.Errorf("read card CSV: %w", err)
}
