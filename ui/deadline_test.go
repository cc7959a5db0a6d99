package ui_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
)

// TestDeadlineOpeningDaysHTTP: the admin counts the deadline in 開庁日; the setting is saved and
// shown, the manual says so, and a citizen sees the deadline of their booking as that date.
func TestDeadlineOpeningDaysHTTP(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	mustStaffAccount(t, e, "kanri", tenant.RoleAdmin, "admin password one")
	loc := bookingtest.MustLocation(t, e.svc, e.city, "本庁", 2)
	me := bookingtest.MustCard(t, e.svc, e.city, "0312")
	addr := serve(t, e)
	b := newBrowser(t, addr, e.city.Slug+".localhost")
	staffLogin(t, b, "kanri", "admin password one")

	b.get("/admin/settings")
	b.want(200, "締切の日数の数え方", `name="deadline_opening_days" value="" id="f-deadline_opening_days" checked`)
	b.post("/admin/settings", url.Values{"booking_deadline_days": {"2"}, "horizon_days": {"90"}, "reminder_hour": {"9"}, "deadline_opening_days": {"1"}})
	b.want(200, "設定を保存しました", `value="1" id="f-deadline_opening_days-1" checked`)
	city := freshCity(t, e)
	if !city.Settings.DeadlineOpeningDays || booking.DeadlineDays(city) != 2 {
		t.Fatalf("settings after saving = %+v", city.Settings)
	}
	admAuditHas(t, e, city, "kanri settings.update", `"deadline_opening_days": true`)
	// The dashboard's chart of the next 14 days (nothing booked yet: 0 % bars, closed days "－").
	b.get("/admin")
	b.want(200, `<svg id="fill-chart"`, "今後14日間の予約の埋まり具合", `id="fill-table"`, ">本庁</text>", ">0%</text>")
	b.get("/admin/help")
	b.want(200, "来庁日の開庁日で2日前まで")

	slot := bookingtest.FirstSlot(t, e.svc, city, loc, e.clock.Now())
	if _, err := e.svc.Reserve(ctx, city, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{me.ID}, Email: "a@example.jp", Actor: tenant.Citizen("")}); err != nil {
		t.Fatal(err)
	}
	day := booking.DateFromDB(slot.Day)
	deadline := booking.DeadlineDay(city, day)
	if !booking.IsOpeningDay(deadline) || !deadline.Before(day.AddDays(-1)) {
		t.Fatalf("DeadlineDay(%s) = %s", day, deadline)
	}
	c := newBrowser(t, addr, e.city.Slug+".localhost")
	c.get("/login")
	c.post("/login", url.Values{"card_no": {me.CardNo}, "month": {"3"}, "day": {"12"}})
	c.get("/reservation")
	c.want(200, booking.FormatDate("ja", deadline))

	// The booking shows in the chart: its day's bar is no longer 0 %.
	b.get("/admin")
	fill := day.AddDays(0)
	if n := fillPercentOf(t, e, city, loc.ID, fill); n == 0 || !strings.Contains(b.last, fmt.Sprintf(">%d%%</text>", n)) {
		t.Errorf("the chart lacks the %d %% of %s", n, fill)
	}
}

func fillPercentOf(t *testing.T, e *env, city *tenant.Tenant, loc uuid.UUID, d booking.Date) int {
	t.Helper()
	places, err := e.svc.FillRates(context.Background(), city, d, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range places {
		if p.LocationID == loc {
			return p.Days[0].Percent()
		}
	}
	return -1
}
