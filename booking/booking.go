// Package booking holds the rules of My Number Card pickup appointments: 交付場所 (locations),
// schedules and slots, cards, reservations and their status lifecycle. Every method reads and
// writes through tenant.InTx, so row-level security confines it to one municipality.
package booking

import (
	"time"

	"github.com/uptrace/bun"
)

// Service is the booking domain. Exported methods open the tenant transaction; unexported helpers
// take (ctx, tx, …) and never begin or commit.
type Service struct {
	db  *bun.DB
	now func() time.Time
}

// NewService returns a Service on db. now is the clock (time.Now in production; fixed in tests).
func NewService(db *bun.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now}
}

// JST is Japan Standard Time; days, deadlines and reminders are reckoned in it.
var JST = time.FixedZone("Asia/Tokyo", 9*60*60)
