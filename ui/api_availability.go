package ui

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// Bounds of one availability request, so a public read stays cheap: the calendar over at most
// apiMaxDays days, and slot lists over at most apiMaxSlotDays.
const (
	apiMaxDays     = 92
	apiMaxSlotDays = 31
)

// apiLocations lists the tenant's active 交付場所 in display order. Public: the top page shows
// them too.
func (u *UI) apiLocations(c *fiber.Ctx) error {
	locs, err := u.deps.Booking.Locations(c.UserContext(), web.TenantOf(c).ID, true)
	if err != nil {
		return err
	}
	out := make([]apiLocation, 0, len(locs))
	for i := range locs {
		out = append(out, toAPILocation(&locs[i]))
	}
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.JSON(out)
}

type apiDay struct {
	Date      string     `json:"date"`
	Mark      string     `json:"mark"`
	Remaining int        `json:"remaining"`
	Slots     *[]apiSlot `json:"slots,omitempty"`
}

type apiAvailabilityResponse struct {
	LocationID uuid.UUID `json:"location_id"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	Party      int       `json:"party"`
	Days       []apiDay  `json:"days"`
}

// availabilityQuery is the parsed query of GET /api/v1/availability.
type availabilityQuery struct {
	location uuid.UUID
	from, to booking.Date
	party    int
	slots    bool
}

func parseAvailabilityQuery(c *fiber.Ctx) (availabilityQuery, error) {
	q := availabilityQuery{party: 1}
	fields := map[string]string{}
	args := c.Context().QueryArgs()
	var err error
	if q.location, err = apiUUID(strings.TrimSpace(c.Query("location"))); err != nil {
		fields["location"] = "api.location.invalid"
	}
	if q.from, err = booking.ParseDate(c.Query("from")); err != nil {
		fields["from"] = "api.date.invalid"
	}
	if q.to, err = booking.ParseDate(c.Query("to")); err != nil {
		fields["to"] = "api.date.invalid"
	}
	if args.Has("party") { // given, even empty, it must be 1..6
		if q.party, err = strconv.Atoi(c.Query("party")); err != nil || q.party < 1 || q.party > booking.MaxParty {
			fields["party"] = "reserve.party.invalid"
		}
	}
	switch s := c.Query("slots"); {
	case s == "1" || s == "true":
		q.slots = true
	case args.Has("slots"): // the schema's enum is ["1", "true"]; anything else is a mistake
		fields["slots"] = "api.slots.invalid"
	}
	q.slots = q.slots || (fields["from"] == "" && fields["to"] == "" && q.from == q.to)
	if fields["from"] == "" && fields["to"] == "" {
		days := int(q.to.StdTime().Sub(q.from.StdTime()).Hours()/24) + 1
		switch {
		case days < 1:
			fields["to"] = "api.range.invalid"
		case days > apiMaxDays:
			fields["to"] = "api.range.too_long"
		case q.slots && days > apiMaxSlotDays:
			fields["slots"] = "api.slots.too_long"
		}
	}
	if len(fields) > 0 {
		return q, &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: fields}
	}
	return q, nil
}

// apiAvailability returns a location's calendar marks for [from, to] for a party, and the
// bookable times of each open day when asked (slots=1) or when from == to. Public: availability
// is the same for every visitor and names nobody; it is scoped to the host's tenant (another
// city's location id is not_found) and bounded in range and rate.
func (u *UI) apiAvailability(c *fiber.Ctx) error {
	q, err := parseAvailabilityQuery(c)
	if err != nil {
		return err
	}
	t := web.TenantOf(c)
	loc, err := u.location(c, q.location.String())
	if tenant.ErrorCode(err) == tenant.NotFound {
		return tenant.Errorf(tenant.NotFound, "location.not_found").Wrap(err)
	}
	if err != nil {
		return err
	}
	days, err := u.deps.Booking.Availability(c.UserContext(), t, loc.ID, q.from, q.to, q.party, tenant.Citizen(""))
	if err != nil {
		return err
	}
	byDay := map[booking.Date][]apiSlot{}
	if q.slots { // every day's times in one read
		slots, err := u.deps.Booking.BookableSlots(c.UserContext(), t, loc.ID, q.from, q.to, tenant.Citizen(""))
		if err != nil {
			return err
		}
		for i := range slots {
			d := booking.DateFromDB(slots[i].Day)
			byDay[d] = append(byDay[d], toAPISlot(&slots[i]))
		}
	}
	out := apiAvailabilityResponse{LocationID: loc.ID, From: q.from.String(), To: q.to.String(), Party: q.party, Days: make([]apiDay, 0, len(days))}
	for _, d := range days {
		day := apiDay{Date: d.Day.String(), Mark: string(d.Mark), Remaining: d.Remaining}
		if q.slots {
			list := []apiSlot{}
			if d.Mark != booking.MarkClosed { // a closed day lists no time
				list = append(list, byDay[d.Day]...)
			}
			day.Slots = &list
		}
		out.Days = append(out.Days, day)
	}
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.JSON(out)
}
