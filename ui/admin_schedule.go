package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// AdminSchedulePage is the data of admin/schedule.html: one location's weekly opening windows,
// its dated overrides (休日開庁・夜間窓口・閉庁・定員変更, spec 3(3)エ) and the slots whose bookings
// now exceed their capacity.
type AdminSchedulePage struct {
	BasePage
	Location    *booking.Location
	HorizonDays int
	Days        []scheduleDay
	Overrides   []overrideView
	Flagged     []booking.Slot
	Override    overrideForm
	OvErrors    map[string]string // override form: field → message key
	Summary     []summaryItem     // the error summary of whichever form was posted
	SlotLengths []int
	MinDay      string // today, as the date field's example
}

// scheduleDay is one weekday's rows of the weekly form.
type scheduleDay struct {
	Weekday int
	Name    string
	Rows    []scheduleRow
}

// scheduleRow is one window row of the weekly form; blank rows are ignored on save.
type scheduleRow struct {
	Key                                string // form name prefix: "w{weekday}_{index}"
	Label                              string // screen-reader context: 「月曜日・1行目」
	Start, End, Slot, Capacity         string
	Delete, Filled                     bool
	StartErr, EndErr, SlotErr, CapErr  string // message keys
	StartID, EndID, SlotID, CapacityID string // element ids
}

// overrideView is one dated override as listed.
type overrideView struct {
	ID       uuid.UUID
	Day      booking.Date
	Kind     booking.OverrideKind
	KindKey  string
	Window   string // "17:15～19:00", empty for close and capacity
	Slot     int
	Capacity int
	HasCap   bool
	Note     string
}

// overrideForm is the add-override form as posted.
type overrideForm struct {
	Day, Kind, Start, End, Slot, Capacity, Note string
}

// summaryItem is one line of the error summary: a link to the field and its message.
type summaryItem struct {
	Href, Prefix, Key string
}

// scheduleWeekdays lists the weekdays in the order a Japanese office week reads: 月 … 日.
var scheduleWeekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

const (
	rowsPerWeekday = 3   // blank rows shown per weekday (at least one more than the windows)
	maxRowsPerDay  = 144 // rows read per weekday from a post: 24 h of non-overlapping 10-minute windows
)

func (u *UI) adminScheduleShow(c *fiber.Ctx) error {
	l, err := u.adminLocation(c)
	if err != nil {
		return err
	}
	ws, err := u.deps.Booking.WeeklyWindows(c.UserContext(), web.TenantOf(c), l.ID)
	if err != nil {
		return err
	}
	p, err := u.schedulePage(c, l, daysFromWindows(ws), overrideForm{Kind: string(booking.OverrideOpen), Slot: "30"}, nil)
	if err != nil {
		return err
	}
	if err := u.staffTakeFlash(c, &p.BasePage); err != nil {
		return err
	}
	return u.render(c, "admin/schedule", p)
}

// adminScheduleSaveWeekly replaces the weekly windows with the filled rows and regenerates the
// slots; rows with errors re-render the page with each error at its row.
func (u *UI) adminScheduleSaveWeekly(c *fiber.Ctx) error {
	l, err := u.adminLocation(c)
	if err != nil {
		return err
	}
	days := parseWeekForm(c)
	ws, ok := validateWeek(days)
	if ok {
		err := u.deps.Booking.SetWeeklySchedule(c.UserContext(), web.TenantOf(c), l.ID, ws, staffActorOf(c))
		if e := tenant.AsError(err); e != nil && e.Code == tenant.Invalid {
			days[0].Rows[0].StartErr = firstKey(e)
		} else if err != nil {
			return err
		} else {
			return u.staffFlashRedirect(c, "admin.schedule.weekly.saved", "/admin/locations/"+l.ID.String()+"/schedule")
		}
	}
	p, err := u.schedulePage(c, l, days, overrideForm{Kind: string(booking.OverrideOpen), Slot: "30"}, nil)
	if err != nil {
		return err
	}
	c.Status(fiber.StatusUnprocessableEntity)
	return u.render(c, "admin/schedule", p)
}

// adminScheduleAddOverride adds one dated override: 休日開庁・夜間窓口 (an extra window), 閉庁 or
// 定員変更.
func (u *UI) adminScheduleAddOverride(c *fiber.Ctx) error {
	l, err := u.adminLocation(c)
	if err != nil {
		return err
	}
	f := overrideForm{
		Day: strings.Clone(c.FormValue("o_day")), Kind: strings.Clone(c.FormValue("o_kind")), Start: strings.Clone(c.FormValue("o_start")),
		End: strings.Clone(c.FormValue("o_end")), Slot: strings.Clone(c.FormValue("o_slot")), Capacity: strings.Clone(c.FormValue("o_capacity")),
		Note: strings.Clone(c.FormValue("o_note")),
	}
	day, kind, w, errs := f.parse(booking.DateOf(u.now()))
	if len(errs) == 0 {
		err := u.deps.Booking.AddOverride(c.UserContext(), web.TenantOf(c), l.ID, day, kind, w, strings.TrimSpace(f.Note), staffActorOf(c))
		if e := tenant.AsError(err); e != nil && e.Code == tenant.Invalid {
			errs = overrideFieldErrors(e)
		} else if err != nil {
			return err
		} else {
			return u.staffFlashRedirect(c, "admin.schedule.override.added", "/admin/locations/"+l.ID.String()+"/schedule")
		}
	}
	ws, err := u.deps.Booking.WeeklyWindows(c.UserContext(), web.TenantOf(c), l.ID)
	if err != nil {
		return err
	}
	p, err := u.schedulePage(c, l, daysFromWindows(ws), f, errs)
	if err != nil {
		return err
	}
	c.Status(fiber.StatusUnprocessableEntity)
	return u.render(c, "admin/schedule", p)
}

func (u *UI) schedulePage(c *fiber.Ctx, l *booking.Location, days []scheduleDay, of overrideForm, ovErrs map[string]string) (*AdminSchedulePage, error) {
	ctx, t := c.UserContext(), web.TenantOf(c)
	today := booking.DateOf(u.now())
	ovs, err := u.deps.Booking.OverridesFrom(ctx, t, l.ID, today)
	if err != nil {
		return nil, err
	}
	flagged, err := u.deps.Booking.FlaggedSlots(ctx, t, l.ID)
	if err != nil {
		return nil, err
	}
	p := &AdminSchedulePage{BasePage: u.base(c), Location: l, HorizonDays: booking.HorizonDays(t), Days: days, Flagged: flagged,
		Override: of, OvErrors: ovErrs, SlotLengths: booking.SlotLengths, MinDay: today.String()}
	for _, o := range ovs {
		p.Overrides = append(p.Overrides, viewOverride(o))
	}
	p.Errors = map[string]string{}
	for di := range days {
		d := &days[di]
		d.Name = booking.WeekdayJA(time.Weekday(d.Weekday)) + "曜日"
		if p.Lang == "en" {
			d.Name = time.Weekday(d.Weekday).String()
		}
		for ri := range d.Rows {
			r := &d.Rows[ri]
			r.Label = u.locales.T(p.Lang, "admin.schedule.row", map[string]any{"day": d.Name, "n": ri + 1})
			for _, e := range []struct{ id, key, what string }{{r.StartID, r.StartErr, "start"}, {r.EndID, r.EndErr, "end"}, {r.SlotID, r.SlotErr, "slot"}, {r.CapacityID, r.CapErr, "capacity"}} {
				if e.key != "" {
					p.Summary = append(p.Summary, summaryItem{Href: "#" + e.id, Prefix: r.Label, Key: e.key})
					p.Errors[e.id] = e.key
				}
			}
		}
	}
	for _, name := range []string{"o_day", "o_kind", "o_start", "o_end", "o_slot", "o_capacity", "o_note"} {
		if key := ovErrs[name]; key != "" {
			p.Summary = append(p.Summary, summaryItem{Href: "#f-" + name, Key: key})
			p.Errors[name] = key
		}
	}
	if len(p.Errors) == 0 {
		p.Errors = nil
	}
	return p, nil
}

// daysFromWindows lays saved windows out as form rows, with blank rows to add more.
func daysFromWindows(ws []booking.Window) []scheduleDay {
	byDay := map[time.Weekday][]booking.Window{}
	for _, w := range ws {
		byDay[w.Weekday] = append(byDay[w.Weekday], w)
	}
	var days []scheduleDay
	for _, wd := range scheduleWeekdays {
		d := scheduleDay{Weekday: int(wd)}
		n := max(rowsPerWeekday, len(byDay[wd])+1)
		for i := range n {
			r := newScheduleRow(wd, i)
			if i < len(byDay[wd]) {
				w := byDay[wd][i]
				r.Start, r.End, r.Slot, r.Capacity, r.Filled = w.Start.String(), w.End.String(), strconv.Itoa(w.SlotMinutes), strconv.Itoa(w.Capacity), true
			}
			d.Rows = append(d.Rows, r)
		}
		days = append(days, d)
	}
	return days
}

func newScheduleRow(wd time.Weekday, i int) scheduleRow {
	key := fmt.Sprintf("w%d_%d", wd, i)
	return scheduleRow{Key: key, Slot: "30",
		StartID: "f-" + key + "_start", EndID: "f-" + key + "_end", SlotID: "f-" + key + "_slot", CapacityID: "f-" + key + "_capacity"}
}

// parseWeekForm reads the posted rows of every weekday as typed.
func parseWeekForm(c *fiber.Ctx) []scheduleDay {
	var days []scheduleDay
	for _, wd := range scheduleWeekdays {
		d := scheduleDay{Weekday: int(wd)}
		for i := range maxRowsPerDay {
			r := newScheduleRow(wd, i)
			start, present := c.FormValue(r.Key+"_start"), c.Request().PostArgs().Has(r.Key+"_start")
			if !present && i >= rowsPerWeekday {
				break
			}
			r.Start, r.End = strings.Clone(start), strings.Clone(c.FormValue(r.Key+"_end"))
			r.Slot, r.Capacity = strings.Clone(c.FormValue(r.Key+"_slot", "30")), strings.Clone(c.FormValue(r.Key+"_capacity"))
			r.Delete = c.FormValue(r.Key+"_delete") != ""
			r.Filled = strings.TrimSpace(r.Start+r.End+r.Capacity) != ""
			d.Rows = append(d.Rows, r)
		}
		days = append(days, d)
	}
	return days
}

// validateWeek checks every filled row (deleted and blank rows are skipped), marks each error on
// its row, and returns the windows when there is none.
func validateWeek(days []scheduleDay) ([]booking.Window, bool) {
	var out []booking.Window
	ok := true
	for di := range days {
		d := &days[di]
		var mine []booking.Window
		for ri := range d.Rows {
			r := &d.Rows[ri]
			if r.Delete || !r.Filled {
				continue
			}
			w, good := r.window(time.Weekday(d.Weekday))
			for _, prev := range mine {
				if good && w.Overlaps(prev) {
					r.StartErr, good = "schedule.window.overlaps", false
				}
			}
			if !good {
				ok = false
				continue
			}
			mine = append(mine, w)
		}
		out = append(out, mine...)
	}
	return out, ok
}

// window parses one row, setting its field errors; good is false when it has any.
func (r *scheduleRow) window(wd time.Weekday) (w booking.Window, good bool) {
	w.Weekday = wd
	var ok bool
	if w.Start, ok = parseClockField(r.Start); !ok {
		r.StartErr = "admin.schedule.start.invalid"
	}
	if w.End, ok = parseClockField(r.End); !ok {
		r.EndErr = "admin.schedule.end.invalid"
	}
	if w.SlotMinutes, ok = parseWhole(r.Slot, 1, 60); !ok {
		r.SlotErr = "schedule.slot_minutes.invalid"
	}
	if w.Capacity, ok = parseWhole(r.Capacity, 0, 200); !ok {
		r.CapErr = "schedule.capacity.invalid"
	}
	if r.StartErr != "" || r.EndErr != "" || r.SlotErr != "" || r.CapErr != "" {
		return w, false
	}
	if w.End <= w.Start { // checked first: Window.Check reports this case as too short
		r.EndErr = "schedule.end.before_start"
		return w, false
	}
	for field, key := range w.Check() {
		switch field {
		case "end":
			r.EndErr = key
		case "slot_minutes":
			r.SlotErr = key
		case "capacity":
			r.CapErr = key
		default:
			r.StartErr = key
		}
	}
	return w, r.StartErr == "" && r.EndErr == "" && r.SlotErr == "" && r.CapErr == ""
}

// parse checks the override form against today and returns what AddOverride takes.
func (f overrideForm) parse(today booking.Date) (booking.Date, booking.OverrideKind, *booking.Window, map[string]string) {
	errs := map[string]string{}
	day, ok := parseDateField(f.Day)
	switch {
	case !ok:
		errs["o_day"] = "admin.schedule.day.invalid"
	case day.Before(today):
		errs["o_day"] = "admin.schedule.day.past"
	}
	kind := booking.OverrideKind(f.Kind)
	var w *booking.Window
	switch kind {
	case booking.OverrideOpen:
		w = &booking.Window{Weekday: day.Weekday()}
		if w.Start, ok = parseClockField(f.Start); !ok {
			errs["o_start"] = "admin.schedule.start.invalid"
		}
		if w.End, ok = parseClockField(f.End); !ok {
			errs["o_end"] = "admin.schedule.end.invalid"
		}
		if w.SlotMinutes, ok = parseWhole(f.Slot, 1, 60); !ok {
			errs["o_slot"] = "schedule.slot_minutes.invalid"
		}
		if w.Capacity, ok = parseWhole(f.Capacity, 0, 200); !ok {
			errs["o_capacity"] = "schedule.capacity.invalid"
		}
		if len(errs) == 0 && w.End <= w.Start {
			errs["o_end"] = "schedule.end.before_start"
		}
		if len(errs) == 0 {
			for field, key := range w.Check() {
				errs[overrideField(field)] = key
			}
		}
	case booking.OverrideCapacity:
		w = &booking.Window{}
		if w.Capacity, ok = parseWhole(f.Capacity, 0, 200); !ok {
			errs["o_capacity"] = "schedule.capacity.invalid"
		}
	case booking.OverrideClose:
	default:
		errs["o_kind"] = "schedule.kind.invalid"
	}
	if utf8.RuneCountInString(strings.TrimSpace(f.Note)) > 200 {
		errs["o_note"] = "admin.schedule.note.too_long"
	}
	return day, kind, w, errs
}

func overrideField(domain string) string {
	switch domain {
	case "slot_minutes":
		return "o_slot"
	case "end", "capacity", "kind":
		return "o_" + domain
	}
	return "o_start"
}

func overrideFieldErrors(e *tenant.Error) map[string]string {
	errs := map[string]string{}
	for k, v := range e.Fields {
		errs[overrideField(k)] = v
	}
	if len(errs) == 0 {
		errs["o_day"] = e.Key
	}
	return errs
}

func firstKey(e *tenant.Error) string {
	for _, v := range e.Fields {
		return v
	}
	return e.Key
}

func viewOverride(o booking.Override) overrideView {
	v := overrideView{ID: o.ID, Day: booking.DateFromDB(o.Day), Kind: o.Kind, Note: o.Note, KindKey: "admin.schedule.kind." + string(o.Kind)}
	w := o.Window()
	if o.Kind == booking.OverrideOpen {
		v.Window, v.Slot = w.Start.String()+"～"+w.End.String(), w.SlotMinutes
	}
	if o.Capacity != nil {
		v.Capacity, v.HasCap = *o.Capacity, true
	}
	return v
}

// AdminOverrideDeletePage is the data of admin/schedule_delete.html: the check before an
// override is deleted.
type AdminOverrideDeletePage struct {
	BasePage
	Location *booking.Location
	Override overrideView
}

func (u *UI) adminScheduleOverride(c *fiber.Ctx) (*booking.Location, *booking.Override, error) {
	l, err := u.adminLocation(c)
	if err != nil {
		return nil, nil, err
	}
	id, err := uuid.Parse(c.Params("oid"))
	if err != nil {
		return nil, nil, tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	o, err := u.deps.Booking.OverrideByID(c.UserContext(), web.TenantOf(c), l.ID, id)
	return l, o, err
}

func (u *UI) adminScheduleDeleteConfirm(c *fiber.Ctx) error {
	l, o, err := u.adminScheduleOverride(c)
	if err != nil {
		return err
	}
	return u.render(c, "admin/schedule_delete", &AdminOverrideDeletePage{BasePage: u.base(c), Location: l, Override: viewOverride(*o)})
}

func (u *UI) adminScheduleDeleteOverride(c *fiber.Ctx) error {
	l, o, err := u.adminScheduleOverride(c)
	if err != nil {
		return err
	}
	if _, err := u.deps.Booking.DeleteOverride(c.UserContext(), web.TenantOf(c), l.ID, o.ID, staffActorOf(c)); err != nil {
		return err
	}
	return u.staffFlashRedirect(c, "admin.schedule.override.deleted", "/admin/locations/"+l.ID.String()+"/schedule")
}
