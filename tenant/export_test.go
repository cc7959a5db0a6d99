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
