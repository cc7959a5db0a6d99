package booking_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// trainingWorld is a real city with places, hours, its own mail wording, a card rule and a
// citizen's booking, ready to be copied.
type trainingWorld struct {
	d     *tenanttest.DB
	clock *tenanttest.Clock
	svc   *booking.Service
	src   *tenant.Tenant
	card  *booking.Card
}

func newTrainingWorld(t *testing.T) *trainingWorld {
	t.Helper()
	ctx := context.Background()
	w := &trainingWorld{d: tenanttest.NewDB(t), clock: tenanttest.NewClock()}
	w.svc = bookingtest.Service(w.d.App, w.clock.Now)
	w.src = tenanttest.MustCreateTenant(t, w.d.App)
	src, err := w.svc.UpdateSettings(ctx, w.src, tenant.Settings{CallCenterPhone: "059-229-3110", HorizonDays: 90, CardNumberPattern: `^[0-9]{9}$`}, bookingtest.Admin)
	if err != nil {
		t.Fatal(err)
	}
	w.src = src
	loc := bookingtest.MustLocation(t, w.svc, w.src, "本庁", 3)
	bookingtest.MustLocation(t, w.svc, w.src, "支所", 2)
	day := booking.DateOf(w.clock.Now()).AddDays(20)
	if err := w.svc.AddOverride(ctx, w.src, loc.ID, day, booking.OverrideClose, nil, "庁舎点検", bookingtest.Admin); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.SaveMailTemplate(ctx, w.src, booking.MailTemplateInput{Kind: booking.KindReminder, Lang: "ja",
		Subject: "【本市】明日はご予約日です（{{.Code}}）", Body: "{{.CodeGrouped}}\n{{.When}}\n{{.Place}}\n{{.URL}}\n"}, bookingtest.Admin); err != nil {
		t.Fatalf("SaveMailTemplate: %v", err)
	}
	w.card = bookingtest.MustCard(t, w.svc, w.src, "0312")
	slot := bookingtest.FirstSlot(t, w.svc, w.src, loc, w.clock.Now())
	if _, err := w.svc.Reserve(ctx, w.src, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{w.card.ID},
		Email: "real.citizen@example.jp", Actor: bookingtest.Citizen}); err != nil {
		t.Fatal(err)
	}
	return w
}

// count runs a count in the city's scope as the runtime role.
func (w *trainingWorld) count(t *testing.T, id uuid.UUID, q string, args ...any) int {
	t.Helper()
	var n int
	err := tenant.InTx(context.Background(), w.d.App, id, func(ctx context.Context, tx bun.Tx) error {
		return tx.QueryRowContext(ctx, q, args...).Scan(&n)
	})
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestTrainingOpen: the copy has the city's settings, places, hours and wording, its own admin
// and fictitious cards and bookings, and nothing of the city's citizens; it is no part of the
// fleet's figures.
func TestTrainingOpen(t *testing.T) {
	w := newTrainingWorld(t)
	ctx := context.Background()
	if _, _, err := w.svc.OpenTraining(ctx, w.src, bookingtest.Admin); tenant.ErrorCode(err) != tenant.Forbidden {
		t.Fatalf("a city's staff opened a training city: %v", err)
	}
	tr, initial, err := w.svc.OpenTraining(ctx, w.src, tenant.VendorCLI())
	if err != nil {
		t.Fatalf("OpenTraining: %v", err)
	}
	if tr.Slug != w.src.Slug+"-kensyu" || !tr.Training() || *tr.TrainingOf != w.src.ID || !strings.HasSuffix(tr.Name, "（研修用）") {
		t.Errorf("training city = %s %q of %v", tr.Slug, tr.Name, tr.TrainingOf)
	}
	if tr.Settings.CallCenterPhone != "059-229-3110" || tr.Settings.CardNumberPattern != `^[0-9]{9}$` {
		t.Errorf("settings not copied: %+v", tr.Settings)
	}
	locs, err := w.svc.Locations(ctx, tr.ID, false)
	if err != nil || len(locs) != 2 {
		t.Fatalf("places = %+v, %v", locs, err)
	}
	if locs[0].Name != "本庁" {
		locs[0], locs[1] = locs[1], locs[0]
	}
	if locs[0].Name != "本庁" || locs[1].Name != "支所" {
		t.Fatalf("places = %s, %s", locs[0].Name, locs[1].Name)
	}
	ws, err := w.svc.WeeklyWindows(ctx, tr, locs[0].ID)
	if err != nil || len(ws) != 7 || ws[0].Capacity != 3 {
		t.Errorf("weekly windows = %+v, %v", ws, err)
	}
	if ov, err := w.svc.OverridesFrom(ctx, tr, locs[0].ID, booking.DateOf(w.clock.Now())); err != nil || len(ov) != 1 || ov[0].Note != "庁舎点検" {
		t.Errorf("overrides = %+v, %v", ov, err)
	}
	if v, err := w.svc.MailTemplateOf(ctx, tr, booking.KindReminder, "ja"); err != nil || v.Subject != "【本市】明日はご予約日です（{{.Code}}）" {
		t.Errorf("mail wording = %+v, %v", v, err)
	}
	// Practice data, none of the city's.
	if n := w.count(t, tr.ID, "SELECT count(*) FROM cards"); n != booking.TrainingCards {
		t.Errorf("%d cards, want %d", n, booking.TrainingCards)
	}
	if n := w.count(t, tr.ID, "SELECT count(*) FROM cards WHERE card_no = ? OR name NOT LIKE '研修 %'", w.card.CardNo); n != 0 {
		t.Errorf("%d cards are not fictitious", n)
	}
	var nos []string
	if err := tenant.InTx(ctx, w.d.App, tr.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model((*booking.Card)(nil)).Column("card_no").Scan(ctx, &nos)
	}); err != nil {
		t.Fatal(err)
	}
	for _, no := range nos {
		if got, err := booking.ValidateCardNo(tr, no); err != nil || got != no || !strings.HasPrefix(no, "9999") {
			t.Errorf("fictitious card %q does not pass the city's rule: %v", no, err)
		}
	}
	if n := w.count(t, tr.ID, "SELECT count(*) FROM reservations WHERE status = 'booked' AND email IS NULL"); n != booking.TrainingBookings {
		t.Errorf("%d practice bookings without an address, want %d", n, booking.TrainingBookings)
	}
	if n := w.count(t, tr.ID, "SELECT count(*) FROM reservations WHERE email IS NOT NULL"); n != 0 {
		t.Errorf("%d bookings with an address", n)
	}
	if n := w.count(t, tr.ID, "SELECT coalesce(sum(booked), 0) FROM slots"); n != booking.TrainingBookings {
		t.Errorf("slots count %d booked places, want %d", n, booking.TrainingBookings)
	}
	if n := w.count(t, tr.ID, "SELECT count(*) FROM staff_accounts WHERE login_id <> ?", tenant.TrainingAdminLogin); n != 0 {
		t.Errorf("%d other staff accounts", n)
	}
	if _, err := tenant.NewAccounts(w.d.App, w.clock.Now).Authenticate(ctx, tr, tenant.TrainingAdminLogin, initial, "192.0.2.9"); err != nil {
		t.Errorf("the training admin's initial password: %v", err)
	}
	// The city's own data is untouched, and its log says who opened the copy.
	if n := w.count(t, w.src.ID, "SELECT count(*) FROM audit_log WHERE action = 'vendor.training.create' AND actor = 'vendor:cli'"); n != 1 {
		t.Errorf("the city's log has %d lines of the copy", n)
	}
	if _, _, err := w.svc.OpenTraining(ctx, w.src, tenant.VendorCLI()); tenant.AsError(err) == nil || tenant.AsError(err).Key != "tenant.training.exists" {
		t.Errorf("second copy: %v", err)
	}
	if _, _, err := w.svc.OpenTraining(ctx, tr, tenant.VendorCLI()); tenant.AsError(err) == nil || tenant.AsError(err).Key != "tenant.training.of_training" {
		t.Errorf("copy of a copy: %v", err)
	}

	// A training city appears nowhere in the fleet's figures.
	for _, c := range []*tenant.Tenant{w.src, tr} {
		if err := w.svc.UpdateFleetFigures(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	list, err := w.svc.FleetOverview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].TenantID != w.src.ID || list[0].Bookings != 1 {
		t.Errorf("fleet overview = %+v, want the real city alone with its one booking", list)
	}
	days, err := w.svc.FleetDaily(ctx, 1, nil)
	if err != nil || len(days) != 1 || days[0].Cities != 1 || days[0].Bookings != 1 {
		t.Errorf("fleet daily = %+v, %v", days, err)
	}
	var n int
	if err := w.d.Owner.QueryRowContext(ctx, "SELECT count(*) FROM fleet_days WHERE tenant = ?", tr.ID).Scan(&n); err != nil || n != 0 {
		t.Errorf("training city's fleet rows = %d, %v", n, err)
	}
}

// TestTrainingReset: a day of practice is put back to the fresh state; a real city never is,
// and the database refuses to delete a real city's bookings or log even in its own scope.
func TestTrainingReset(t *testing.T) {
	w := newTrainingWorld(t)
	ctx := context.Background()
	tr, _, err := w.svc.OpenTraining(ctx, w.src, tenant.VendorCLI())
	if err != nil {
		t.Fatal(err)
	}
	trainee := tenant.Staff(uuid.Nil, tenant.TrainingAdminLogin, "192.0.2.9")
	var first uuid.UUID
	if err := tenant.InTx(ctx, w.d.App, tr.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.QueryRowContext(ctx, "SELECT id FROM reservations ORDER BY starts_at LIMIT 1").Scan(&first)
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Cancel(ctx, tr, first, trainee); err != nil {
		t.Fatalf("practice cancel: %v", err)
	}
	if _, err := w.svc.AddCard(ctx, tr, booking.CardInput{CardNo: "123456789", Birth: "0505"}); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.ResetTraining(ctx, tr, trainee); tenant.ErrorCode(err) != tenant.Forbidden {
		t.Errorf("a trainee reset the city: %v", err)
	}
	if err := w.svc.ResetTraining(ctx, w.src, tenant.System("training-reset")); tenant.AsError(err) == nil || tenant.AsError(err).Key != "tenant.training.not_training" {
		t.Errorf("a real city reset: %v", err)
	}
	w.clock.Add(24 * time.Hour)
	if err := w.svc.ResetTraining(ctx, tr, tenant.System("training-reset")); err != nil {
		t.Fatalf("ResetTraining: %v", err)
	}
	if n := w.count(t, tr.ID, "SELECT count(*) FROM cards"); n != booking.TrainingCards {
		t.Errorf("%d cards after the reset, want %d", n, booking.TrainingCards)
	}
	if n := w.count(t, tr.ID, "SELECT count(*) FROM cards WHERE card_no = '123456789'"); n != 0 {
		t.Error("the practised card survived the reset")
	}
	if n := w.count(t, tr.ID, "SELECT count(*) FROM reservations WHERE status = 'booked'"); n != booking.TrainingBookings {
		t.Errorf("%d bookings after the reset, want %d", n, booking.TrainingBookings)
	}
	if n := w.count(t, tr.ID, "SELECT count(*) FROM reservations WHERE status <> 'booked' OR created_at <> ?", w.clock.Now()); n != 0 {
		t.Errorf("%d bookings of the day before", n)
	}
	if n := w.count(t, tr.ID, "SELECT coalesce(sum(booked), 0) FROM slots"); n != booking.TrainingBookings {
		t.Errorf("slots count %d booked places, want %d", n, booking.TrainingBookings)
	}
	if n := w.count(t, tr.ID, "SELECT count(*) FROM audit_log WHERE action <> 'training.reset'"); n != 0 {
		t.Errorf("%d lines of the practice left in the audit log", n)
	}
	if n := w.count(t, tr.ID, "SELECT count(*) FROM staff_accounts"); n != 1 {
		t.Errorf("%d staff accounts after the reset, want the trainees' one", n)
	}
	// The real city: the database refuses, whatever the code.
	for _, q := range []string{"DELETE FROM reservations", "DELETE FROM audit_log"} {
		err := tenant.InTx(ctx, w.d.App, w.src.ID, func(ctx context.Context, tx bun.Tx) error {
			res, err := tx.ExecContext(ctx, q)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 0 {
				t.Errorf("%s deleted %d rows of a real city", q, n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := w.count(t, w.src.ID, "SELECT count(*) FROM reservations"); n != 1 {
		t.Errorf("the real city has %d bookings, want its one", n)
	}
}
