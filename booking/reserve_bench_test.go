package booking_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// minimalBookingSQL is the minimal booking transaction (RLS scope,
// conditional UPDATE of the slot, reservation, card, outbox; one prepared statement per round
// trip), the reference Reserve is measured against.
var minimalBookingSQL = []string{
	`UPDATE slots SET booked = booked + 1 WHERE id = $1 AND booked + 1 <= capacity RETURNING location_id, starts_at`,
	`INSERT INTO reservations (tenant_id, code, slot_id, location_id, starts_at, status, channel, email, lang, party_size)
		VALUES ($1, $2, $3, $4, $5, 'booked', 'web', 'bench@example.jp', 'ja', 1) RETURNING id`,
	`UPDATE cards SET status = 'reserved', status_changed_at = now(), updated_at = now() WHERE id = $1`,
	`INSERT INTO outbox (tenant_id, kind, reservation_id, data) VALUES ($1, 'reservation_created', $2, '{}')`,
}

// BenchmarkReserve books one card per operation into random slots from 8 goroutines (2 per
// CPU on the 2-CPU box), through booking.Reserve as the API does (a citizen with an
// Idempotency-Key, an e-mail address), and, as the reference in the same run, through the minimal
// booking transaction (minimalBookingSQL) on the same tables and pool. Compare the bookings/s
// of the two; with -count the two alternate:
//
//	go test -run '^$' -bench Reserve -benchtime 2000x -count 3 ./booking/
func BenchmarkReserve(b *testing.B) {
	d := tenanttest.NewDB(b)
	ctx := context.Background()
	tn := tenanttest.MustCreateTenant(b, d.App)
	svc := bookingtest.Service(d.App, nil)
	loc := bookingtest.MustLocation(b, svc, tn, "本庁", 200)
	today := booking.DateOf(svc.Now())
	all, err := svc.SlotsBetween(ctx, tn, loc.ID, today.AddDays(booking.DeadlineDays(tn)+1), today.AddDays(booking.HorizonDays(tn)))
	var slots []booking.Slot
	for _, s := range all {
		if s.Open && s.Capacity > 0 {
			slots = append(slots, s)
		}
	}
	if err != nil || len(slots) < 100 {
		b.Fatalf("SlotsBetween = %d open slots, %v", len(slots), err)
	}
	const cards = 30_000
	var csv bytes.Buffer
	csv.WriteString("製造管理番号,生年月日\n")
	for i := range cards {
		fmt.Fprintf(&csv, "%09d,1990-04-01\n", 200_000_000+i)
	}
	if _, err := svc.ImportCards(ctx, tn, &csv, nil); err != nil {
		b.Fatal(err)
	}
	var ids []uuid.UUID
	if err := tenant.InTx(ctx, d.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT id FROM cards ORDER BY card_no").Scan(ctx, &ids)
	}); err != nil || len(ids) != cards {
		b.Fatalf("cards: %d, %v", len(ids), err)
	}
	var used atomic.Int64
	card := func(b *testing.B) uuid.UUID {
		i := used.Add(1) - 1
		if i >= cards {
			b.Fatal("out of cards: use a smaller -benchtime")
		}
		return ids[i]
	}
	b.Run("reserve", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				in := booking.ReserveInput{SlotID: slots[rand.IntN(len(slots))].ID, CardIDs: []uuid.UUID{card(b)},
					Email: "bench@example.jp", Actor: tenant.Citizen("192.0.2.1"), RequestKey: uuid.NewString()}
				if _, err := svc.Reserve(ctx, tn, in); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bookings/s")
	})
	b.Run("minimal", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				slot, c := slots[rand.IntN(len(slots))].ID, card(b)
				err := tenant.InTx(ctx, d.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
					var locID, rid uuid.UUID
					var startsAt any
					if err := tx.Tx.QueryRowContext(ctx, minimalBookingSQL[0], slot).Scan(&locID, &startsAt); err != nil {
						return err
					}
					var code [8]byte
					for i := range code {
						code[i] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"[rand.IntN(32)]
					}
					if err := tx.Tx.QueryRowContext(ctx, minimalBookingSQL[1], tn.ID, string(code[:]), slot, locID, startsAt).Scan(&rid); err != nil {
						return err
					}
					if _, err := tx.Tx.ExecContext(ctx, minimalBookingSQL[2], c); err != nil {
						return err
					}
					_, err := tx.Tx.ExecContext(ctx, minimalBookingSQL[3], tn.ID, rid)
					return err
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bookings/s")
	})
}

// BenchmarkAvailabilityMonth reads one location's month of calendar marks (a party of one, as a
// citizen) from 8 goroutines: straight from PostgreSQL (no cache, or the feed down) and from a
// live cache with nothing changing. Compare the reads/s of the two:
//
//	go test -run '^$' -bench AvailabilityMonth -benchtime 5000x ./booking/
func BenchmarkAvailabilityMonth(b *testing.B) {
	d := tenanttest.NewDB(b)
	ctx := context.Background()
	tn := tenanttest.MustCreateTenant(b, d.App)
	plain := bookingtest.Service(d.App, nil)
	loc := bookingtest.MustLocation(b, plain, tn, "本庁", 200)
	today := booking.DateOf(plain.Now())
	first := booking.Date{Year: today.Year, Month: today.Month, Day: 1}
	end := booking.DateOf(first.Time(12, 0).AddDate(0, 1, -1))
	cache, err := booking.NewSlotCache(booking.SlotCacheConfig{TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	cache.SetLive(true) // as Follow does once subscribed; nothing changes during the run
	cached := booking.NewService(d.App, booking.Config{Now: plain.Now, Cache: cache})
	for _, c := range []struct {
		name string
		svc  *booking.Service
	}{{"postgres", plain}, {"cache", cached}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.svc.Availability(ctx, tn, loc.ID, first, end, 1, web); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
	}
}
