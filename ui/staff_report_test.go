package ui_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/uitest"
)

// reportSeed writes a month of activity for the report directly (its figures are what the test
// checks, whatever day the test runs): month m is the month before the env clock's.
type reportSeed struct {
	m           booking.Month
	main, north *booking.Location
}

func seedReportMonth(t *testing.T, e *env) reportSeed {
	t.Helper()
	ctx := context.Background()
	locs, err := e.svc.Locations(ctx, e.city.ID, false)
	if err != nil || len(locs) == 0 {
		t.Fatal(locs, err)
	}
	s := reportSeed{m: booking.MonthOf(e.now()).Prev(), main: &locs[0]}
	s.north = bookingtest.MustLocation(t, e.svc, e.city, "北支所", 2)
	slot := bookingtest.FirstSlot(t, e.svc, e.city, s.north, e.now())
	at := func(days, hours int) time.Time {
		return s.m.Start().AddDate(0, 0, days).Add(time.Duration(hours) * time.Hour)
	}
	c1 := bookingtest.MustCard(t, e.svc, e.city, "0101")
	c2 := bookingtest.MustCard(t, e.svc, e.city, "0202")
	c3 := bookingtest.MustCard(t, e.svc, e.city, "0303")
	type res struct {
		loc             uuid.UUID
		channel, status string
		created, starts time.Time
		cancelled       *time.Time
		card            uuid.UUID
		mail            string
	}
	cancelledAt := at(4, 10)
	rows := []res{
		{s.main.ID, "web", "visited", at(0, 10), at(2, 10), nil, c1.ID, "sent"},
		{s.main.ID, "web", "no_show", at(0, 11), at(3, 10), nil, uuid.Nil, "failed"},
		{s.main.ID, "staff", "booked", at(1, 10), at(40, 10), nil, uuid.Nil, ""},
		{s.main.ID, "callcenter", "cancelled", at(1, 11), at(6, 10), &cancelledAt, uuid.Nil, ""},
		{s.main.ID, "web", "visited", at(-3, 10), at(5, 10), nil, uuid.Nil, ""}, // booked the month before
		{s.north.ID, "web", "visited", at(9, 10), at(11, 10), nil, uuid.Nil, "sent"},
	}
	err = tenant.InTx(ctx, e.db.App, e.city.ID, func(ctx context.Context, tx bun.Tx) error {
		for i, r := range rows {
			var id uuid.UUID
			if err := tx.NewRaw(`INSERT INTO reservations (tenant_id, code, slot_id, location_id, starts_at, status, channel, party_size, created_at, updated_at, cancelled_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) RETURNING id`, e.city.ID, fmt.Sprintf("RPTXXXX%d", i+2), slot.ID, r.loc, r.starts, r.status, r.channel,
				r.created, r.created, r.cancelled).Scan(ctx, &id); err != nil {
				return err
			}
			if r.card != uuid.Nil {
				if _, err := tx.ExecContext(ctx, `INSERT INTO reservation_cards (tenant_id, reservation_id, card_id, active) VALUES (?, ?, ?, false)`, e.city.ID, id, r.card); err != nil {
					return err
				}
			}
			if r.mail != "" {
				if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (tenant_id, kind, reservation_id, state, created_at, updated_at) VALUES (?, 'reservation_created', ?, ?, ?, ?)`,
					e.city.ID, id, r.mail, r.created, r.created); err != nil {
					return err
				}
			}
		}
		// Issued: c1 at its booking's place, c2 without a booking, c3 the month after (not counted).
		for _, h := range []struct {
			card uuid.UUID
			at   time.Time
		}{{c1.ID, at(2, 11)}, {c2.ID, at(7, 10)}, {c3.ID, at(45, 10)}} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO card_status_history (tenant_id, card_id, from_status, to_status, channel, changed_at) VALUES (?, ?, 'visited', 'issued', 'staff', ?)`,
				e.city.ID, h.card, h.at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The status page: an incident for every city, one for another city only, a maintenance of
	// this city, and the citizen pages' log: 10 days up, then one hour of major outage.
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO status_incidents (title_ja, title_en, impact, components, status, created_at, updated_at, resolved_at, created_by)
			VALUES ('予約画面の表示の遅れ', 'Slow booking pages', 'minor', '{"citizen":"degraded_performance"}', 'resolved', ?, ?, ?, 'ops')`, []any{at(8, 1), at(8, 3), at(8, 3)}},
		{`INSERT INTO status_incidents (title_ja, title_en, impact, components, tenants, status, created_at, updated_at, created_by)
			VALUES ('他市だけの障害', 'Another city', 'minor', '{"citizen":"major_outage"}', ARRAY[?::uuid], 'investigating', ?, ?, 'ops')`, []any{uuid.New(), at(9, 1), at(9, 1)}},
		{`INSERT INTO status_maintenances (title_ja, title_en, body_ja, body_en, components, tenants, announce_at, starts_at, ends_at, created_at, updated_at, created_by)
			VALUES ('データベースの更新', 'Database upgrade', '', '', '{citizen}', ARRAY[?::uuid], ?, ?, ?, ?, ?, 'ops')`, []any{e.city.ID, at(10, 0), at(14, 1), at(14, 3), at(10, 0), at(10, 0)}},
		{`INSERT INTO status_intervals (component, state, started_at, seen_at) VALUES ('citizen', 'operational', ?, ?), ('citizen', 'major_outage', ?, ?)`,
			[]any{at(0, 0), at(10, 0).Add(-time.Minute), at(10, 0), at(10, 1).Add(-time.Minute)}},
	} {
		if _, err := e.db.App.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestMonthlyReportHTTP: the report's figures for a seeded month on the screen, in the CSV
// (audit-logged) and on the print view; an empty month; bad months refused in Japanese, never a 500.
func TestMonthlyReportHTTP(t *testing.T) {
	e := newEnv(t, nil)
	s := seedReportMonth(t, e)
	mustStaffAccount(t, e, "madoguchi1", tenant.RoleStaff, "staff password one")
	addr := serve(t, e)
	b := newBrowser(t, addr, e.city.Slug+".localhost")
	staffLogin(t, b, "madoguchi1", "staff password one")
	m := s.m.String()

	b.get("/admin")
	b.want(200, `href="/admin/reports"`, "実績報告（月次）")
	b.get("/admin/reports?month=" + m)
	// 本庁: web 2, staff 1, call center 1 (4), visits 2, no-show 1, cancelled 1, issued 1, mail 1/1.
	// 北支所: web 1, visit 1, mail 1. Issued without booking: 1.
	b.want(200, fmt.Sprintf("実績報告 %d年%d月", s.m.Year, int(s.m.Month)), `<svg id="report-chart"`,
		"<th scope=\"row\">本庁 &lt;script&gt;</th><td>2</td><td>1</td><td>1</td><td>4</td><td>2</td><td>1</td><td>1</td><td>1</td><td>1</td><td>1</td>",
		"<th scope=\"row\">北支所</th><td>1</td><td>0</td><td>0</td><td>1</td><td>1</td><td>0</td><td>0</td><td>0</td><td>1</td><td>0</td>",
		"<th scope=\"row\">予約なしの交付</th><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>1</td><td>0</td><td>0</td>",
		"<th scope=\"row\">合計</th><td>3</td><td>1</td><td>1</td><td>5</td><td>3</td><td>1</td><td>1</td><td>2</td><td>2</td><td>1</td>",
		"予約画面の表示の遅れ", "データベースの更新", "99.59%", "データなし")
	if strings.Contains(b.last, "他市だけの障害") {
		t.Error("the report shows another city's incident")
	}

	b.get("/admin/reports.csv?encoding=utf8&month=" + m)
	if b.status != 200 || !strings.HasPrefix(b.last, "\ufeff") || !strings.Contains(b.header.Get("Content-Disposition"), "report_"+m) {
		t.Fatalf("csv: %d %q %.200q", b.status, b.header, b.last)
	}
	for _, want := range []string{
		`"` + m + `","本庁 <script>","2","1","1","4","2","1","1","1","1","1"`,
		`"` + m + `","予約なしの交付","0","0","0","0","0","0","0","1","0","0"`,
		`"` + m + `","合計","3","1","1","5","3","1","1","2","2","1"`,
		`"稼働率","住民予約","99.59%"`, `"障害","予約画面の表示の遅れ"`, `"計画メンテナンス","データベースの更新"`,
	} {
		if !strings.Contains(b.last, want) {
			t.Errorf("csv lacks %s:\n%s", want, b.last)
		}
	}
	admAuditHas(t, e, e.city, "madoguchi1 report.export", `"month": "`+m+`"`, `"result": "complete"`)
	b.get("/admin/reports.csv?encoding=sjis&month=" + m)
	if b.status != 200 || !strings.Contains(b.header.Get("Content-Type"), "Shift_JIS") {
		t.Fatalf("sjis csv: %d %q", b.status, b.header)
	}

	b.get("/admin/reports/print?month=" + m)
	b.want(200, `print.css`, `<svg id="report-chart"`, `class="print-doc"`, "<th scope=\"row\">合計</th><td>3</td>")

	// A month without activity: zeros, no incident, no maintenance.
	empty := s.m.Prev().Prev().String()
	b.get("/admin/reports?month=" + empty)
	b.want(200, "<th scope=\"row\">合計</th><td>0</td><td>0</td><td>0</td><td>0</td>", "この月に本市に影響した障害はありません。",
		"この月に本市に関係する計画メンテナンスはありません。")
	// The current month by default.
	b.get("/admin/reports")
	b.want(200, fmt.Sprintf("実績報告 %d年%d月", e.clock.Now().In(booking.JST).Year(), int(e.clock.Now().In(booking.JST).Month())))

	// Bad months: the Japanese reason, 422, nothing written.
	before := len(admAudit(t, e, e.city))
	for _, bad := range []string{"2026-13", "abc", "2026-1", "1999-12", "２０２６-０１", booking.MonthOf(e.clock.Now()).Next().String()} {
		for _, path := range []string{"/admin/reports?month=", "/admin/reports/print?month=", "/admin/reports.csv?encoding=utf8&month="} {
			b.get(path + bad)
			b.want(422, "エラー：")
			if !strings.Contains(b.last, "半角の年（4桁）と月（2桁）") && !strings.Contains(b.last, "まだ始まっていない月") {
				t.Errorf("%s%s: no Japanese reason: %.800s", path, bad, b.last)
			}
		}
	}
	b.get("/admin/reports.csv?encoding=ebcdic&month=" + m)
	b.want(422, "文字コードを選んでください。")
	if after := len(admAudit(t, e, e.city)); after != before {
		t.Errorf("refused requests wrote %d audit rows", after-before)
	}
}

// TestE2EStaffReport drives ui/e2e/staff-report.mjs in Chromium at phone and desktop size: the
// report of a seeded month (table, chart, incidents), a refused month and the print view, with axe
// on every page and the manual's screenshot.
func TestE2EStaffReport(t *testing.T) {
	e := newBrowserEnv(t, nil)
	s := seedReportMonth(t, e)
	admAccount(t, e, e.city, "e2e.report", tenant.RoleStaff, "report password for e2e")
	base := uitest.Serve(t, e.app)
	uitest.RunScript(t, "staff-report.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{
		"login": "e2e.report", "password": "report password for e2e", "month": s.m.String(), "place": "北支所",
	})
}
