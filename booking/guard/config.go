package guard

import (
	"fmt"
	"time"
)

// Config holds the thresholds of every layer (per card, per client IP; see the package
// comment). A zero field takes its value from DefaultConfig, so tests can override one
// window and keep the rest. Durations are rounded down to whole milliseconds, which is
// Redis's TTL resolution.
type Config struct {
	// CardSoftLimit failures on one card within CardSoftWindow lock it for CardSoftLock.
	// Counting restarts after each soft lock. Defaults: 5, 30 min, 30 min.
	CardSoftLimit  int
	CardSoftWindow time.Duration
	CardSoftLock   time.Duration

	// CardHardLimit failures on one card without a success in between lock it until Unlock
	// is called. The counter expires CardHardWindow after the last failure; only a success,
	// Unlock or that expiry resets it. Defaults: 10, 30 days.
	CardHardLimit  int
	CardHardWindow time.Duration
	// CardHardLockTTL, when positive, lets a hard lock expire on its own. The default 0 keeps
	// it until Unlock, which staff call after checking the citizen's identity; a positive
	// value bounds the memory an attacker can pin by hard-locking invented card numbers.
	CardHardLockTTL time.Duration

	// CardBackoffBase, when positive, enables a progressive delay on repeated failures: from
	// the CardBackoffAfter-th consecutive failure on, Check refuses the card (reason
	// card_throttled) for CardBackoffBase, then twice that, and so on, capped at
	// CardSoftLock. Default 0: off. CardBackoffAfter defaults to 3.
	CardBackoffBase  time.Duration
	CardBackoffAfter int

	// IPShortLimit failures from one client IP within IPShortWindow (in the tenant, or across
	// all tenants) require a step-up for IPShortStepUp. Defaults: 10, 10 min, 30 min.
	IPShortLimit  int
	IPShortWindow time.Duration
	IPShortStepUp time.Duration
	// IPLongLimit failures within IPLongWindow require a step-up for IPLongStepUp.
	// Defaults: 50, 24 h, 24 h.
	IPLongLimit  int
	IPLongWindow time.Duration
	IPLongStepUp time.Duration

	// SprayLimit distinct card numbers failing from one client IP within SprayWindow (in the
	// tenant, or across all tenants) block that IP for SprayBlock. Defaults: 5, 10 min, 24 h.
	SprayLimit  int
	SprayWindow time.Duration
	SprayBlock  time.Duration

	// OperatorLimit failed caller checks by one call-center operator within OperatorWindow
	// refuse that operator's checks for the rest of the window (the operators share one
	// egress address, so the IP layers do not apply to them). Defaults: 20, 1 h.
	OperatorLimit  int
	OperatorWindow time.Duration
}

// DefaultConfig returns the default thresholds, as listed on the fields of Config.
func DefaultConfig() Config {
	return Config{
		CardSoftLimit:    5,
		CardSoftWindow:   30 * time.Minute,
		CardSoftLock:     30 * time.Minute,
		CardHardLimit:    10,
		CardHardWindow:   30 * 24 * time.Hour,
		CardHardLockTTL:  0,
		CardBackoffBase:  0,
		CardBackoffAfter: 3,
		IPShortLimit:     10,
		IPShortWindow:    10 * time.Minute,
		IPShortStepUp:    30 * time.Minute,
		IPLongLimit:      50,
		IPLongWindow:     24 * time.Hour,
		IPLongStepUp:     24 * time.Hour,
		SprayLimit:       5,
		SprayWindow:      10 * time.Minute,
		SprayBlock:       24 * time.Hour,
		OperatorLimit:    20,
		OperatorWindow:   time.Hour,
	}
}

// withDefaults returns c with every zero field set from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setInt(&c.CardSoftLimit, d.CardSoftLimit)
	setDur(&c.CardSoftWindow, d.CardSoftWindow)
	setDur(&c.CardSoftLock, d.CardSoftLock)
	setInt(&c.CardHardLimit, d.CardHardLimit)
	setDur(&c.CardHardWindow, d.CardHardWindow)
	setInt(&c.CardBackoffAfter, d.CardBackoffAfter)
	setInt(&c.IPShortLimit, d.IPShortLimit)
	setDur(&c.IPShortWindow, d.IPShortWindow)
	setDur(&c.IPShortStepUp, d.IPShortStepUp)
	setInt(&c.IPLongLimit, d.IPLongLimit)
	setDur(&c.IPLongWindow, d.IPLongWindow)
	setDur(&c.IPLongStepUp, d.IPLongStepUp)
	setInt(&c.SprayLimit, d.SprayLimit)
	setDur(&c.SprayWindow, d.SprayWindow)
	setDur(&c.SprayBlock, d.SprayBlock)
	setInt(&c.OperatorLimit, d.OperatorLimit)
	setDur(&c.OperatorWindow, d.OperatorWindow)
	return c
}

// validate reports the first field that is negative or, for a required window, shorter than
// one millisecond. It expects defaults to be applied already.
func (c Config) validate() error {
	ints := []struct {
		name string
		v    int
	}{
		{"CardSoftLimit", c.CardSoftLimit},
		{"CardHardLimit", c.CardHardLimit},
		{"CardBackoffAfter", c.CardBackoffAfter},
		{"IPShortLimit", c.IPShortLimit},
		{"IPLongLimit", c.IPLongLimit},
		{"SprayLimit", c.SprayLimit},
		{"OperatorLimit", c.OperatorLimit},
	}
	for _, f := range ints {
		if f.v < 1 {
			return fmt.Errorf("guard: config %s = %d, want >= 1", f.name, f.v)
		}
	}
	required := []struct {
		name string
		v    time.Duration
	}{
		{"CardSoftWindow", c.CardSoftWindow},
		{"CardSoftLock", c.CardSoftLock},
		{"CardHardWindow", c.CardHardWindow},
		{"IPShortWindow", c.IPShortWindow},
		{"IPShortStepUp", c.IPShortStepUp},
		{"IPLongWindow", c.IPLongWindow},
		{"IPLongStepUp", c.IPLongStepUp},
		{"SprayWindow", c.SprayWindow},
		{"SprayBlock", c.SprayBlock},
		{"OperatorWindow", c.OperatorWindow},
	}
	for _, f := range required {
		if f.v < time.Millisecond {
			return fmt.Errorf("guard: config %s = %v, want >= 1ms", f.name, f.v)
		}
	}
	optional := []struct {
		name string
		v    time.Duration
	}{
		{"CardHardLockTTL", c.CardHardLockTTL},
		{"CardBackoffBase", c.CardBackoffBase},
	}
	for _, f := range optional {
		if f.v != 0 && f.v < time.Millisecond {
			return fmt.Errorf("guard: config %s = %v, want 0 or >= 1ms", f.name, f.v)
		}
	}
	return nil
}

// args returns the ARGV the Lua scripts expect, in their order (see script.go).
func (c Config) args(member string) []any {
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	return []any{
		c.CardSoftLimit, ms(c.CardSoftWindow), ms(c.CardSoftLock),
		c.CardHardLimit, ms(c.CardHardWindow), ms(c.CardHardLockTTL),
		ms(c.CardBackoffBase), c.CardBackoffAfter,
		c.IPShortLimit, ms(c.IPShortWindow), ms(c.IPShortStepUp),
		c.IPLongLimit, ms(c.IPLongWindow), ms(c.IPLongStepUp),
		c.SprayLimit, ms(c.SprayWindow), ms(c.SprayBlock),
		member,
	}
}
