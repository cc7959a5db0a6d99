package ui

import (
	"context"

	"github.com/google/uuid"
)

// endStaffSessions deletes every live staff session of one account (ASVS 7.4.2): called when an
// admin disables it, changes its role or resets its password.
//
// This is the eager half. The other half is requireStaff, which reloads the account on every
// request and destroys the session of a disabled account, so a session the scan misses (one
// written while it ran) still ends at its next request.
func (u *UI) endStaffSessions(ctx context.Context, tenantID, staffID uuid.UUID) (int, error) {
	scope := tenantID.String()
	return u.staffSess.EndWhere(ctx, func(s *StaffSession) bool { return s.Scope == scope && s.StaffID == staffID })
}
