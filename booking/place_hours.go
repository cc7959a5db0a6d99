package booking

import (
	"context"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// PlaceHours is a place citizens can book, with its weekly opening hours as a citizen reads them
// (the printed guide): the weekdays that share the same hours together, Monday first.
type PlaceHours struct {
	Location
	Hours []DayHours // empty when the place has no weekly hours (it opens on dated days only)
}

// DayHours is the opening hours shared by some weekdays.
type DayHours struct {
	Weekdays []time.Weekday // Monday first, Sunday last
	Spans    []Span         // by start; windows that touch are one span
}

// Span is a stretch of the day a place is open.
type Span struct{ Start, End ClockTime }

// PlaceHours returns the tenant's active places, in the order citizens see them, each with its
// weekly opening hours (the slot templates; dated overrides and holidays are not in it), read in
// one transaction. It writes nothing.
func (s *Service) PlaceHours(ctx context.Context, t *tenant.Tenant) (_ []PlaceHours, err error) {
	defer tenant.Wrap(&err, "booking.PlaceHours(%s)", t.ID)
	var out []PlaceHours
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var ls []Location
		if err := tx.NewSelect().Model(&ls).Where("active").Order("sort_order", "name").Scan(ctx); err != nil {
			return err
		}
		for _, l := range ls {
			ws, err := weeklyWindows(ctx, tx, l.ID)
			if err != nil {
				return err
			}
			out = append(out, PlaceHours{Location: l, Hours: groupHours(ws)})
		}
		return nil
	})
	return out, err
}

// groupHours merges each weekday's windows into spans and puts the weekdays with the same spans
// together, in the order of their first weekday (Monday first).
func groupHours(ws []Window) []DayHours {
	var out []DayHours
	for _, wd := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		var spans []Span
		for _, w := range ws { // by weekday and start time
			if w.Weekday != wd {
				continue
			}
			if n := len(spans); n > 0 && w.Start <= spans[n-1].End {
				spans[n-1].End = max(spans[n-1].End, w.End)
				continue
			}
			spans = append(spans, Span{w.Start, w.End})
		}
		if len(spans) == 0 {
			continue
		}
		i := slices.IndexFunc(out, func(h DayHours) bool { return slices.Equal(h.Spans, spans) })
		if i < 0 {
			out = append(out, DayHours{Spans: spans})
			i = len(out) - 1
		}
		out[i].Weekdays = append(out[i].Weekdays, wd)
	}
	return out
}
