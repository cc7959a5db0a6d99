// Package bookingtest builds booking fixtures for tests.
package bookingtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// Citizen is a citizen on the web, for the operations that take an actor.
var Citizen = tenant.Citizen("")

// Admin is the staff member fixtures act as where an operation needs an actor.
var Admin = tenant.Staff(uuid.Nil, "fixture.admin", "192.0.2.1")

// Key is the HMAC key fixtures use.
var Key = []byte("0123456789abcdef0123456789abcdef")

// Service returns a booking service on db with the fixture key and clock now (nil: a clock standing
// at tenanttest.Now(), the moment the tests run at).
func Service(db *bun.DB, now func() time.Time) *booking.Service {
	if now == nil {
		now = tenanttest.NewClock().Now
	}
	return booking.NewService(db, booking.Config{Now: now, SecretKey: Key})
}

// MustLocation adds a location with a weekly schedule open every day 09:00–12:00 in 30-minute
// slots of capacity places, and generates its slots.
func MustLocation(tb testing.TB, svc *booking.Service, t *tenant.Tenant, name string, capacity int) *booking.Location {
	tb.Helper()
	ctx := context.Background()
	l, err := svc.AddLocation(ctx, t, booking.Location{Name: name, Active: true}, Admin)
	if err != nil {
		tb.Fatalf("AddLocation: %v", err)
	}
	var ws []booking.Window
	for d := time.Sunday; d <= time.Saturday; d++ {
		ws = append(ws, booking.Window{Weekday: d, Start: 9 * 60, End: 12 * 60, SlotMinutes: 30, Capacity: capacity})
	}
	if err := svc.SetWeeklySchedule(ctx, t, l.ID, ws, Admin); err != nil {
		tb.Fatalf("SetWeeklySchedule: %v", err)
	}
	return l
}

// MustCard adds a card with a random 9-digit number and the given birth MMDD.
func MustCard(tb testing.TB, svc *booking.Service, t *tenant.Tenant, mmdd string) *booking.Card {
	tb.Helper()
	c, err := svc.AddCard(context.Background(), t, booking.CardInput{
		CardNo: fmt.Sprintf("%09d", rand.IntN(1_000_000_000)), Birth: mmdd, StoragePos: fmt.Sprintf("A-%03d", rand.IntN(1000)),
	})
	if err != nil {
		tb.Fatalf("AddCard: %v", err)
	}
	return c
}

// FirstSlot returns the earliest slot a citizen can book at the location at the moment now (the
// first day past the city's deadline that has slots; public holidays and the year-end closure have
// none).
func FirstSlot(tb testing.TB, svc *booking.Service, t *tenant.Tenant, loc *booking.Location, now time.Time) *booking.Slot {
	tb.Helper()
	day := booking.FirstBookableDay(t, now)
	for range 30 {
		slots, err := svc.SlotsOn(context.Background(), t, loc.ID, day, Citizen)
		if err != nil {
			tb.Fatal(err)
		}
		if len(slots) > 0 {
			return &slots[0]
		}
		day = day.AddDays(1)
	}
	tb.Fatal("no bookable slot in 30 days")
	return nil
}

// SeedAll writes at least one row into every tenant-owned table for the tenant, through the
// domain services, so isolation tests have something to try to steal. When a migration adds a
// table with a tenant_id column, extend this function: the RLS test fails and names the table
// until you do.
func SeedAll(tb testing.TB, db *bun.DB, t *tenant.Tenant) {
	tb.Helper()
	ctx := context.Background()
	svc := Service(db, nil)
	loc := MustLocation(tb, svc, t, "本庁", 3)
	if _, err := svc.AddLocation(ctx, t, booking.Location{Name: "支所", Active: true, SortOrder: 1}, Admin); err != nil {
		tb.Fatalf("SeedAll: %v", err)
	}
	now := tenanttest.Now()
	card := MustCard(tb, svc, t, "0312")
	slot := FirstSlot(tb, svc, t, loc, now) // a place of 3: one held, one booked below
	// An evening counter after the slot's day (at the year end a day three ahead may be closed:
	// the override opens it).
	day := booking.DateFromDB(slot.Day).AddDays(3)
	if err := svc.AddOverride(ctx, t, loc.ID, day, booking.OverrideOpen, &booking.Window{Start: 17*60 + 15, End: 19 * 60, SlotMinutes: 15, Capacity: 1}, "夜間窓口", Admin); err != nil {
		tb.Fatalf("SeedAll: AddOverride: %v", err)
	}
	if _, err := svc.HoldSlot(ctx, t, slot.ID, 1, uuid.Nil, tenant.Citizen("")); err != nil {
		tb.Fatalf("SeedAll: HoldSlot: %v", err)
	}
	if _, err := svc.Reserve(ctx, t, booking.ReserveInput{SlotID: slot.ID, CardIDs: []uuid.UUID{card.ID},
		Email: "seed@example.jp", Actor: tenant.Citizen("")}); err != nil {
		tb.Fatalf("SeedAll: Reserve: %v", err)
	}
	seedMail(tb, svc, t)
	seedImport(tb, svc, t)
	seedEvents(tb, db, t, card.ID, slot.ID)
	// Creating an account also writes the audit log.
	if _, err := tenant.NewAccounts(db, nil).Create(ctx, t, "seed.admin", "管理者", tenant.RoleAdmin, "initial-password-1", "seed"); err != nil {
		tb.Fatalf("SeedAll: account: %v", err)
	}
}

// seedMail gives the tenant its own mail template and puts the confirmation of its booking
// through the mail ledger (sent_mail), as the worker does.
func seedMail(tb testing.TB, svc *booking.Service, t *tenant.Tenant) {
	tb.Helper()
	ctx := context.Background()
	if err := svc.SaveMailTemplate(ctx, t, booking.MailTemplateInput{Kind: booking.KindReminder, Lang: "ja",
		Subject: "【{{.City}}】明日はご予約日です（{{.Code}}）", Body: "{{.CodeGrouped}}\n{{.When}}\n{{.Place}}\n{{.URL}}\n"},
		tenant.Staff(uuid.Nil, "seed.admin", "")); err != nil {
		tb.Fatalf("SeedAll: SaveMailTemplate: %v", err)
	}
	ids, err := svc.ClaimOutbox(ctx, t.ID, 1, time.Minute)
	if err != nil || len(ids) == 0 {
		tb.Fatalf("SeedAll: ClaimOutbox = %v, %v", ids, err)
	}
	job, note, err := svc.StartMail(ctx, t.ID, ids[0], booking.MailEnv{BaseDomain: "example.lg.jp"})
	if err != nil || job == nil {
		tb.Fatalf("SeedAll: StartMail = %q, %v", note, err)
	}
	if err := svc.MailSent(ctx, job); err != nil {
		tb.Fatalf("SeedAll: MailSent: %v", err)
	}
}

// seedImport saves a mapping profile and leaves one uploaded import job.
func seedImport(tb testing.TB, svc *booking.Service, t *tenant.Tenant) {
	tb.Helper()
	ctx := context.Background()
	a := tenant.Staff(uuid.Nil, "seed.admin", "192.0.2.1")
	prof := booking.DefaultImportProfile()
	prof.CardNo = "交付番号"
	if err := svc.SaveImportProfile(ctx, t.ID, prof, a); err != nil {
		tb.Fatalf("SeedAll: SaveImportProfile: %v", err)
	}
	if _, err := svc.CreateImportJob(ctx, t.ID, a, "seed.csv", []byte("交付番号,生年月日\n100000009,1990-03-12\n")); err != nil {
		tb.Fatalf("SeedAll: CreateImportJob: %v", err)
	}
}

// seedEvents has a booking refused (the card is booked already) and writes its count to
// event_counts, as the web process does.
func seedEvents(tb testing.TB, db *bun.DB, t *tenant.Tenant, cardID, slotID uuid.UUID) {
	tb.Helper()
	ctx := context.Background()
	ev := tenant.NewEvents(db)
	svc := booking.NewService(db, booking.Config{Now: tenanttest.NewClock().Now, SecretKey: Key, Events: ev})
	if _, err := svc.Reserve(ctx, t, booking.ReserveInput{SlotID: slotID, CardIDs: []uuid.UUID{cardID}, Actor: tenant.Citizen("")}); tenant.ErrorCode(err) != tenant.Conflict {
		tb.Fatalf("SeedAll: a second booking of the card = %v, want a conflict", err)
	}
	if err := ev.Flush(ctx); err != nil {
		tb.Fatalf("SeedAll: flush event counts: %v", err)
	}
}
