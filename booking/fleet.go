package booking

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// The fleet at a glance: the vendor's overview of every city. The figures are counted inside
// each city's own scope by a periodic job (UpdateFleetFigures; jobs: fleet:figures) and written
// to fleet_days, a global table of counts, one row per city and JST day; the overview
// (FleetOverview, FleetDaily) reads only that table. So the vendor sees 1,741 cities in one
// query, and no role reads tenant tables across cities. fleet_days holds no name, e-mail address,
// card number, birthday or free text — only counts, dates and message keys — which is why the
// runtime role may read it unscoped: what it discloses is each city's volume, which the vendor's
// console shows anyway, and no city's pages query it.

// Fleet figures' horizons.
const (
	// FleetFillDays is how far ahead the fill rate looks: today and the next 13 days.
	FleetFillDays = 14
	// FleetBackfillDays is how many days back the job recounts when a city has no figures for
	// yesterday (a new city, or the job was stopped); otherwise it recounts today and yesterday.
	FleetBackfillDays = 90
	// FleetKeepDays is how long fleet_days rows are kept; FleetDaily reads at most this many.
	FleetKeepDays = 400
	// eventKeepDays is how long event_counts rows are kept: longer than a back-fill reaches.
	eventKeepDays = FleetBackfillDays + 10
)

// fleetDay is one row of fleet_days.
type fleetDay struct {
	bun.BaseModel `bun:"table:fleet_days,alias:fd"`

	Tenant         uuid.UUID      `bun:"tenant,pk,type:uuid"`
	Day            time.Time      `bun:"day,pk,type:date"`
	Bookings       int            `bun:"bookings,notnull"`
	Visits         int            `bun:"visits,notnull"`
	BookingErrors  int            `bun:"booking_errors,notnull"`
	ErrorReasons   map[string]int `bun:"error_reasons,type:jsonb,notnull"`
	LoginLocks     int            `bun:"login_locks,notnull"`
	MailFailed     int            `bun:"mail_failed,notnull"`
	ComputedAt     time.Time      `bun:"computed_at,notnull"`
	Booked14       *int           `bun:"booked_14d"`
	Capacity14     *int           `bun:"capacity_14d"`
	MailBacklog    *int           `bun:"mail_backlog"`
	MailRetrying   *int           `bun:"mail_retrying"`
	MailOldest     *time.Time     `bun:"mail_oldest"`
	ImportsRunning *int           `bun:"imports_running"`
	LoginLocksHour *int           `bun:"login_locks_hour"`
	SnapshotAt     *time.Time     `bun:"snapshot_at"`
}

// fleetSnapshot is a city's state when the job looked: the snapshot columns of today's row.
type fleetSnapshot struct {
	Booked         int        `bun:"booked"`
	Capacity       int        `bun:"capacity"`
	MailBacklog    int        `bun:"mail_backlog"`
	MailRetrying   int        `bun:"mail_retrying"`
	MailOldest     *time.Time `bun:"mail_oldest"`
	ImportsRunning int        `bun:"imports_running"`
	LocksHour      int        `bun:"locks_hour"`
	LastDay        *time.Time `bun:"last_day"` // the newest fleet_days row of the city
}

// UpdateFleetFigures counts the city's figures inside its own scope and writes them to
// fleet_days: today's counts with the current state (fill of the next FleetFillDays days, mail
// backlog, imports running, login locks of the last hour), and yesterday's counts again so that
// the day's last minutes are not lost. A city without figures for yesterday (new, or the job
// was stopped) has its last FleetBackfillDays days counted. Once a day it also deletes
// event_counts and fleet_days rows past their keeping. A training city writes nothing (it is no
// part of the fleet's figures). It writes no audit row: it reads the
// city's data only to count it, and stores counts only. Running it twice is harmless.
//
// The day's counts: Bookings are reservations made that day (any channel, cancelled or not),
// Visits cards checked in (a family of three is three), BookingErrors refused holds, bookings,
// changes and cancellations (by reason in ErrorReasons), LoginLocks citizens' and staff locks,
// MailFailed mails that failed for good.
func (s *Service) UpdateFleetFigures(ctx context.Context, t *tenant.Tenant) (err error) {
	defer tenant.Wrap(&err, "booking.UpdateFleetFigures(%s)", t.ID)
	if t.Training() {
		return nil // a training city is no part of the fleet's figures
	}
	now := s.now()
	today := DateOf(now)
	return tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var snap fleetSnapshot
		if err := tx.NewRaw(`SELECT
				(SELECT coalesce(sum(booked), 0) FROM slots WHERE day >= ? AND day < ? AND (open OR booked > 0)) AS booked,
				(SELECT coalesce(sum(capacity), 0) FROM slots WHERE day >= ? AND day < ? AND open) AS capacity,
				(SELECT count(*) FROM outbox WHERE state IN ('pending', 'enqueued')) AS mail_backlog,
				(SELECT count(*) FROM outbox WHERE state IN ('pending', 'enqueued') AND last_error <> '') AS mail_retrying,
				(SELECT min(created_at) FROM outbox WHERE state IN ('pending', 'enqueued')) AS mail_oldest,
				(SELECT count(*) FROM import_jobs WHERE state IN ('uploaded', 'validating', 'committing')) AS imports_running,
				(SELECT coalesce(sum(n), 0) FROM event_counts WHERE kind = 'login_lock' AND bucket > ?) AS locks_hour,
				(SELECT max(day) FROM fleet_days WHERE tenant = ?) AS last_day`,
			today.StdTime(), today.AddDays(FleetFillDays).StdTime(), today.StdTime(), today.AddDays(FleetFillDays).StdTime(),
			now.Add(-time.Hour), t.ID).Scan(ctx, &snap); err != nil {
			return fmt.Errorf("read the city's state: %w", err)
		}
		from := today.AddDays(-1)
		firstToday := snap.LastDay == nil || DateFromDB(*snap.LastDay).Before(today)
		if snap.LastDay == nil || DateFromDB(*snap.LastDay).Before(from) {
			from = today.AddDays(-(FleetBackfillDays - 1))
		}
		rows, err := countFleetDays(ctx, tx, t.ID, from, today, now)
		if err != nil {
			return err
		}
		last := &rows[len(rows)-1] // today
		last.Booked14, last.Capacity14 = &snap.Booked, &snap.Capacity
		last.MailBacklog, last.MailRetrying, last.MailOldest = &snap.MailBacklog, &snap.MailRetrying, snap.MailOldest
		last.ImportsRunning, last.LoginLocksHour, last.SnapshotAt = &snap.ImportsRunning, &snap.LocksHour, &now
		if _, err := tx.NewInsert().Model(&rows).On("CONFLICT (tenant, day) DO UPDATE").
			Set("bookings = EXCLUDED.bookings, visits = EXCLUDED.visits, booking_errors = EXCLUDED.booking_errors").
			Set("error_reasons = EXCLUDED.error_reasons, login_locks = EXCLUDED.login_locks, mail_failed = EXCLUDED.mail_failed").
			Set("computed_at = EXCLUDED.computed_at").
			// A day counted again keeps the last state measured on it.
			Set("booked_14d = coalesce(EXCLUDED.booked_14d, fd.booked_14d), capacity_14d = coalesce(EXCLUDED.capacity_14d, fd.capacity_14d)").
			Set("mail_backlog = coalesce(EXCLUDED.mail_backlog, fd.mail_backlog), mail_retrying = coalesce(EXCLUDED.mail_retrying, fd.mail_retrying)").
			Set("mail_oldest = CASE WHEN EXCLUDED.snapshot_at IS NULL THEN fd.mail_oldest ELSE EXCLUDED.mail_oldest END").
			Set("imports_running = coalesce(EXCLUDED.imports_running, fd.imports_running)").
			Set("login_locks_hour = coalesce(EXCLUDED.login_locks_hour, fd.login_locks_hour)").
			Set("snapshot_at = coalesce(EXCLUDED.snapshot_at, fd.snapshot_at)").
			Exec(ctx); err != nil {
			return fmt.Errorf("write fleet figures: %w", err)
		}
		if !firstToday {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM event_counts WHERE bucket < ?", today.AddDays(-eventKeepDays).Time(0, 0)); err != nil {
			return fmt.Errorf("delete old event counts: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM fleet_days WHERE tenant = ? AND day < ?", t.ID, today.AddDays(-FleetKeepDays).StdTime()); err != nil {
			return fmt.Errorf("delete old fleet figures: %w", err)
		}
		return nil
	})
}

// countFleetDays counts the city's day figures for every day from from to to (JST), in order.
func countFleetDays(ctx context.Context, tx bun.IDB, tenantID uuid.UUID, from, to Date, now time.Time) ([]fleetDay, error) {
	start, end := from.Time(0, 0), to.AddDays(1).Time(0, 0)
	var counts []struct {
		What   string    `bun:"what"`
		Day    time.Time `bun:"day"`
		Reason string    `bun:"reason"`
		N      int       `bun:"n"`
	}
	err := tx.NewRaw(`SELECT 'bookings' AS what, (created_at AT TIME ZONE 'Asia/Tokyo')::date AS day, '' AS reason, count(*) AS n
			FROM reservations WHERE created_at >= ? AND created_at < ? GROUP BY 2
		UNION ALL
		SELECT 'visits', (changed_at AT TIME ZONE 'Asia/Tokyo')::date, '', count(*)
			FROM card_status_history WHERE to_status = 'visited' AND changed_at >= ? AND changed_at < ? GROUP BY 2
		UNION ALL
		SELECT 'mail_failed', (updated_at AT TIME ZONE 'Asia/Tokyo')::date, '', count(*)
			FROM outbox WHERE state = 'failed' AND updated_at >= ? AND updated_at < ? GROUP BY 2
		UNION ALL
		SELECT kind, (bucket AT TIME ZONE 'Asia/Tokyo')::date, reason, sum(n)
			FROM event_counts WHERE bucket >= ? AND bucket < ? GROUP BY 1, 2, 3`,
		start, end, start, end, start, end, start, end).Scan(ctx, &counts)
	if err != nil {
		return nil, fmt.Errorf("count the city's days: %w", err)
	}
	var rows []fleetDay
	index := map[Date]int{}
	for d := from; !to.Before(d); d = d.AddDays(1) {
		index[d] = len(rows)
		rows = append(rows, fleetDay{Tenant: tenantID, Day: d.StdTime(), ErrorReasons: map[string]int{}, ComputedAt: now})
	}
	for _, c := range counts {
		i, ok := index[DateFromDB(c.Day)]
		if !ok {
			continue
		}
		r := &rows[i]
		switch c.What {
		case "bookings":
			r.Bookings = c.N
		case "visits":
			r.Visits = c.N
		case "mail_failed":
			r.MailFailed = c.N
		case string(tenant.EventBookingError):
			r.BookingErrors += c.N
			r.ErrorReasons[c.Reason] += c.N
		case string(tenant.EventLoginLock):
			r.LoginLocks += c.N
		}
	}
	return rows, nil
}

// CityFigures is one city's line of the fleet overview: counts only.
type CityFigures struct {
	TenantID uuid.UUID
	Slug     string
	Name     string
	Status   tenant.Status
	// Day is the JST day the day's counts are of (today); they are zero when the job has not
	// counted the city today yet.
	Day           Date
	Bookings      int            // reservations made today
	Visits        int            // cards checked in today
	BookingErrors int            // refused holds, bookings, changes and cancellations today
	ErrorReasons  map[string]int // BookingErrors by message key (slot.full, …, internal)
	LoginLocks    int            // login locks imposed today (citizens and staff)
	MailFailed    int            // mails that failed for good today
	// The city's state when the job last looked (SnapshotAt; zero: never).
	BookedPlaces   int       // places booked from today over FleetFillDays days
	Capacity       int       // places open over the same days
	MailBacklog    int       // mails not yet handed to the mail server
	MailRetrying   int       // of those, mails whose last attempt failed and will be retried
	MailOldest     time.Time // when the oldest of those was written (zero: none)
	ImportsRunning int       // card imports uploaded, validating or committing
	LoginLocks1h   int       // login locks of about the last hour (the five-minute buckets begun in it)
	SnapshotAt     time.Time
	// ComputedAt is when the day's counts were last counted (zero: never today).
	ComputedAt time.Time
}

// FillRate is BookedPlaces / Capacity (0 without capacity).
func (c *CityFigures) FillRate() float64 {
	if c.Capacity <= 0 {
		return 0
	}
	return float64(c.BookedPlaces) / float64(c.Capacity)
}

// FleetOverview returns every city, active or disabled, ordered by slug (training cities are
// no part of the fleet: they are left out), with its figures as
// the fleet job last counted them (see UpdateFleetFigures; the job runs every five minutes for
// every active city): today's counts and the latest state.
// It reads the global tables tenants and fleet_days only, in one query, opening no city's scope.
func (s *Service) FleetOverview(ctx context.Context) (_ []CityFigures, err error) {
	defer tenant.Wrap(&err, "booking.FleetOverview")
	today := DateOf(s.now())
	var rows []struct {
		ID     uuid.UUID     `bun:"id"`
		Slug   string        `bun:"slug"`
		Name   string        `bun:"name"`
		Status tenant.Status `bun:"status"`
		fleetDay
	}
	err = s.db.NewRaw(`SELECT t.id, t.slug, t.name, t.status, f.*
		FROM tenants t LEFT JOIN LATERAL (SELECT * FROM fleet_days f WHERE f.tenant = t.id ORDER BY f.day DESC LIMIT 1) f ON true
		WHERE t.training_of IS NULL
		ORDER BY t.slug`).Scan(ctx, &rows)
	if err != nil {
		return nil, tenant.DBError(err)
	}
	out := make([]CityFigures, len(rows))
	for i, r := range rows {
		c := CityFigures{TenantID: r.ID, Slug: r.Slug, Name: r.Name, Status: r.Status, Day: today, ErrorReasons: map[string]int{}}
		f := &r.fleetDay
		if f.Tenant != uuid.Nil && DateFromDB(f.Day) == today {
			c.Bookings, c.Visits, c.BookingErrors, c.LoginLocks, c.MailFailed = f.Bookings, f.Visits, f.BookingErrors, f.LoginLocks, f.MailFailed
			c.ComputedAt = f.ComputedAt
			if f.ErrorReasons != nil {
				c.ErrorReasons = f.ErrorReasons
			}
		}
		if f.SnapshotAt != nil {
			c.SnapshotAt = *f.SnapshotAt
			c.BookedPlaces, c.Capacity = deref(f.Booked14), deref(f.Capacity14)
			c.MailBacklog, c.MailRetrying, c.ImportsRunning, c.LoginLocks1h = deref(f.MailBacklog), deref(f.MailRetrying), deref(f.ImportsRunning), deref(f.LoginLocksHour)
			if f.MailOldest != nil {
				c.MailOldest = *f.MailOldest
			}
		}
		out[i] = c
	}
	return out, nil
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// DayFigures is one JST day of the fleet's (or one city's) history, for charts.
type DayFigures struct {
	Day           Date
	Cities        int // cities with figures for the day
	Bookings      int
	Visits        int
	BookingErrors int
	LoginLocks    int
	MailFailed    int
}

// FleetDaily returns the last days days up to today (JST), oldest first, one entry per day
// (zero where nothing was counted): the sums over every city, or one city's figures when
// tenantID is not nil; never a training city's. It returns invalid for days outside
// 1…FleetKeepDays. Like FleetOverview it reads fleet_days only.
func (s *Service) FleetDaily(ctx context.Context, days int, tenantID *uuid.UUID) (_ []DayFigures, err error) {
	defer tenant.Wrap(&err, "booking.FleetDaily(%d)", days)
	if days < 1 || days > FleetKeepDays {
		return nil, tenant.Errorf(tenant.Invalid, "error.invalid").Wrap(fmt.Errorf("days %d outside 1…%d", days, FleetKeepDays))
	}
	today := DateOf(s.now())
	var rows []struct {
		Day           time.Time `bun:"day"`
		Cities        int       `bun:"cities"`
		Bookings      int       `bun:"bookings"`
		Visits        int       `bun:"visits"`
		BookingErrors int       `bun:"booking_errors"`
		LoginLocks    int       `bun:"login_locks"`
		MailFailed    int       `bun:"mail_failed"`
	}
	cond := "true"
	args := []any{today.AddDays(-(days - 1)).StdTime(), today.StdTime()}
	if tenantID != nil {
		cond = "f.tenant = ?"
		args = append(args, *tenantID)
	}
	err = s.db.NewRaw(`SELECT d.day, count(f.tenant) AS cities, coalesce(sum(f.bookings), 0) AS bookings,
			coalesce(sum(f.visits), 0) AS visits, coalesce(sum(f.booking_errors), 0) AS booking_errors,
			coalesce(sum(f.login_locks), 0) AS login_locks, coalesce(sum(f.mail_failed), 0) AS mail_failed
		FROM (SELECT g::date AS day FROM generate_series(?::date, ?::date, interval '1 day') g) d
		LEFT JOIN fleet_days f ON f.day = d.day AND `+cond+` AND NOT tenant_is_training(f.tenant)
		GROUP BY d.day ORDER BY d.day`, args...).Scan(ctx, &rows)
	if err != nil {
		return nil, tenant.DBError(err)
	}
	out := make([]DayFigures, len(rows))
	for i, r := range rows {
		out[i] = DayFigures{Day: DateFromDB(r.Day), Cities: r.Cities, Bookings: r.Bookings, Visits: r.Visits,
			BookingErrors: r.BookingErrors, LoginLocks: r.LoginLocks, MailFailed: r.MailFailed}
	}
	return out, nil
}
