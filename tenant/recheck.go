package tenant

import (
	"sync/atomic"
	"time"
)

// A member already logged in proves it is still them with their current password (and, to turn
// TOTP off, a current code) before a password change or a TOTP change. Those checks are
// limited per account, whoever holds the session: every failed check counts in a window of
// recheckWindow that starts at its first failure, and from the recheckLimit-th failure on the
// checks are refused (throttled "staff.password.recheck_limited", without hashing anything)
// until the window ends. The change a correct check lets through clears the count. The count
// is the account's own (recheck_failures, recheck_since), apart from the login lockout: a
// stolen session cannot guess the password at the argon2 rate, nor lock its owner out of
// logging in.
const (
	recheckLimit  = 5
	recheckWindow = 15 * time.Minute
)

// recheckCols are the columns recheckFail and recheckClear change.
var recheckCols = []string{"recheck_failures", "recheck_since"}

// recheckRefused reports whether an account with failures failed checks since since may not be
// checked at now, and returns the error to answer then.
func recheckRefused(failures int, since *time.Time, now time.Time) error {
	if failures >= recheckLimit && since != nil && now.Sub(*since) < recheckWindow {
		return Errorf(Throttled, "staff.password.recheck_limited")
	}
	return nil
}

// Kinds of account whose re-checks are limited (the label of RecheckLimited).
const (
	RecheckStaff  = "staff"
	RecheckVendor = "vendor"
)

// recheckLimited counts, per process, the failed checks that reached the limit, by kind of
// account; the metrics registry reads it through RecheckLimited.
var recheckLimited = map[string]*atomic.Int64{RecheckStaff: new(atomic.Int64), RecheckVendor: new(atomic.Int64)}

// RecheckLimited returns how many times, in this process, an account of kind (RecheckStaff or
// RecheckVendor) reached the current-password re-check limit (its checks refused from then
// until the window ends), for madoguchi_password_recheck_limited_total; 0 for another kind.
func RecheckLimited(kind string) int64 {
	if c, ok := recheckLimited[kind]; ok {
		return c.Load()
	}
	return 0
}

// recheckFail counts one failed check of an account of kind at now, starting a new window when
// the last has ended, and counts the failure that reaches the limit in RecheckLimited.
func recheckFail(kind string, failures *int, since **time.Time, now time.Time) {
	if *since == nil || now.Sub(**since) >= recheckWindow {
		*failures, *since = 0, &now
	}
	*failures++
	if *failures == recheckLimit {
		recheckLimited[kind].Add(1)
	}
}

// recheckClear clears the count when a change made after a correct check is saved.
func recheckClear(failures *int, since **time.Time) {
	*failures, *since = 0, nil
}
