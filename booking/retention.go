package booking

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// This file is the nightly data hygiene of a city (see README, 'Mail and background jobs'):
// bookings whose day has ended without a visit become no_show and free their cards, and personal
// data is removed on the city's schedule. The worker runs both once a day per tenant
// ("retention:apply"); callers log the counts, never the contents.

// RetentionRule is one retention period a city may set: a default and the bounds the admin
// settings page accepts, in days.
type RetentionRule struct {
	Default, Min, Max int
}

// The retention periods: personal data is kept only while the counter may still need it. The card
// period has a floor of 30 days so a slip on the settings page cannot wipe the numbers of cards
// handed out last week, while the counter may still be asked about them.
var (
	NameRetention  = RetentionRule{Default: 30, Min: 1, Max: 365}   // name and kana after issuance, void or return
	EmailRetention = RetentionRule{Default: 30, Min: 1, Max: 365}   // e-mail after the visit, cancellation or no-show
	CardRetention  = RetentionRule{Default: 90, Min: 30, Max: 1825} // card number and birth HMAC after issuance or void
)

func (r RetentionRule) days(v *int) int {
	if v != nil && *v >= r.Min && *v <= r.Max {
		return *v
	}
	return r.Default
}

// NameRetentionDays returns how many days after a card was issued, voided or returned its
// name and kana are kept (default 30).
func NameRetentionDays(t *tenant.Tenant) int { return NameRetention.days(t.Settings.RetentionNameDays) }

// EmailRetentionDays returns how many days after a visit, cancellation or no-show the
// reservation's e-mail address is kept (default 30).
func EmailRetentionDays(t *tenant.Tenant) int {
	return EmailRetention.days(t.Settings.RetentionEmailDays)
}

// CardRetentionDays returns how many days after a card was issued or voided its number and
// birth HMAC are kept before the row is pseudonymised (default 90).
func CardRetentionDays(t *tenant.Tenant) int { return CardRetention.days(t.Settings.RetentionCardDays) }

// systemActor is recorded in the status history and the audit log for the changes the system
// makes on its own.
var systemActor = tenant.System("system")

// NoShows counts what MarkNoShows changed.
type NoShows struct {
	Reservations int // booked reservations marked no_show
	Cards        int // their cards returned from reserved to notice_sent
}

// MarkNoShows marks every booked reservation of the tenant whose day (JST) ended before now's
// day as no_show. Its cards leave the reservation (the reservation_cards link is deactivated,
// which frees them under the one-active-booking index) and go back from reserved to
// notice_sent, as after a cancellation, with a status history row on channel "system": a
// citizen who did not come can book again. A reservation of today is never marked, even after
// its time. Running it again changes nothing. One audit line ("reservation.no_show") records the
// counts.
func (s *Service) MarkNoShows(ctx context.Context, t *tenant.Tenant, now time.Time) (_ NoShows, err error) {
	defer tenant.Wrap(&err, "booking.MarkNoShows(%s)", t.ID)
	var out NoShows
	today := DateOf(now).Time(0, 0)
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		out, err = markNoShows(ctx, tx, t.ID, "starts_at < ?", today, systemActor, now)
		if err != nil || out.Reservations == 0 {
			return err
		}
		return systemActor.Audit(ctx, tx, t.ID, "reservation.no_show", "", nil, map[string]any{"reservations": out.Reservations, "cards": out.Cards})
	})
	return out, err
}

// markNoShows is the one no-show transition, for the nightly run and the counter's 「来庁なし」:
// the booked reservations matching where (one placeholder, arg) become no_show, their cards
// leave them (the reservation_cards link is deactivated, freeing them under the one-active-
// booking index) and cards still reserved go back to notice_sent with a status history row.
// Slot counts stay: the place was used up.
func markNoShows(ctx context.Context, tx bun.IDB, tenantID uuid.UUID, where string, arg any, a tenant.Actor, now time.Time) (NoShows, error) {
	var out NoShows
	err := tx.QueryRowContext(ctx, `WITH r AS (
			UPDATE reservations SET status = 'no_show', updated_at = ?
			WHERE status = 'booked' AND `+where+` RETURNING id),
		rc AS (
			UPDATE reservation_cards SET active = false
			WHERE active AND reservation_id IN (SELECT id FROM r) RETURNING card_id),
		c AS (
			UPDATE cards SET status = 'notice_sent', status_changed_at = ?, updated_at = ?
			WHERE status = 'reserved' AND id IN (SELECT card_id FROM rc) RETURNING id),
		h AS (
			INSERT INTO card_status_history (tenant_id, card_id, from_status, to_status, channel, actor, changed_at)
			SELECT ?, id, 'reserved', 'notice_sent', ?, ?, ? FROM c RETURNING 1)
		SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM h)`,
		now, arg, now, now, tenantID, a.Channel, a.Login, now).Scan(&out.Reservations, &out.Cards)
	return out, err
}

// RetentionCounts counts the rows ApplyRetention changed, by category.
type RetentionCounts struct {
	Names        int // cards whose name and kana were cleared
	Emails       int // reservations whose e-mail (and delivery error, and call note) was cleared
	MailErrors   int // finished outbox rows whose last SMTP error was cleared
	Pseudonyms   int // cards pseudonymised
	Imports      int // import jobs left unfinished for ImportFileRetention, cancelled with their file deleted
	StuckImports int // import jobs the worker gave up on mid-way (validating/committing for a day), failed
	Total        int // the sum
}

// ImportFileRetention is how long an uploaded card CSV may wait, unimported, for its commit
// (or for a worker) before ApplyRetention cancels the job and deletes the file: the file holds
// names and birth dates of the whole target list.
const ImportFileRetention = 7 * 24 * time.Hour

// importStuckAfter is how long a job may stay validating or committing: progress is written every
// few seconds while a worker runs it, so a day without a write means its retries ran out. A failed
// commit wrote nothing (it is one transaction), which the job page says.
const importStuckAfter = 24 * time.Hour

const stuckImportMessage = "処理が中断したまま再開できませんでした。カードは登録されていません。お手数ですが、ファイルをもう一度アップロードしてください。"

// pseudonymSQL draws a pseudonymised card number: "ZZ" and 30 hexadecimal digits,
// random per card. It fits the card_no column's check, cannot be typed by mistake and keeps the
// tenant's unique index satisfied, so the same real number can be imported again later.
const pseudonymSQL = `'ZZ' || upper(substr(md5(random()::text || id::text), 1, 30))`

// ApplyRetention removes the tenant's personal data whose time is up, one statement per
// category, in one transaction:
//
//   - names: name and kana of cards issued, void or returned more than NameRetentionDays ago;
//   - e-mails: the address of reservations visited or no-show (counted from the visit time) or
//     cancelled (from the cancellation) more than EmailRetentionDays ago, and with it the
//     reservation's delivery error, which may quote the address;
//   - mail errors: the last SMTP error of finished outbox rows last touched more than
//     EmailRetentionDays ago. The outbox never holds an address, but an SMTP refusal often
//     quotes it; the rows themselves are deleted by the outbox cleanup (jobs) much later;
//   - cards: cards issued or void more than CardRetentionDays ago are pseudonymised, not
//     deleted. The number becomes a random "ZZ…" pseudonym, the birth HMAC random bytes (nobody
//     can log in with it), name, kana and storage position are cleared. The row stays so its
//     status history, its past reservations and every count (交付進捗, statistics) stay
//     whole; deleting it would cascade into the history and break the reservations' links.
//   - imports: card CSVs uploaded but not imported for ImportFileRetention (left validated, or
//     never picked up) are cancelled and their bytes deleted; the counts and row errors stay; jobs
//     stuck validating or committing for importStuckAfter (the worker's retries ran out) fail.
//
// Rows already cleared are not touched again, so a second run returns zero counts. One audit
// line ("retention.apply") records the counts when anything changed.
func (s *Service) ApplyRetention(ctx context.Context, t *tenant.Tenant, now time.Time) (_ RetentionCounts, err error) {
	defer tenant.Wrap(&err, "booking.ApplyRetention(%s)", t.ID)
	var c RetentionCounts
	nameCut := now.AddDate(0, 0, -NameRetentionDays(t))
	mailCut := now.AddDate(0, 0, -EmailRetentionDays(t))
	cardCut := now.AddDate(0, 0, -CardRetentionDays(t))
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		steps := []struct {
			name string
			n    *int
			sql  string
			args []any
		}{
			{"names", &c.Names, `UPDATE cards SET name = NULL, name_kana = NULL, updated_at = ?
				WHERE status IN ('issued', 'void', 'returned') AND status_changed_at < ?
				AND (name IS NOT NULL OR name_kana IS NOT NULL)`, []any{now, nameCut}},
			{"emails", &c.Emails, `UPDATE reservations SET email = NULL, mail_error = '', call_note = ''
				WHERE (email IS NOT NULL OR mail_error <> '' OR call_note <> '')
				AND ((status IN ('visited', 'no_show') AND starts_at < ?)
					OR (status = 'cancelled' AND coalesce(cancelled_at, updated_at) < ?))`, []any{mailCut, mailCut}},
			{"mail errors", &c.MailErrors, `UPDATE outbox SET last_error = ''
				WHERE state IN ('sent', 'failed', 'skipped') AND last_error <> '' AND updated_at < ?`, []any{mailCut}},
			{"pseudonyms", &c.Pseudonyms, `UPDATE cards SET card_no = ` + pseudonymSQL + `,
					birth_hmac = sha256(convert_to(gen_random_uuid()::text || random()::text, 'UTF8')),
					name = NULL, name_kana = NULL, storage_pos = '', updated_at = ?
				WHERE status IN ('issued', 'void') AND status_changed_at < ? AND card_no !~ '^ZZ[0-9A-F]{30}$'`, []any{now, cardCut}},
			{"imports", &c.Imports, `UPDATE import_jobs SET state = 'cancelled', file_bytes = NULL, finished_at = ?, updated_at = ?
				WHERE state IN ('uploaded', 'validated') AND updated_at < ?`, []any{now, now, now.Add(-ImportFileRetention)}},
			{"stuck imports", &c.StuckImports, `UPDATE import_jobs SET state = 'failed', file_bytes = NULL, finished_at = ?, updated_at = ?,
					error_message = ?
				WHERE state IN ('validating', 'committing') AND updated_at < ?`,
				[]any{now, now, stuckImportMessage, now.Add(-importStuckAfter)}},
		}
		for _, st := range steps {
			res, err := tx.ExecContext(ctx, st.sql, st.args...)
			if err != nil {
				return fmt.Errorf("retention of %s: %w", st.name, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("retention of %s: %w", st.name, err)
			}
			*st.n = int(n)
			c.Total += int(n)
		}
		if c.Total == 0 {
			return nil
		}
		return systemActor.Audit(ctx, tx, t.ID, "retention.apply", "", nil, map[string]any{"names": c.Names, "emails": c.Emails, "mail_errors": c.MailErrors, "cards": c.Pseudonyms, "imports": c.Imports, "stuck_imports": c.StuckImports})
	})
	return c, err
}

// IsPseudonym reports whether a card number is a pseudonym written by ApplyRetention.
func IsPseudonym(cardNo string) bool {
	if len(cardNo) != 32 || cardNo[:2] != "ZZ" {
		return false
	}
	for i := 2; i < len(cardNo); i++ {
		if !(cardNo[i] >= '0' && cardNo[i] <= '9' || cardNo[i] >= 'A' && cardNo[i] <= 'F') {
			return false
		}
	}
	return true
}
