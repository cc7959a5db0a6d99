package booking

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// The monthly report (実績報告): per place, the month's bookings by channel, visits, no-shows,
// cancellations, cards issued and mail sent or failed, with the month's uptime of the citizens'
// and the staff pages and the incidents and maintenance that concerned the city. Counts only, no
// citizen's record: the screen and the print are not audit-logged; the CSV file is. The uptime
// covers the citizen, staff, call-center and mail components (ReportComponents).
//
// Which month a figure belongs to: a booking to the month it was made in (created_at), a visit or
// no-show to the month of its visit time, a cancellation to the month it was cancelled, a card
// issued to the month of its change to 「交付済」 (and to the place of the card's latest booking not
// cancelled, or to no place when it had none), a mail to the month it was queued. Months are JST.

// Month is a calendar month (JST).
type Month struct {
	Year  int
	Month time.Month
}

var monthPattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}$`)

// ParseMonth reads "YYYY-MM" (2000-01 … 2099-12); it returns invalid with the field "month".
func ParseMonth(s string) (Month, error) {
	bad := &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{"month": "report.month.invalid"}}
	if !monthPattern.MatchString(s) {
		return Month{}, bad
	}
	y, _ := strconv.Atoi(s[:4])
	m, _ := strconv.Atoi(s[5:])
	if y < 2000 || y > 2099 || m < 1 || m > 12 {
		return Month{}, bad
	}
	return Month{Year: y, Month: time.Month(m)}, nil
}

// MonthOf is the JST month of t.
func MonthOf(t time.Time) Month {
	j := t.In(JST)
	return Month{Year: j.Year(), Month: j.Month()}
}

// String is "YYYY-MM".
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// Start is the first instant of the month (00:00 JST on the 1st).
func (m Month) Start() time.Time { return time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, JST) }

// End is the first instant of the next month.
func (m Month) End() time.Time { return m.Start().AddDate(0, 1, 0) }

// Prev is the month before; Next the month after.
func (m Month) Prev() Month { return MonthOf(m.Start().AddDate(0, -1, 0)) }

// Next is the month after m.
func (m Month) Next() Month { return MonthOf(m.End()) }

// Days is the number of days of the month.
func (m Month) Days() int { return m.End().AddDate(0, 0, -1).Day() }

// ReportFigures are the counts of one place (or of the whole city) for a month.
type ReportFigures struct {
	Web, Staff, CallCenter int // bookings made, by channel (web includes the API)
	Visited, NoShow        int
	Cancelled              int
	Issued                 int // cards changed to 交付済
	MailSent, MailFailed   int
}

// Bookings is the bookings made in all channels.
func (f ReportFigures) Bookings() int { return f.Web + f.Staff + f.CallCenter }

func (f *ReportFigures) add(o ReportFigures) {
	f.Web += o.Web
	f.Staff += o.Staff
	f.CallCenter += o.CallCenter
	f.Visited += o.Visited
	f.NoShow += o.NoShow
	f.Cancelled += o.Cancelled
	f.Issued += o.Issued
	f.MailSent += o.MailSent
	f.MailFailed += o.MailFailed
}

// ReportPlace is one place's row; LocationID is uuid.Nil for cards issued without a booking.
type ReportPlace struct {
	LocationID uuid.UUID
	Name       string
	ReportFigures
}

// ReportUptime is one component's uptime for the month (up to now for the current month).
type ReportUptime struct {
	Component tenant.Component
	Percent   float64 // 0…100; meaningless when NoData
	NoData    bool
}

// MonthReport is the monthly report of a city.
type MonthReport struct {
	Month        Month
	Places       []ReportPlace // every place with figures or still active, in display order; then the no-place row if any
	Total        ReportFigures
	Uptime       []ReportUptime
	Incidents    []tenant.Incident    // that concerned the city and were open during the month
	Maintenances []tenant.Maintenance // not cancelled, concerning the city, overlapping the month
}

// ReportComponents are the components whose uptime the report shows.
var ReportComponents = []tenant.Component{tenant.CompCitizen, tenant.CompStaff, tenant.CompCallCenter, tenant.CompMail}

// MonthlyReport returns the city's report for month m, read in one transaction with a fixed
// number of set-based statements whatever the city's size. A month after the current one is
// refused (invalid, field "month"). Counts only: not audit-logged.
func (s *Service) MonthlyReport(ctx context.Context, t *tenant.Tenant, m Month) (_ *MonthReport, err error) {
	defer tenant.Wrap(&err, "booking.MonthlyReport(%s)", t.ID)
	var r *MonthReport
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		r, err = s.monthlyReport(ctx, tx, t, m)
		return err
	})
	return r, err
}

func (s *Service) monthlyReport(ctx context.Context, tx bun.Tx, t *tenant.Tenant, m Month) (*MonthReport, error) {
	now := s.now()
	if m.Start().After(now) {
		return nil, &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{"month": "report.month.future"}}
	}
	from, to := m.Start(), m.End()
	var locs []Location
	if err := tx.NewSelect().Model(&locs).Order("sort_order", "name").Scan(ctx); err != nil {
		return nil, err
	}
	type row struct {
		LocationID uuid.NullUUID `bun:"location_id"`
		ReportFigures
	}
	var res, issued, mail []row
	if err := tx.NewRaw(`SELECT location_id,
			count(*) FILTER (WHERE created_at >= ?0 AND created_at < ?1 AND channel = 'web') AS web,
			count(*) FILTER (WHERE created_at >= ?0 AND created_at < ?1 AND channel = 'staff') AS staff,
			count(*) FILTER (WHERE created_at >= ?0 AND created_at < ?1 AND channel = 'callcenter') AS call_center,
			count(*) FILTER (WHERE starts_at >= ?0 AND starts_at < ?1 AND status = 'visited') AS visited,
			count(*) FILTER (WHERE starts_at >= ?0 AND starts_at < ?1 AND status = 'no_show') AS no_show,
			count(*) FILTER (WHERE cancelled_at >= ?0 AND cancelled_at < ?1) AS cancelled
		FROM reservations
		WHERE (created_at >= ?0 AND created_at < ?1) OR (starts_at >= ?0 AND starts_at < ?1) OR (cancelled_at >= ?0 AND cancelled_at < ?1)
		GROUP BY location_id`, from, to).Scan(ctx, &res); err != nil {
		return nil, err
	}
	// Set-based (hash joins, not a lookup per card): the cards issued in the month, each with the
	// place of its latest booking that was not cancelled.
	if err := tx.NewRaw(`WITH issued AS (
			SELECT DISTINCT card_id FROM card_status_history WHERE to_status = 'issued' AND changed_at >= ? AND changed_at < ?),
		last AS (
			SELECT DISTINCT ON (rc.card_id) rc.card_id, r.location_id
			FROM issued i JOIN reservation_cards rc ON rc.card_id = i.card_id
			JOIN reservations r ON r.tenant_id = rc.tenant_id AND r.id = rc.reservation_id
			WHERE r.status <> 'cancelled'
			ORDER BY rc.card_id, r.starts_at DESC)
		SELECT last.location_id, count(*) AS issued FROM issued LEFT JOIN last ON last.card_id = issued.card_id
		GROUP BY last.location_id`, from, to).Scan(ctx, &issued); err != nil {
		return nil, err
	}
	if err := tx.NewRaw(`SELECT r.location_id,
			count(*) FILTER (WHERE o.state = 'sent') AS mail_sent,
			count(*) FILTER (WHERE o.state = 'failed') AS mail_failed
		FROM outbox o JOIN reservations r ON r.tenant_id = o.tenant_id AND r.id = o.reservation_id
		WHERE o.created_at >= ? AND o.created_at < ?
		GROUP BY r.location_id`, from, to).Scan(ctx, &mail); err != nil {
		return nil, err
	}
	fig := map[uuid.UUID]*ReportFigures{}
	get := func(id uuid.NullUUID) *ReportFigures {
		k := uuid.Nil
		if id.Valid {
			k = id.UUID
		}
		if fig[k] == nil {
			fig[k] = &ReportFigures{}
		}
		return fig[k]
	}
	for _, x := range res {
		f := get(x.LocationID)
		f.Web, f.Staff, f.CallCenter, f.Visited, f.NoShow, f.Cancelled = x.Web, x.Staff, x.CallCenter, x.Visited, x.NoShow, x.Cancelled
	}
	for _, x := range issued {
		get(x.LocationID).Issued = x.Issued
	}
	for _, x := range mail {
		f := get(x.LocationID)
		f.MailSent, f.MailFailed = x.MailSent, x.MailFailed
	}
	r := &MonthReport{Month: m}
	for _, l := range locs {
		f, ok := fig[l.ID]
		if !ok && !l.Active {
			continue
		}
		if !ok {
			f = &ReportFigures{}
		}
		r.Places = append(r.Places, ReportPlace{LocationID: l.ID, Name: l.Name, ReportFigures: *f})
		r.Total.add(*f)
	}
	if f, ok := fig[uuid.Nil]; ok {
		r.Places = append(r.Places, ReportPlace{Name: "", ReportFigures: *f})
		r.Total.add(*f)
	}

	// The status page's data (platform tables, no citizen's data): the month's interval log,
	// the maintenances and the incidents that concerned this city.
	end := to
	if end.After(now) {
		end = now
	}
	var ivs []tenant.Interval
	if err := tx.NewSelect().Model(&ivs).Where("seen_at >= ?", from.Add(-tenant.WatchdogPeriod)).Where("started_at < ?", end).
		Order("started_at").Scan(ctx); err != nil {
		return nil, err
	}
	if err := tx.NewSelect().Model(&r.Maintenances).Where("cancelled_at IS NULL").Where("starts_at < ? AND ends_at > ?", to, from).
		Where("tenants IS NULL OR ? = ANY(tenants)", t.ID).Order("starts_at").Scan(ctx); err != nil {
		return nil, err
	}
	if err := tx.NewSelect().Model(&r.Incidents).Where("created_at < ?", to).Where("resolved_at IS NULL OR resolved_at >= ?", from).
		Where("tenants IS NULL OR ? = ANY(tenants)", t.ID).Order("created_at").Scan(ctx); err != nil {
		return nil, err
	}
	days := m.Days()
	if to.After(now) {
		days = now.In(JST).Day()
	}
	for _, c := range ReportComponents {
		u := tenant.ComputeUptime(ivs, r.Maintenances, c, end.Add(-time.Nanosecond), days)
		r.Uptime = append(r.Uptime, ReportUptime{Component: c, Percent: u.Total * 100, NoData: u.NoData})
	}
	return r, nil
}

// ReportHeader is the header row of the report's CSV.
var ReportHeader = []string{"月", "場所", "予約（Web・API）", "予約（職員）", "予約（コールセンター）", "予約計", "来庁", "来庁なし", "取消", "交付", "メール送信", "メール送信失敗"}

// ReportNoPlace names, in the CSV and on the pages, the cards issued without a booking.
const ReportNoPlace = "予約なしの交付"

func reportFields(m Month, name string, f ReportFigures) []string {
	n := strconv.Itoa
	return []string{m.String(), name, n(f.Web), n(f.Staff), n(f.CallCenter), n(f.Bookings()), n(f.Visited), n(f.NoShow),
		n(f.Cancelled), n(f.Issued), n(f.MailSent), n(f.MailFailed)}
}

// ExportMonthlyReport writes the report of month m to w as CSV for Excel (CSVWriter: UTF-8 with a
// BOM, or CP932): a row per place and a total row, then the uptime, incidents and maintenance
// lines. It is read in the same transaction that writes the audit row ("report.export": month,
// encoding, rows, bytes, SHA-256, complete or not). Invalid for a bad encoding or a future month.
func (s *Service) ExportMonthlyReport(ctx context.Context, t *tenant.Tenant, m Month, enc Encoding, w io.Writer, a tenant.Actor) (_ *ExportResult, err error) {
	defer tenant.Wrap(&err, "booking.ExportMonthlyReport(%s)", t.ID)
	cw, err := NewCSVWriter(w, enc)
	if err != nil {
		return nil, err
	}
	res := &ExportResult{}
	var writeErr error
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		r, err := s.monthlyReport(ctx, tx, t, m)
		if err != nil {
			return err
		}
		write := func(f []string) bool {
			if writeErr == nil {
				writeErr = cw.Write(f)
				if writeErr == nil {
					res.Rows++
				}
			}
			return writeErr == nil
		}
		write(ReportHeader)
		for _, p := range r.Places {
			name := p.Name
			if p.LocationID == uuid.Nil {
				name = ReportNoPlace
			}
			write(reportFields(m, name, p.ReportFigures))
		}
		write(reportFields(m, "合計", r.Total))
		write([]string{})
		write([]string{"月", "稼働率", "対象", "値"})
		for _, u := range r.Uptime {
			v := "データなし"
			if !u.NoData {
				v = strconv.FormatFloat(u.Percent, 'f', 2, 64) + "%"
			}
			write([]string{m.String(), "稼働率", ReportComponentLabels[u.Component], v})
		}
		for _, i := range r.Incidents {
			end := "継続中"
			if i.ResolvedAt != nil {
				end = i.ResolvedAt.In(JST).Format("2006-01-02 15:04")
			}
			write([]string{m.String(), "障害", i.TitleJA, i.CreatedAt.In(JST).Format("2006-01-02 15:04") + "〜" + end})
		}
		for _, x := range r.Maintenances {
			write([]string{m.String(), "計画メンテナンス", x.TitleJA, x.StartsAt.In(JST).Format("2006-01-02 15:04") + "〜" + x.EndsAt.In(JST).Format("2006-01-02 15:04")})
		}
		result := "complete"
		if writeErr != nil {
			result = "incomplete"
		}
		cr := cw.Result()
		cr.Rows = res.Rows
		*res = cr
		return a.Audit(ctx, tx, t.ID, "report.export", "", nil, map[string]any{"month": m.String(), "encoding": string(cw.enc),
			"rows": cr.Rows, "bytes": cr.Bytes, "sha256": cr.SHA256, "result": result})
	})
	if err != nil {
		return res, err
	}
	return res, writeErr
}

// ReportComponentLabels are the Japanese names of the components in the report.
var ReportComponentLabels = map[tenant.Component]string{
	tenant.CompCitizen: "住民予約", tenant.CompStaff: "職員管理", tenant.CompCallCenter: "コールセンター", tenant.CompMail: "メール送信", tenant.CompAPI: "API",
}
