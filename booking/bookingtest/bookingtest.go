// Package bookingtest builds booking fixtures for tests.
package bookingtest

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
)

// SeedAll writes at least one row into every tenant-owned table for tenantID, through the domain
// services, so isolation tests have something to try to steal. When a migration adds a table with
// a tenant_id column, extend this function: the RLS test fails and names the table until you do.
func SeedAll(tb testing.TB, db *bun.DB, tenantID uuid.UUID) {
	tb.Helper()
	ctx := context.Background()
	svc := booking.NewService(db, booking.Config{})
	for i := range 2 {
		if _, err := svc.CreateLocation(ctx, tenantID, booking.Location{Name: fmt.Sprintf("本庁 %d", i), Active: true, SortOrder: i}); err != nil {
			tb.Fatalf("SeedAll: CreateLocation: %v", err)
		}
	}
}
