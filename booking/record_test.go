package booking_test

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/booking/guard"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// recordWorld is one city with everything the record cases act on, and a switch that makes every
// insert into the audit log and the card status history fail.
type recordWorld struct {
	d     *tenanttest.DB
	svc   *booking.Service
	clock *tenanttest.Clock
	t     *tenant.Tenant
	loc   *booking.Location
	slot  *booking.Slot // citizen-bookable, five places
	later *booking.Slot // another bookable time of the same location
}

var recorder = tenant.Staff(uuid.Nil, "record.clerk", "192.0.2.44")

func newRecordWorld(t *testing.T) *recordWorld { return newRecordWorldWith(t, nil) }

// newRecordWorldWith is newRecordWorld with the service's configuration changed by configure.
func newRecordWorldWith(t *testing.T, configure func(*booking.Config)) *recordWorld {
	t.Helper()
	d := tenanttest.NewDB(t)
	ctx := context.Background()
	// The owner installs the switch: a trigger refusing audit and history rows while refuse_records
	// has a row. The runtime role only reads the switch.
	for _, q := range []string{
		`CREATE TABLE refuse_records (on_ boolean PRIMARY KEY)`,
		`CREATE FUNCTION refuse_records() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF EXISTS (SELECT 1 FROM refuse_records) THEN
					RAISE EXCEPTION 'record refused by the test' USING ERRCODE = 'P0001';
				END IF;
				RETURN NEW;
			END $$`,
		`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_records()`,
		`CREATE TRIGGER refuse_history BEFORE INSERT ON card_status_history FOR EACH ROW EXECUTE FUNCTION refuse_records()`,
		fmt.Sprintf(`GRANT SELECT ON refuse_records TO %q`, d.AppRole),
	} {
		if _, err := d.Owner.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	g := newGuard(t, guard.DefaultConfig())
	clock := tenanttest.NewClock()
	cfg := booking.Config{Now: clock.Now, SecretKey: bookingtest.Key, Guard: g}
	if configure != nil {
		configure(&cfg)
	}
	w := &recordWorld{d: d, clock: clock, t: tenanttest.MustCreateTenant(t, d.App), svc: booking.NewService(d.App, cfg)}
	w.loc = bookingtest.MustLocation(t, w.svc, w.t, "本庁", 5)
	w.slot = bookingtest.FirstSlot(t, w.svc, w.t, w.loc, clock.Now())
	slots, err := w.svc.SlotsBetween(ctx, w.t, w.loc.ID, booking.DateFromDB(w.slot.Day), booking.DateFromDB(w.slot.Day).AddDays(10))
	if err != nil {
		t.Fatal(err)
	}
	for i := range slots {
		if slots[i].Open && slots[i].ID != w.slot.ID {
			w.later = &slots[i]
			break
		}
	}
	if w.later == nil {
		t.Fatal("no second slot")
	}
	return w
}

// refuse turns the switch on or off.
func (w *recordWorld) refuse(t *testing.T, on bool) {
	t.Helper()
	q := "DELETE FROM refuse_records"
	if on {
		q = "INSERT INTO refuse_records VALUES (true)"
	}
	if _, err := w.d.Owner.ExecContext(context.Background(), q); err != nil {
		t.Fatal(err)
	}
}

// snapshot is a digest of every tenant table's rows for the city, so a case can prove that nothing
// at all changed.
func (w *recordWorld) snapshot(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := tenant.InTx(context.Background(), w.d.App, w.t.ID, func(ctx context.Context, tx bun.Tx) error {
		for _, table := range tenantTables(t, tx) {
			var digest string
			q := fmt.Sprintf(`SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '')) FROM %s x`, bun.Ident(table))
			if err := tx.NewRaw(q).Scan(ctx, &digest); err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
			out[table] = digest
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (w *recordWorld) card(t *testing.T) *booking.Card {
	return bookingtest.MustCard(t, w.svc, w.t, "0312")
}

func (w *recordWorld) booking(t *testing.T, slot *booking.Slot) *booking.Reservation {
	t.Helper()
	r, err := w.svc.Reserve(context.Background(), w.t, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{w.card(t).ID},
		Email: "record@example.jp", Actor: recorder})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// recordCase prepares what the operation needs (the switch is off) and returns the operation,
// which runs with every audit and history insert refused.
type recordCase func(t *testing.T, w *recordWorld) func(ctx context.Context) error

// recordCases has one case per exported method of booking.Service that writes an audit row or a
// card's history: each must fail as a whole when that record cannot be written.
var recordCases = map[string]recordCase{
	"Reserve": func(t *testing.T, w *recordWorld) func(context.Context) error {
		c := w.card(t)
		return func(ctx context.Context) error {
			_, err := w.svc.Reserve(ctx, w.t, booking.ReserveInput{SlotID: w.slot.ID, CardIDs: []uuid.UUID{c.ID}, Email: "a@example.jp", Actor: recorder})
			return err
		}
	},
	"Change": func(t *testing.T, w *recordWorld) func(context.Context) error {
		r := w.booking(t, w.slot)
		return func(ctx context.Context) error {
			_, err := w.svc.Change(ctx, w.t, r.ID, w.later.ID, uuid.Nil, recorder)
			return err
		}
	},
	"Cancel": func(t *testing.T, w *recordWorld) func(context.Context) error {
		r := w.booking(t, w.slot)
		return func(ctx context.Context) error { return w.svc.Cancel(ctx, w.t, r.ID, recorder) }
	},
	"CheckIn": func(t *testing.T, w *recordWorld) func(context.Context) error {
		r := w.booking(t, w.slot)
		w.clock.Set(w.slot.StartsAt.Add(time.Minute))
		return func(ctx context.Context) error { _, _, err := w.svc.CheckIn(ctx, w.t, r.Code, recorder); return err }
	},
	"MarkNoShow": func(t *testing.T, w *recordWorld) func(context.Context) error {
		r := w.booking(t, w.slot)
		w.clock.Set(w.slot.EndsAt.Add(time.Hour))
		return func(ctx context.Context) error { return w.svc.MarkNoShow(ctx, w.t, r.ID, recorder) }
	},
	"MarkNoShows": func(t *testing.T, w *recordWorld) func(context.Context) error {
		w.booking(t, w.slot)
		at := booking.DateFromDB(w.slot.Day).AddDays(1).Time(3, 0)
		return func(ctx context.Context) error { _, err := w.svc.MarkNoShows(ctx, w.t, at); return err }
	},
	"ApplyRetention": func(t *testing.T, w *recordWorld) func(context.Context) error {
		w.booking(t, w.slot)
		if _, err := w.svc.MarkNoShows(context.Background(), w.t, booking.DateFromDB(w.slot.Day).AddDays(1).Time(3, 0)); err != nil {
			t.Fatal(err)
		}
		at := booking.DateFromDB(w.slot.Day).AddDays(400).Time(3, 0) // the address is past its keeping
		return func(ctx context.Context) error { _, err := w.svc.ApplyRetention(ctx, w.t, at); return err }
	},
	"ChangeCardStatus": func(t *testing.T, w *recordWorld) func(context.Context) error {
		c := w.card(t)
		return func(ctx context.Context) error {
			return w.svc.ChangeCardStatus(ctx, w.t, []uuid.UUID{c.ID}, booking.CardNoticeSent, recorder)
		}
	},
	"UnlockCardByID": func(t *testing.T, w *recordWorld) func(context.Context) error {
		c := w.card(t)
		return func(ctx context.Context) error { return w.svc.UnlockCardByID(ctx, w.t, c.ID, recorder) }
	},
	"AddCard": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := w.svc.AddCard(ctx, w.t, booking.CardInput{CardNo: "123456789", Birth: "0101"})
			return err
		}
	},
	"ImportCards": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := w.svc.ImportCards(ctx, w.t, strings.NewReader("製造管理番号,生年月日\n987654321,1990-01-02\n"), nil)
			return err
		}
	},
	"AddLocation": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := w.svc.AddLocation(ctx, w.t, booking.Location{Name: "支所", Active: true}, recorder)
			return err
		}
	},
	"UpdateLocation": func(t *testing.T, w *recordWorld) func(context.Context) error {
		l := *w.loc
		l.Name = "本庁舎"
		return func(ctx context.Context) error { _, err := w.svc.UpdateLocation(ctx, w.t, l, recorder); return err }
	},
	"SetWeeklySchedule": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			return w.svc.SetWeeklySchedule(ctx, w.t, w.loc.ID, []booking.Window{{Weekday: time.Monday, Start: 13 * 60, End: 14 * 60, SlotMinutes: 30, Capacity: 1}}, recorder)
		}
	},
	"AddOverride": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			return w.svc.AddOverride(ctx, w.t, w.loc.ID, booking.DateFromDB(w.slot.Day), booking.OverrideClose, nil, "臨時休業", recorder)
		}
	},
	"DeleteOverride": func(t *testing.T, w *recordWorld) func(context.Context) error {
		day := booking.DateFromDB(w.slot.Day)
		if err := w.svc.AddOverride(context.Background(), w.t, w.loc.ID, day, booking.OverrideClose, nil, "臨時休業", recorder); err != nil {
			t.Fatal(err)
		}
		ovs, err := w.svc.OverridesFrom(context.Background(), w.t, w.loc.ID, day)
		if err != nil || len(ovs) != 1 {
			t.Fatalf("OverridesFrom = %v, %v", ovs, err)
		}
		return func(ctx context.Context) error {
			_, err := w.svc.DeleteOverride(ctx, w.t, w.loc.ID, ovs[0].ID, recorder)
			return err
		}
	},
	"SaveMailTemplate": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			return w.svc.SaveMailTemplate(ctx, w.t, booking.MailTemplateInput{Kind: booking.KindReminder, Lang: "ja",
				Subject: "【{{.City}}】明日はご予約日です（{{.Code}}）", Body: "{{.CodeGrouped}}\n{{.When}}\n{{.Place}}\n{{.URL}}\n"}, recorder)
		}
	},
	"ResetMailTemplate": func(t *testing.T, w *recordWorld) func(context.Context) error {
		if err := w.svc.SaveMailTemplate(context.Background(), w.t, booking.MailTemplateInput{Kind: booking.KindReminder, Lang: "ja",
			Subject: "【{{.City}}】明日はご予約日です（{{.Code}}）", Body: "{{.CodeGrouped}}\n{{.When}}\n{{.Place}}\n{{.URL}}\n"}, recorder); err != nil {
			t.Fatal(err)
		}
		return func(ctx context.Context) error {
			_, err := w.svc.ResetMailTemplate(ctx, w.t, booking.KindReminder, "ja", recorder)
			return err
		}
	},
	"SaveImportProfile": func(t *testing.T, w *recordWorld) func(context.Context) error {
		p := booking.DefaultImportProfile()
		p.CardNo = "交付番号"
		return func(ctx context.Context) error { return w.svc.SaveImportProfile(ctx, w.t.ID, p, recorder) }
	},
	"CreateImportJob": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := w.svc.CreateImportJob(ctx, w.t.ID, recorder, "cards.csv", []byte("製造管理番号,生年月日\n100000009,1990-03-12\n"))
			return err
		}
	},
	"RequestImportCommit": func(t *testing.T, w *recordWorld) func(context.Context) error {
		id := w.validatedImport(t)
		return func(ctx context.Context) error { return w.svc.RequestImportCommit(ctx, w.t.ID, id, recorder) }
	},
	"CancelImport": func(t *testing.T, w *recordWorld) func(context.Context) error {
		id := w.validatedImport(t)
		return func(ctx context.Context) error { return w.svc.CancelImport(ctx, w.t.ID, id, recorder) }
	},
	"RunImportCommit": func(t *testing.T, w *recordWorld) func(context.Context) error {
		id := w.validatedImport(t)
		if err := w.svc.RequestImportCommit(context.Background(), w.t.ID, id, recorder); err != nil {
			t.Fatal(err)
		}
		return func(ctx context.Context) error {
			err := w.svc.RunImportCommit(ctx, w.t, id)
			if j, jerr := w.svc.ImportJob(ctx, w.t.ID, id); err != nil && (jerr != nil || j.State != booking.ImportCommitting) {
				t.Errorf("import job after a refused commit = %+v, %v; want it still committing for the retry", j, jerr)
			}
			return err
		}
	},
	"UpdateSettings": func(t *testing.T, w *recordWorld) func(context.Context) error {
		st := w.t.Settings
		st.HorizonDays = booking.HorizonDays(w.t) + 30 // the new days' slots are part of the change
		return func(ctx context.Context) error { _, err := w.svc.UpdateSettings(ctx, w.t, st, recorder); return err }
	},
	// Reading citizens' records is logged; a read whose log line cannot be written returns nothing.
	"SearchCards": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := w.svc.SearchCards(ctx, w.t, booking.CardQuery{}, recorder)
			return err
		}
	},
	"AddCardByHand": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := w.svc.AddCardByHand(ctx, w.t, booking.CardRow{CardNo: "246813579", Birth: "1990-03-12"}, recorder)
			return err
		}
	},
	"ExportCards": func(t *testing.T, w *recordWorld) func(context.Context) error {
		w.card(t)
		return func(ctx context.Context) error {
			_, err := w.svc.ExportCards(ctx, w.t, booking.CardFilter{}, booking.EncodingSJIS, io.Discard, nil, recorder)
			return err
		}
	},
	"ExportMonthlyReport": func(t *testing.T, w *recordWorld) func(context.Context) error {
		w.card(t)
		return func(ctx context.Context) error {
			_, err := w.svc.ExportMonthlyReport(ctx, w.t, booking.MonthOf(w.svc.Now()), booking.EncodingUTF8, io.Discard, recorder)
			return err
		}
	},
	"PrintCards": func(t *testing.T, w *recordWorld) func(context.Context) error {
		w.card(t)
		return func(ctx context.Context) error {
			_, err := w.svc.PrintCards(ctx, w.t, booking.CardFilter{Status: booking.CardImported}, recorder)
			return err
		}
	},
	"ChangeCardStatusByFilter": func(t *testing.T, w *recordWorld) func(context.Context) error {
		c := w.card(t)
		f := booking.CardFilter{No: c.CardNo, Status: booking.CardImported}
		return func(ctx context.Context) error {
			_, err := w.svc.ChangeCardStatusByFilter(ctx, w.t, f, booking.CardNoticeSent, 1, recorder)
			return err
		}
	},
	"CardRecord": func(t *testing.T, w *recordWorld) func(context.Context) error {
		c := w.card(t)
		return func(ctx context.Context) error { _, err := w.svc.CardRecord(ctx, w.t, c.ID, recorder); return err }
	},
	"SearchReservations": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := w.svc.SearchReservations(ctx, w.t, booking.ReservationFilter{}, recorder)
			return err
		}
	},
	"ReservationForStaff": func(t *testing.T, w *recordWorld) func(context.Context) error {
		r := w.booking(t, w.slot)
		return func(ctx context.Context) error {
			_, err := w.svc.ReservationForStaff(ctx, w.t, r.ID, recorder)
			return err
		}
	},
	"DayList": func(t *testing.T, w *recordWorld) func(context.Context) error {
		w.booking(t, w.slot)
		return func(ctx context.Context) error {
			_, err := w.svc.DayList(ctx, w.t, booking.DateFromDB(w.slot.Day), uuid.Nil, recorder)
			return err
		}
	},
	"PickList": func(t *testing.T, w *recordWorld) func(context.Context) error {
		w.booking(t, w.slot)
		return func(ctx context.Context) error {
			_, err := w.svc.PickList(ctx, w.t, booking.DateFromDB(w.slot.Day), uuid.Nil, recorder)
			return err
		}
	},
	"ExportCSV": func(t *testing.T, w *recordWorld) func(context.Context) error {
		w.booking(t, w.slot)
		day := booking.DateFromDB(w.slot.Day)
		return func(ctx context.Context) error {
			_, err := w.svc.ExportCSV(ctx, w.t, booking.ExportFilter{From: day, To: day}, booking.EncodingUTF8, io.Discard, func() error { return nil }, recorder)
			return err
		}
	},
	// A handover export reads everything: no byte is written unless its start is in the log.
	"ExportHandover": func(t *testing.T, w *recordWorld) func(context.Context) error {
		w.booking(t, w.slot)
		return func(ctx context.Context) error {
			var buf strings.Builder
			_, err := w.svc.ExportHandover(ctx, w.t, &buf, recorder)
			if err != nil && buf.Len() > 0 {
				t.Errorf("ExportHandover with its record refused wrote %d bytes", buf.Len())
			}
			return err
		}
	},
	// An operator's check of a caller is logged; a check whose log line cannot be written shows
	// nothing and counts no call.
	"VerifyCaller": func(t *testing.T, w *recordWorld) func(context.Context) error {
		c := w.card(t)
		ops := tenant.NewOpsAccounts(w.d.App, w.clock.Now)
		op, _, err := ops.Create(context.Background(), "record.operator."+c.CardNo, "記録 オペレーター", tenant.OpsRoleOperator, tenant.VendorCLI())
		if err != nil {
			t.Fatal(err)
		}
		a := tenant.Operator(op.ID, op.LoginID, "192.0.2.45")
		return func(ctx context.Context) error {
			caller, err := w.svc.VerifyCaller(ctx, w.t, booking.CallerCheck{CardNo: c.CardNo, Birth: "0312"}, a)
			if err != nil && caller != nil {
				t.Errorf("VerifyCaller with its record refused returned %+v", caller)
			}
			return err
		}
	},
	"LookupCards": func(t *testing.T, w *recordWorld) func(context.Context) error {
		c := w.card(t)
		return func(ctx context.Context) error {
			_, err := w.svc.LookupCards(ctx, w.t, []string{c.CardNo}, recorder)
			return err
		}
	},
	"OpenTraining": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			_, _, err := w.svc.OpenTraining(ctx, w.t, tenant.VendorCLI())
			return err
		}
	},
	"ResetTraining": func(t *testing.T, w *recordWorld) func(context.Context) error {
		tr, _, err := w.svc.OpenTraining(context.Background(), w.t, tenant.VendorCLI())
		if err != nil {
			t.Fatal(err)
		}
		return func(ctx context.Context) error { return w.svc.ResetTraining(ctx, tr, tenant.System("training-reset")) }
	},
}

// unrecorded are the exported methods that write neither an audit row nor a card's history: reads
// that are not logged, the mail outbox and its ledger, holds (a citizen's own), slot generation,
// reminders, the import's preview and progress, the fleet overview's counts (counts only, no
// citizen's record), and the clock.
var unrecorded = []string{
	"Availability", "Board", "BookableSlots", "CardByID", "CardsByID", "CardHardLocked", "CardNumbers", "ClaimOutbox", "ClaimOutboxRows", "CleanupOutbox",
	"CommitImport", "CountCardsForChange", "CurrentReservation", "DaySummary", "ExtendHold", "FillRates", "FlaggedSlots", "FleetDaily", "FleetOverview",
	"GenerateSlots",
	"HoldByID", "HoldSlot", "ImportJob", "ImportJobs", "ImportProfile", "LocationByID", "Locations",
	"Login", "LoginChallenge", "LoginStepUp", "MailFailed", "MailSent", "MailTemplateList", "MailTemplateOf", "MarkOutboxEnqueued", "MonthlyReport", "Now",
	"OutboxBacklog", "OutboxByID", "OverrideByID", "OverridesFrom", "PreviewImport", "PreviewMail",
	"QueueReminders", "RecordMails", "ReleaseExpiredHolds", "ReleaseHold", "ReleaseOutbox", "ReservationByID",
	"RunImportValidate", "SlotByID", "SlotsBetween", "SlotsOn",
	"BookingCards", "PlaceHours", "StartMail", "StartMails", "Summary", "UpdateFleetFigures", "WeeklyWindows",
}

// progressOnly are tables an operation may touch outside its change: a commit's progress is
// written in short transactions of its own while it runs (the job itself stays committing,
// which the worker's retry picks up).
var progressOnly = map[string]map[string]bool{"RunImportCommit": {"import_jobs": true}}

// validatedImport uploads a small card file and validates it as the worker does.
func (w *recordWorld) validatedImport(t *testing.T) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	job, err := w.svc.CreateImportJob(ctx, w.t.ID, recorder, "cards.csv", []byte("製造管理番号,生年月日\n100000009,1990-03-12\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.RunImportValidate(ctx, w.t, job.ID); err != nil {
		t.Fatal(err)
	}
	if j, err := w.svc.ImportJob(ctx, w.t.ID, job.ID); err != nil || j.State != booking.ImportValidated {
		t.Fatalf("import job after validation = %+v, %v", j, err)
	}
	return job.ID
}

// TestChangeRollsBackWithItsRecord: for every operation that writes an audit row or a card's
// history, a refused record makes the whole operation fail and leaves every table as it was.
// A new exported method must be added to recordCases or to unrecorded.
func TestChangeRollsBackWithItsRecord(t *testing.T) {
	methods := reflect.TypeOf(&booking.Service{})
	known := map[string]bool{}
	for _, name := range unrecorded {
		known[name] = true
	}
	var missing []string
	for i := range methods.NumMethod() {
		name := methods.Method(i).Name
		if _, ok := recordCases[name]; !ok && !known[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("exported methods of booking.Service with no record case and not listed as unrecorded: %v", missing)
	}
	for name := range recordCases {
		if _, ok := methods.MethodByName(name); !ok {
			t.Errorf("record case %s names no method of booking.Service", name)
		}
	}
	for _, name := range unrecorded {
		if _, ok := methods.MethodByName(name); !ok {
			t.Errorf("unrecorded lists %s, which is no method of booking.Service", name)
		}
	}
	names := make([]string, 0, len(recordCases))
	for name := range recordCases {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newRecordWorld(t)
			op := recordCases[name](t, w)
			before := w.snapshot(t)
			w.refuse(t, true)
			err := op(context.Background())
			w.refuse(t, false)
			if err == nil {
				t.Fatalf("%s with its record refused = nil, want an error", name)
			}
			after := w.snapshot(t)
			for table, digest := range before {
				if after[table] != digest && !progressOnly[name][table] {
					t.Errorf("%s with its record refused (%v) changed table %s", name, err, table)
				}
			}
			// The same operation goes through once records can be written again: the case
			// tested the record, not some other refusal.
			if err := op(context.Background()); err != nil {
				t.Errorf("%s with records allowed: %v", name, err)
			}
		})
	}
}
