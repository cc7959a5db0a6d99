package booking

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking/slotfeed"
	"github.com/madoguchi/madoguchi/tenant"
)

// This file is the training city (研修用, see tenant.TrainingOpen): a copy of a city's places,
// opening hours and mail wording with fictitious cards and bookings, for its staff to practise
// on, put back to that fresh state every night.

// Practice data of a training city. Every card is clearly fictitious: the family name 研修, a
// number from the block 9999…, birthday January 1st (so trainees can log in as a citizen).
const (
	TrainingCards    = 30     // fictitious cards
	TrainingBookings = 8      // of them booked (the first ones), one per place and day from today
	TrainingNotices  = 12     // the next ones marked 交付通知書発送済; the rest are 取込済
	TrainingBirth    = "0101" // every fictitious card's birthday (MMDD)
)

// trainingGiven are the given names of the fictitious cards (family name 研修 / ケンシュウ).
var trainingGiven = [][2]string{{"太郎", "タロウ"}, {"花子", "ハナコ"}, {"一郎", "イチロウ"}, {"桜", "サクラ"}, {"次郎", "ジロウ"},
	{"陽菜", "ヒナ"}, {"三郎", "サブロウ"}, {"葵", "アオイ"}, {"健太", "ケンタ"}, {"美咲", "ミサキ"}}

// trainingNumberForms are the shapes tried, in order, for fictitious card numbers; the first
// whose every number passes the city's card-number rule is used (ValidateCardNo).
var trainingNumberForms = []func(i int) string{
	func(i int) string { return fmt.Sprintf("9999%05d", i) },     // 9 digits, the default rule
	func(i int) string { return fmt.Sprintf("KENSYU%06d", i) },   // 12 letters and digits
	func(i int) string { return fmt.Sprintf("99999%05d", i) },    // 10 digits
	func(i int) string { return fmt.Sprintf("9999%04d", i) },     // 8 digits
	func(i int) string { return fmt.Sprintf("K9999%07d", i) },    // 12, a letter first
	func(i int) string { return fmt.Sprintf("99990000%07d", i) }, // 15 digits
}

// TrainingCardNo returns the number of t's i-th fictitious card (1-based), shaped to pass t's
// card-number rule; false when no shape does (OpenTraining then clears the copied rule).
func TrainingCardNo(t *tenant.Tenant, i int) (string, bool) {
	for _, form := range trainingNumberForms {
		ok := true
		for _, j := range []int{1, TrainingCards} {
			if no, err := ValidateCardNo(t, form(j)); err != nil || no != form(j) {
				ok = false
				break
			}
		}
		if ok {
			return form(i), true
		}
	}
	return "", false
}

// trainingSource is what is copied from the city: its places with their weekly windows and their
// overrides from today on, and its own mail wording.
type trainingSource struct {
	locations []Location
	templates []Template
	overrides []Override
	mail      []MailTemplate
}

// OpenTraining opens src's training copy (研修用) in one transaction: the tenants' part
// (tenant.TrainingOpen: the new city at tenant.TrainingSlug(src.Slug), its first administrator
// with an issued password, returned once, and the audit rows), then a copy of src's places,
// weekly opening hours, dated overrides from today on and mail wording, slots over the horizon,
// and the practice data (TrainingCards fictitious cards, TrainingBookings of them booked). No
// card, booking, mail, staff account or log of src is copied. When no fictitious number fits the
// card-number rule src set, the copy has the default rule. It returns tenant.TrainingOpen's
// errors (forbidden for an actor who is not the vendor or the system; conflicts for a training
// city, a city that has a copy, a taken host label).
func (s *Service) OpenTraining(ctx context.Context, src *tenant.Tenant, by tenant.Actor) (_ *tenant.Tenant, initial string, err error) {
	defer tenant.Wrap(&err, "booking.OpenTraining(%s)", src.ID)
	now := s.now()
	var t *tenant.Tenant
	var spans []slotfeed.Span
	err = tenant.InTx(ctx, s.db, src.ID, func(ctx context.Context, tx bun.Tx) error {
		var in trainingSource
		if err := tx.NewSelect().Model(&in.locations).Order("sort_order", "name").Scan(ctx); err != nil {
			return err
		}
		if err := tx.NewSelect().Model(&in.templates).Scan(ctx); err != nil {
			return err
		}
		if err := tx.NewSelect().Model(&in.overrides).Where("day >= ?", DateOf(now).StdTime()).Scan(ctx); err != nil {
			return err
		}
		if err := tx.NewSelect().Model(&in.mail).Scan(ctx); err != nil {
			return err
		}
		var err error
		if t, initial, err = tenant.TrainingOpen(ctx, tx, src, by, now); err != nil {
			return err
		}
		// From here on tx is in the training city's scope.
		if _, ok := TrainingCardNo(t, 1); !ok {
			t.Settings.CardNumberPattern = ""
			if _, err := tx.NewUpdate().Model(t).Column("settings").WherePK().Exec(ctx); err != nil {
				return err
			}
		}
		if err := copyTrainingSource(ctx, tx, t, &in); err != nil {
			return err
		}
		spans, err = s.seedTraining(ctx, tx, t, now)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	s.slotsChanged(ctx, t.ID, spans...)
	return t, initial, nil
}

// copyTrainingSource writes the city's places, windows, overrides and mail wording into t (tx in
// t's scope), each place under a new id.
func copyTrainingSource(ctx context.Context, tx bun.Tx, t *tenant.Tenant, in *trainingSource) error {
	ids := make(map[uuid.UUID]uuid.UUID, len(in.locations))
	for i := range in.locations {
		l := &in.locations[i]
		ids[l.ID] = uuid.New()
		l.TenantID, l.ID = t.ID, ids[l.ID]
	}
	for i := range in.templates {
		w := &in.templates[i]
		w.TenantID, w.ID, w.LocationID = t.ID, uuid.New(), ids[w.LocationID]
	}
	for i := range in.overrides {
		o := &in.overrides[i]
		o.TenantID, o.ID, o.LocationID = t.ID, uuid.New(), ids[o.LocationID]
	}
	for i := range in.mail {
		in.mail[i].TenantID = t.ID
	}
	insert := func(n int, rows any) error {
		if n == 0 {
			return nil
		}
		if _, err := tx.NewInsert().Model(rows).Exec(ctx); err != nil {
			return fmt.Errorf("copy into the training city: %w", err)
		}
		return nil
	}
	if err := insert(len(in.locations), &in.locations); err != nil {
		return err
	}
	if err := insert(len(in.templates), &in.templates); err != nil {
		return err
	}
	if err := insert(len(in.overrides), &in.overrides); err != nil {
		return err
	}
	return insert(len(in.mail), &in.mail)
}

// seedTraining makes t's slots over its horizon and its practice data (tx in t's scope, which
// has no card and no booking): TrainingCards fictitious cards, the next TrainingNotices marked
// 交付通知書発送済, and the first TrainingBookings booked, one per place and day from the first
// open slot on (today's, if any is left, for practising the check-in; booked as by the counter
// before the citizens' deadline, as by a citizen after it). It returns the days whose slots
// changed.
func (s *Service) seedTraining(ctx context.Context, tx bun.Tx, t *tenant.Tenant, now time.Time) ([]slotfeed.Span, error) {
	from, to := DateOf(now), DateOf(now).AddDays(HorizonDays(t))
	var locs []uuid.UUID
	if err := tx.NewSelect().Model((*Location)(nil)).Column("id").Scan(ctx, &locs); err != nil {
		return nil, err
	}
	spans := make([]slotfeed.Span, 0, len(locs))
	for _, id := range locs {
		if err := generateSlots(ctx, tx, t.ID, id, from, to, now); err != nil {
			return nil, err
		}
		spans = append(spans, generatedSpan(id, from, to))
	}
	cards := make([]Card, TrainingCards)
	for i := range cards {
		no, ok := TrainingCardNo(t, i+1)
		if !ok {
			return nil, fmt.Errorf("no fictitious card number fits the rule %q", t.Settings.CardNumberPattern)
		}
		g := trainingGiven[i%len(trainingGiven)]
		name, kana := "研修 "+g[0], "ケンシュウ "+g[1]
		cards[i] = Card{TenantID: t.ID, ID: uuid.New(), CardNo: no, BirthHMAC: BirthHMAC(s.cfg.SecretKey, t.ID, no, TrainingBirth),
			Name: &name, NameKana: &kana, StoragePos: fmt.Sprintf("研修箱-%03d", i+1), Status: CardImported,
			StatusChangedAt: now, CreatedAt: now, UpdatedAt: now}
	}
	if _, err := tx.NewInsert().Model(&cards).Exec(ctx); err != nil {
		return nil, fmt.Errorf("insert fictitious cards: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO card_status_history (tenant_id, card_id, from_status, to_status, channel, actor, changed_at)
		SELECT tenant_id, id, NULL, status, 'import', '', ? FROM cards`, now); err != nil {
		return nil, fmt.Errorf("record fictitious cards: %w", err)
	}
	system := tenant.System("training")
	for i := TrainingBookings; i < TrainingBookings+TrainingNotices; i++ {
		if err := recordStatus(ctx, tx, t.ID, cards[i].ID, CardImported, CardNoticeSent, system, now); err != nil {
			return nil, err
		}
	}
	var slots []uuid.UUID
	if err := tx.NewRaw(`SELECT id FROM (SELECT DISTINCT ON (day, location_id) id, day, starts_at FROM slots
			WHERE open AND starts_at > ? AND booked + held < capacity ORDER BY day, location_id, starts_at) s
		ORDER BY day, starts_at LIMIT ?`, now, TrainingBookings).Scan(ctx, &slots); err != nil {
		return nil, err
	}
	first := bookableFrom(t, now)
	for i, slotID := range slots {
		c := cards[i]
		a := tenant.Actor{Channel: tenant.ChannelStaff, Login: "training"}
		sl, err := takePlaces(ctx, tx, t, slotID, 1, uuid.Nil, a, now, "booked")
		if err != nil {
			return nil, err
		}
		if !sl.Day.Before(first) {
			a = tenant.Citizen("")
		}
		r := &Reservation{TenantID: t.ID, SlotID: slotID, LocationID: sl.LocationID, StartsAt: sl.StartsAt, Status: Booked,
			Channel: a.Channel, Lang: "ja", PartySize: 1, CreatedAt: now, UpdatedAt: now}
		if err := insertBooking(ctx, tx, r, []uuid.UUID{c.ID}, []lockedCard{{ID: c.ID, No: c.CardNo, Status: CardImported}}, a); err != nil {
			return nil, err
		}
	}
	return spans, nil
}

// ResetTraining puts the training city t back to its fresh state in one transaction: its
// bookings, holds, mail, cards with their history, event counts and audit log are deleted,
// its slots emptied and made again over the horizon, and new practice data made as at
// OpenTraining; then "training.reset" (with the counts deleted) is the first line of the new
// audit log (and of the vendor's log, for the vendor). Places, opening hours, settings, mail
// wording and staff accounts stay as the trainees left them. The nightly job (the system) and
// the vendor may reset; anyone else is forbidden, and a real city is conflict
// "tenant.training.not_training" (the database refuses too: only a training city's bookings and
// audit log may be deleted).
func (s *Service) ResetTraining(ctx context.Context, t *tenant.Tenant, by tenant.Actor) (err error) {
	defer tenant.Wrap(&err, "booking.ResetTraining(%s)", t.ID)
	if err := tenant.TrainingCheck(t, by); err != nil {
		return err
	}
	now := s.now()
	var spans []slotfeed.Span
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var cur tenant.Tenant
		if err := tx.NewSelect().Model(&cur).Where("id = ?", t.ID).For("UPDATE").Scan(ctx); err != nil {
			return err
		}
		if err := tenant.TrainingCheck(&cur, by); err != nil {
			return err
		}
		counts := map[string]any{}
		for _, q := range []struct{ name, sql string }{
			{"holds", "DELETE FROM slot_holds"},
			{"bookings", "DELETE FROM reservations"}, // their cards' links, outbox and sent mail go with them
			{"cards", "DELETE FROM cards"},           // and their status history
			{"events", "DELETE FROM event_counts"},
			{"audit", "DELETE FROM audit_log"},
			{"slots", "UPDATE slots SET booked = 0, held = 0, flagged = false WHERE booked > 0 OR held > 0 OR flagged"},
		} {
			res, err := tx.ExecContext(ctx, q.sql)
			if err != nil {
				return fmt.Errorf("reset %s: %w", q.name, err)
			}
			n, _ := res.RowsAffected()
			counts[q.name] = n
		}
		var err error
		if spans, err = s.seedTraining(ctx, tx, &cur, now); err != nil {
			return err
		}
		return by.AuditCity(ctx, tx, cur.ID, "training.reset", cur.Slug, nil, counts)
	})
	if err == nil {
		s.slotsChanged(ctx, t.ID, spans...)
	}
	return err
}
