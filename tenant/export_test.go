package tenant

import "time"

// SetDirectoryClock lets tests move the directory's clock.
func SetDirectoryClock(d *Directory, now func() time.Time) { d.now = now }

// Profile and host checks, for the table tests.
var (
	NormalizeKana        = normalizeKana
	NormalizeBannerColor = normalizeBannerColor
	NormalizeHostName    = normalizeHostName
	CheckCustomHost      = checkCustomHost
	SlugError            = slugError
)

// The password gate, for its test.
func PasswordSlots() int     { return passwordSlots }
func MaxPasswordChecks() int { return int(passwordPeak.Load()) }
func SetPasswordWait(d time.Duration) (restore func()) {
	old := passwordWait
	passwordWait = d
	return func() { passwordWait = old }
}

// HoldPasswordSlots takes n slots of the gate until the returned function gives them back.
func HoldPasswordSlots(n int) (release func()) {
	for range n {
		passwordGate <- struct{}{}
	}
	return func() {
		for range n {
			<-passwordGate
		}
	}
}

// SetSlowDownStep shortens the staff login's per-address slow-down step of a for a test.
func SetSlowDownStep(a *Accounts, d time.Duration) {
	a.slow.mu.Lock()
	defer a.slow.mu.Unlock()
	a.slow.step = d
}

// SlowDownOf is the wait a staff login from ip would get at now.
func SlowDownOf(a *Accounts, ip string, now time.Time) time.Duration { return a.slow.delay(ip, now) }

// OpsSlowDownOf is the wait a vendor login from ip would get at now.
func OpsSlowDownOf(o *OpsAccounts, ip string, now time.Time) time.Duration {
	return o.slow.delay(ip, now)
}
