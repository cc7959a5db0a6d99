package ui

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// BookingsQuery is the bookings filter form as typed, echoed back into the fields.
type BookingsQuery struct {
	From, To, Location, Time, Status, Channel, CardNo, Code string
	Page                                                    int
}

// BookingsPage is the data of staff/bookings.html.
type BookingsPage struct {
	BasePage
	Self      string // this page's address with its query, for the language switch
	Q         BookingsQuery
	Locations []booking.Location
	Statuses  []booking.ReservationStatus
	Channels  []tenant.Channel
	List      *booking.ReservationList
	PrevURL   string
	NextURL   string
	ExportURL string
	Today     booking.Date
	LiveURL   string // the list's live stream (data-live); "" when not live or the filter is invalid
}

// BookingDetailPage is the data of staff/bookings_detail.html, bookings_cancel.html and the
// change pages.
type BookingDetailPage struct {
	BasePage
	Self      string
	R         *booking.ReservationView
	CanChange bool
	CanNoShow bool // booked and its time has started: 「来庁なし」 may be recorded
	// change pages
	Day      string
	DayDate  booking.Date
	HasDay   bool
	Slots    []booking.Slot
	NewSlot  *booking.Slot
	ErrorKey string
}

// parseDay reads a date typed or picked as YYYY-MM-DD (also YYYY/MM/DD and full-width digits);
// "" is the zero Date.
func parseDay(s string) (booking.Date, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return booking.Date{}, true
	}
	s = strings.NewReplacer("/", "-", "／", "-", "－", "-", "年", "-", "月", "-", "日", "").Replace(s)
	var b strings.Builder
	for _, r := range s {
		if r >= '０' && r <= '９' {
			r = r - '０' + '0'
		}
		b.WriteRune(r)
	}
	parts := strings.Split(b.String(), "-")
	if len(parts) != 3 {
		return booking.Date{}, false
	}
	for i := 1; i < 3; i++ {
		if len(parts[i]) == 1 {
			parts[i] = "0" + parts[i]
		}
	}
	d, err := booking.ParseDate(strings.Join(parts, "-"))
	return d, err == nil
}

func (q BookingsQuery) values() url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"from": q.From, "to": q.To, "location": q.Location, "time": q.Time,
		"status": q.Status, "channel": q.Channel, "card_no": q.CardNo, "code": q.Code} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v
}

// bookingsQueryOf reads the bookings filter form from the query; the first visit, without any
// query, shows bookings from today on.
func bookingsQueryOf(c *fiber.Ctx, today booking.Date) BookingsQuery {
	q := BookingsQuery{From: strings.Clone(c.Query("from")), To: strings.Clone(c.Query("to")),
		Location: strings.Clone(c.Query("location")), Time: strings.Clone(c.Query("time")),
		Status: strings.Clone(c.Query("status")), Channel: strings.Clone(c.Query("channel")),
		CardNo: strings.Clone(c.Query("card_no")), Code: strings.Clone(c.Query("code"))}
	q.Page, _ = strconv.Atoi(c.Query("page"))
	if len(c.Request().URI().QueryString()) == 0 {
		q.From = today.String()
	}
	return q
}

// staffBookings lists reservations by date and time with the filters of a GET form (bookmarkable,
// Back works). The first visit, without any query, shows bookings from today on.
func (u *UI) staffBookings(c *fiber.Ctx) error {
	today := booking.DateOf(u.now())
	p := &BookingsPage{BasePage: u.base(c), Self: selfURL(c), Q: bookingsQueryOf(c, today), Today: today}
	fields, err := u.loadBookings(c.UserContext(), web.TenantOf(c), p, staffActorOf(c))
	if err != nil {
		return err
	}
	if len(fields) > 0 {
		p.Errors = fields
		c.Status(fiber.StatusUnprocessableEntity)
		return u.render(c, "staff/bookings", p)
	}
	if u.liveBookings != nil {
		p.LiveURL = "/admin/live/bookings"
		if qs := string(c.Request().URI().QueryString()); qs != "" {
			p.LiveURL += "?" + qs
		}
	}
	return u.render(c, "staff/bookings", p)
}

// loadBookings fills p (its Q and Today set) with the locations, the search's page of bookings
// (an audited read as actor) and the paging and export links; invalid filters come back as
// field → message key, with p.List nil.
func (u *UI) loadBookings(ctx context.Context, t *tenant.Tenant, p *BookingsPage, actor tenant.Actor) (map[string]string, error) {
	q := p.Q
	p.Statuses, p.Channels = booking.ReservationStatuses, booking.Channels
	locs, err := u.deps.Booking.Locations(ctx, t.ID, false)
	if err != nil {
		return nil, err
	}
	p.Locations = locs
	f := booking.ReservationFilter{Clock: q.Time, Status: booking.ReservationStatus(q.Status),
		Channel: tenant.Channel(q.Channel), CardNo: q.CardNo, Code: q.Code, Page: q.Page}
	fields := map[string]string{}
	var ok bool
	if f.From, ok = parseDay(q.From); !ok {
		fields["from"] = "staff.bookings.filter.date_invalid"
	}
	if f.To, ok = parseDay(q.To); !ok {
		fields["to"] = "staff.bookings.filter.date_invalid"
	}
	if q.Location != "" {
		if f.LocationID, err = uuid.Parse(q.Location); err != nil {
			fields["location"] = "staff.bookings.filter.location_invalid"
		}
	}
	if len(fields) == 0 {
		p.List, err = u.deps.Booking.SearchReservations(ctx, t, f, actor)
		if e := tenant.AsError(err); e != nil && e.Code == tenant.Invalid {
			fields = e.Fields
		} else if err != nil {
			return nil, err
		}
	}
	if len(fields) > 0 {
		p.List = nil
		return fields, nil
	}
	v := q.values()
	if p.List.Page > 1 {
		v.Set("page", strconv.Itoa(p.List.Page-1))
		p.PrevURL = "/admin/bookings?" + v.Encode()
	}
	if p.List.Page < p.List.Pages() {
		v.Set("page", strconv.Itoa(p.List.Page+1))
		p.NextURL = "/admin/bookings?" + v.Encode()
	}
	ev := url.Values{}
	for _, k := range []string{"from", "to", "location", "status"} {
		if x := v.Get(k); x != "" {
			ev.Set(k, x)
		}
	}
	p.ExportURL = "/admin/export?" + ev.Encode()
	return nil, nil
}

// selfURL is the request's path and query, where the language switch returns to.
func selfURL(c *fiber.Ctx) string { return strings.Clone(c.OriginalURL()) }

// bookingParam reads the :id of the path; anything but a UUID is not found.
func bookingParam(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, fiber.ErrNotFound
	}
	return id, nil
}

// loadBookingPage reads the reservation (an audited read; another city's id is not found).
func (u *UI) loadBookingPage(c *fiber.Ctx) (*BookingDetailPage, error) {
	id, err := bookingParam(c)
	if err != nil {
		return nil, err
	}
	rv, err := u.deps.Booking.ReservationForStaff(c.UserContext(), web.TenantOf(c), id, staffActorOf(c))
	if err != nil {
		return nil, err
	}
	p := &BookingDetailPage{BasePage: u.base(c), Self: selfURL(c), R: rv}
	p.CanChange = rv.Status == booking.Booked && rv.Slot.StartsAt.After(u.now())
	p.CanNoShow = rv.Status == booking.Booked && !rv.Slot.StartsAt.After(u.now())
	return p, nil
}

func (u *UI) staffBookingDetail(c *fiber.Ctx) error {
	p, err := u.loadBookingPage(c)
	if err != nil {
		return err
	}
	if err := u.staffTakeFlash(c, &p.BasePage); err != nil {
		return err
	}
	return u.render(c, "staff/bookings_detail", p)
}

// staffBookingCancelShow is the check page before cancelling (UX rule 12).
func (u *UI) staffBookingCancelShow(c *fiber.Ctx) error {
	p, err := u.loadBookingPage(c)
	if err != nil {
		return err
	}
	if p.R.Status != booking.Booked {
		return c.Redirect("/admin/bookings/"+p.R.ID.String(), fiber.StatusSeeOther)
	}
	return u.render(c, "staff/bookings_cancel", p)
}

// staffBookingCancel cancels on the citizen's behalf; the citizens' deadline does not apply.
func (u *UI) staffBookingCancel(c *fiber.Ctx) error {
	id, err := bookingParam(c)
	if err != nil {
		return err
	}
	if err := u.deps.Booking.Cancel(c.UserContext(), web.TenantOf(c), id, staffActorOf(c)); err != nil {
		return err
	}
	return u.staffFlashRedirect(c, "staff.bookings.cancelled", "/admin/bookings/"+id.String())
}

// staffBookingChangeShow lets staff pick a day and then one of that day's free times at the same
// location.
func (u *UI) staffBookingChangeShow(c *fiber.Ctx) error {
	p, err := u.loadBookingPage(c)
	if err != nil {
		return err
	}
	if !p.CanChange {
		return c.Redirect("/admin/bookings/"+p.R.ID.String(), fiber.StatusSeeOther)
	}
	day := strings.Clone(c.Query("day"))
	if day == "" {
		day = booking.DateOf(p.R.Slot.StartsAt).String()
	}
	return u.renderChange(c, p, day, "")
}

func (u *UI) renderChange(c *fiber.Ctx, p *BookingDetailPage, day, errKey string) error {
	p.Day = day
	d, ok := parseDay(day)
	switch {
	case !ok || d == (booking.Date{}):
		p.Errors = map[string]string{"day": "staff.bookings.filter.date_invalid"}
		c.Status(fiber.StatusUnprocessableEntity)
	default:
		slots, err := u.deps.Booking.SlotsOn(c.UserContext(), web.TenantOf(c), p.R.LocationID, d, staffActorOf(c))
		if err != nil {
			return err
		}
		p.DayDate, p.HasDay, p.Day = d, true, d.String()
		for _, s := range slots {
			if s.ID != p.R.SlotID {
				p.Slots = append(p.Slots, s)
			}
		}
	}
	if errKey != "" {
		if p.Errors == nil {
			p.Errors = map[string]string{}
		}
		p.Errors["slot"] = errKey
		if c.Response().StatusCode() == fiber.StatusOK {
			c.Status(fiber.StatusUnprocessableEntity)
		}
	}
	return u.render(c, "staff/bookings_change", p)
}

// staffBookingChangeConfirm is the check page: the time before and after.
func (u *UI) staffBookingChangeConfirm(c *fiber.Ctx) error {
	p, err := u.loadBookingPage(c)
	if err != nil {
		return err
	}
	if !p.CanChange {
		return c.Redirect("/admin/bookings/"+p.R.ID.String(), fiber.StatusSeeOther)
	}
	slot, key := u.chosenSlot(c, p, c.Query("slot"))
	if key != "" {
		return u.renderChange(c, p, strings.Clone(c.Query("day")), key)
	}
	p.NewSlot = slot
	return u.render(c, "staff/bookings_change_confirm", p)
}

// chosenSlot loads the chosen slot and checks it is at the reservation's location.
func (u *UI) chosenSlot(c *fiber.Ctx, p *BookingDetailPage, raw string) (*booking.Slot, string) {
	id, err := uuid.Parse(raw)
	if err != nil {
		return nil, "staff.bookings.change.slot_required"
	}
	slot, err := u.deps.Booking.SlotByID(c.UserContext(), web.TenantOf(c), id)
	if err != nil || slot.LocationID != p.R.LocationID {
		return nil, "staff.bookings.change.slot_required"
	}
	return slot, ""
}

// staffBookingChange moves the reservation; a full or closed time sends staff back to the times.
func (u *UI) staffBookingChange(c *fiber.Ctx) error {
	p, err := u.loadBookingPage(c)
	if err != nil {
		return err
	}
	slot, key := u.chosenSlot(c, p, c.FormValue("slot"))
	if key != "" {
		return u.renderChange(c, p, booking.DateOf(p.R.Slot.StartsAt).String(), key)
	}
	_, err = u.deps.Booking.Change(c.UserContext(), web.TenantOf(c), p.R.ID, slot.ID, uuid.Nil, staffActorOf(c))
	if e := tenant.AsError(err); e != nil && (e.Key == "slot.full" || e.Key == "slot.closed" || e.Key == "reserve.same_slot") {
		c.Status(web.StatusOf(e.Code))
		return u.renderChange(c, p, booking.DateFromDB(slot.Day).String(), e.Key)
	}
	if err != nil {
		return err
	}
	return u.staffFlashRedirect(c, "staff.bookings.changed", "/admin/bookings/"+p.R.ID.String())
}
