package ui

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// The staff screens that follow the slot change feed (web.Live): the /admin dashboard and the
// bookings list. Each page carries data-live with its stream's address; app.js opens it and
// swaps the page's live part for each fragment. The stream routes have the same guard as their
// pages, and a stream ends with its staff session (logout, idle timeout, an account disabled).
//
// The dashboard's fragment holds no personal data and depends only on the city, the day and the
// language (its key; the day is the render's): every clerk's screen of a city shares one render per change. The bookings list is a
// search of reservations, audited as the clerk who reads it (reservation.search), so its group is
// one clerk's filter: each refresh is that clerk's audited read, at most one a second
// (bookingsLiveGap).

// bookingsLiveGap is the shortest time between two refreshes of one clerk's bookings list.
const bookingsLiveGap = time.Second

// liveFeeds registers the staff screens with the hub (nil: the screens are not live).
func (u *UI) liveFeeds(l *web.Live) {
	if l == nil {
		return
	}
	u.liveDashboard = l.Feed("staff-dashboard", u.dashboardFragment)
	u.liveBookings = l.Feed("staff-bookings", u.bookingsFragment).MinInterval(bookingsLiveGap)
}

// staffAlive reports, for a stream, whether the request's staff session still stands. A Redis
// error keeps the stream: the reconnection would fail at the guard anyway.
func (u *UI) staffAlive(c *fiber.Ctx) func(context.Context) bool {
	id := strings.Clone(staffOf(c).ID)
	return func(ctx context.Context) bool {
		ok, err := u.staffSess.Exists(ctx, id)
		return ok || err != nil
	}
}

// staffDashboardLive streams the dashboard's days (GET /admin/live/dashboard).
func (u *UI) staffDashboardLive(c *fiber.Ctx) error {
	if u.liveDashboard == nil {
		return fiber.ErrNotFound
	}
	return u.liveDashboard.StreamWhile(c, web.TenantOf(c).ID, web.LangOf(c), u.staffAlive(c))
}

// dashboardFragment draws the dashboard's days for a city in a language (the key): the page's
// "dashboard-days" block, from today as it is at the render, so an open dashboard moves on to the
// new day at the first change after midnight.
func (u *UI) dashboardFragment(ctx context.Context, tenantID uuid.UUID, lang string) ([]byte, error) {
	p := &DashboardPage{BasePage: BasePage{Page: web.Page{Lang: lang}}}
	var err error
	// The domain reads scope by the tenant's id only; the stream's guard resolved the city.
	if p.Days, err = u.dashboardDays(ctx, &tenant.Tenant{ID: tenantID}, booking.DateOf(u.now())); err != nil {
		return nil, err
	}
	return u.views.Fragment("staff/dashboard", "dashboard-days", p)
}

// staffBookingsLive streams the bookings list of the request's filter (GET /admin/live/bookings
// with the page's query).
func (u *UI) staffBookingsLive(c *fiber.Ctx) error {
	if u.liveBookings == nil {
		return fiber.ErrNotFound
	}
	s := staffOf(c)
	q := bookingsQueryOf(c, booking.DateOf(u.now()))
	v := q.values()
	if q.Page > 1 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	v.Set("_staff", s.StaffID.String())
	v.Set("_login", s.StaffLogin)
	v.Set("_ip", c.IP())
	v.Set("_lang", web.LangOf(c))
	v.Set("_today", booking.DateOf(u.now()).String())
	return u.liveBookings.StreamWhile(c, web.TenantOf(c).ID, v.Encode(), u.staffAlive(c))
}

// bookingsFragment draws one clerk's bookings list (the page's "bookings-results" block), as
// that clerk's audited read.
func (u *UI) bookingsFragment(ctx context.Context, tenantID uuid.UUID, key string) ([]byte, error) {
	v, err := url.ParseQuery(key)
	if err != nil {
		return nil, err
	}
	staffID, err := uuid.Parse(v.Get("_staff"))
	if err != nil {
		return nil, err
	}
	today, err := booking.ParseDate(v.Get("_today"))
	if err != nil {
		return nil, err
	}
	q := BookingsQuery{From: v.Get("from"), To: v.Get("to"), Location: v.Get("location"), Time: v.Get("time"),
		Status: v.Get("status"), Channel: v.Get("channel"), CardNo: v.Get("card_no"), Code: v.Get("code")}
	q.Page, _ = strconv.Atoi(v.Get("page"))
	p := &BookingsPage{BasePage: BasePage{Page: web.Page{Lang: v.Get("_lang")}}, Q: q, Today: today}
	actor := tenant.Staff(staffID, v.Get("_login"), v.Get("_ip"))
	if fields, err := u.loadBookings(ctx, &tenant.Tenant{ID: tenantID}, p, actor); err != nil {
		return nil, err
	} else if len(fields) > 0 {
		return nil, tenant.Errorf(tenant.Invalid, "error.invalid")
	}
	return u.views.Fragment("staff/bookings", "bookings-results", p)
}
