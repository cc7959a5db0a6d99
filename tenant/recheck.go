package tenant

import "time"

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

// recheckFail counts one failed check at now, starting a new window when the last has ended.
func recheckFail(failures *int, since **time.Time, now time.Time) {
	if *since == nil || now.Sub(**since) >= recheckWindow {
		*failures, *since = 0, &now
	}
	*failures++
}

// recheckClear clears the count when a change made after a correct check is saved.
func recheckClear(failures *int, since **time.Time) {
	*failures, *since = 0, nil
}
