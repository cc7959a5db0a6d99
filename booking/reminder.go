package booking

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// ReminderHour is the hour (JST, 0–23) of the day before a visit at which its reminder is due
// (tenant setting reminder_hour, default 9).
func ReminderHour(t *tenant.Tenant) int {
	if h := t.Settings.ReminderHour; h != nil && *h >= 0 && *h <= 23 {
		return *h
	}
	return 9
}

// ReminderDue returns when the reminder of a visit starting at start is due: the day before, at
// the city's reminder hour, JST.
func ReminderDue(t *tenant.Tenant, start time.Time) time.Time {
	return DateOf(start).AddDays(-1).Time(ReminderHour(t), 0)
}

// QueueReminders writes a reminder to the outbox for every booked reservation with an e-mail
// address whose reminder is due and whose visit has not started, and returns how many it wrote.
// It is safe to run any number of times, from any number of workers: a unique index allows one
// reminder per reservation and visit time, so a reservation moved to another day gets one for
// its new time and none twice. A reservation booked or moved after its reminder was due gets
// none: its confirmation or change mail, sent then, already told the citizen.
//
// The handler checks again at send time, so a reminder queued just before a cancellation or a
// move is skipped.
func (s *Service) QueueReminders(ctx context.Context, t *tenant.Tenant) (_ int, err error) {
	defer tenant.Wrap(&err, "booking.QueueReminders(%s)", t.ID)
	now := s.now()
	// The latest visit day whose reminder is due by now.
	last := DateOf(now)
	if now.In(JST).Hour() >= ReminderHour(t) {
		last = last.AddDays(1)
	}
	until := last.AddDays(1).Time(0, 0)
	var n int
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`WITH ins AS (
				INSERT INTO outbox (tenant_id, kind, reservation_id, data, created_at, updated_at)
				SELECT r.tenant_id, 'reminder', r.id,
					jsonb_build_object('starts_at', to_char(r.starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')), ?::timestamptz, ?::timestamptz
				FROM reservations r
				WHERE r.status = 'booked' AND coalesce(r.email, '') <> ''
					AND r.starts_at > ? AND r.starts_at < ?
					AND r.updated_at < (date_trunc('day', r.starts_at AT TIME ZONE 'Asia/Tokyo') - interval '1 day'
						+ make_interval(hours => ?)) AT TIME ZONE 'Asia/Tokyo'
				ON CONFLICT (tenant_id, reservation_id, (data ->> 'starts_at')) WHERE kind = 'reminder' DO NOTHING
				RETURNING 1)
			SELECT count(*) FROM ins`, now, now, now, until, ReminderHour(t)).Scan(ctx, &n)
	})
	return n, err
}
