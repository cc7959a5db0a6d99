package booking

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// PlaceFill is one active place's bookings against its capacity, day by day.
type PlaceFill struct {
	LocationID uuid.UUID
	Name       string
	Days       []DayFill
}

// DayFill is one day of a place: places booked and places offered in its open slots.
type DayFill struct {
	Day              Date
	Booked, Capacity int
}

// Percent is the day's fill rate, 0 when nothing is offered (a closed day).
func (d DayFill) Percent() int {
	if d.Capacity == 0 {
		return 0
	}
	return d.Booked * 100 / d.Capacity
}

// FillRates returns, for every active place of the tenant in its display order, the bookings and
// capacity of each of the n days from from (n between 1 and 62). Counts only: not audit-logged.
func (s *Service) FillRates(ctx context.Context, t *tenant.Tenant, from Date, n int) (_ []PlaceFill, err error) {
	defer tenant.Wrap(&err, "booking.FillRates(%s)", t.ID)
	if n < 1 || n > 62 {
		return nil, tenant.Errorf(tenant.Invalid, "error.invalid")
	}
	var out []PlaceFill
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var locs []Location
		if err := tx.NewSelect().Model(&locs).Where("active").Order("sort_order", "name").Scan(ctx); err != nil {
			return err
		}
		var rows []struct {
			LocationID uuid.UUID `bun:"location_id"`
			Day        time.Time `bun:"day"`
			Booked     int       `bun:"booked"`
			Capacity   int       `bun:"capacity"`
		}
		if err := tx.NewRaw(`SELECT location_id, day, sum(booked) AS booked, coalesce(sum(capacity) FILTER (WHERE open), 0) AS capacity
			FROM slots WHERE day BETWEEN ? AND ? GROUP BY location_id, day`, from.StdTime(), from.AddDays(n-1).StdTime()).Scan(ctx, &rows); err != nil {
			return err
		}
		at := map[uuid.UUID]map[Date]int{}
		for i, r := range rows {
			if at[r.LocationID] == nil {
				at[r.LocationID] = map[Date]int{}
			}
			at[r.LocationID][DateFromDB(r.Day)] = i
		}
		for _, l := range locs {
			pf := PlaceFill{LocationID: l.ID, Name: l.Name}
			for i := range n {
				d := DayFill{Day: from.AddDays(i)}
				if j, ok := at[l.ID][d.Day]; ok {
					d.Booked, d.Capacity = rows[j].Booked, rows[j].Capacity
				}
				pf.Days = append(pf.Days, d)
			}
			out = append(out, pf)
		}
		return nil
	})
	return out, err
}
