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
	// all tenants) require a proof-of-work step-up for IPShortStepUp. Defaults: 10, 10 min, 30 min.
	IPShortLimit  int
	IPShortWindow time.Duration
	IPShortStepUp time.Duration
	// IPDailyLimit failures from one client IP within IPDailyWindow (in the tenant, or across all
	// tenants) refuse every further attempt from it until the window ends: the budget an
	// attacker gets per address, whatever proof of work it pays. Defaults: 25, 24 h.
	IPDailyLimit  int
	IPDailyWindow time.Duration

	// SprayLimit distinct card numbers failing from one client IP within SprayWindow (in the
	// tenant, or across all tenants) block that IP for SprayBlock. Defaults: 5, 10 min, 24 h.
	SprayLimit  int
	SprayWindow time.Duration
	SprayBlock  time.Duration

	// SubnetLimit failures from one subnet (IPv4 /24; IPv6 /56 and /48, each counted on its own)
	// within SubnetWindow, across all tenants, require the proof-of-work step-up from every
	// address of the subnet for SubnetStepUp. Defaults: 100, 1 h, 1 h.
	SubnetLimit  int
	SubnetWindow time.Duration
	SubnetStepUp time.Duration

	// A city's failures within TenantWindow put it "under attack" for TenantAttack (every
	// login in it needs the proof-of-work step-up, and the spike is raised as a security
	// event) when they exceed SpikeFactor times the city's own p95 of failures per
	// TenantWindow over the last BaselineDays days, and reach at least TenantLimit, the floor
	// that keeps a quiet city from being tipped by a handful. Defaults: 30, 5 min, 60 min.
	TenantLimit  int
	TenantWindow time.Duration
	TenantAttack time.Duration

	// PlatformLimit is the floor of the platform-wide layer: the failures of all cities
	// together within TenantWindow, against SpikeFactor times the platform's own p95, put
	// every city under attack for PlatformAttack. Defaults: 300, 60 min.
	PlatformLimit  int
	PlatformAttack time.Duration

	// SpikeFactor, BaselineDays: the spike thresholds above. The per-window failure counts
	// are kept in Redis for BaselineDays + 1 days; the p95 is recomputed at most every
	// BaselineRefresh per city (and for the platform) and process. Defaults: 5, 14, 5 min.
	SpikeFactor     int
	BaselineDays    int
	BaselineRefresh time.Duration

	// PowBits is the work of the proof-of-work step-up: a nonce must give that many leading
	// zero bits (about 2^PowBits SHA-256 hashes in the browser). PowWait is the no-JavaScript
	// fallback: a challenge sent back without a nonce counts once PowWait has passed since it
	// was issued. A challenge expires PowTTL after it was issued. Defaults: 16 (a fraction of a
	// second on a phone), 5 s, 10 min.
	PowBits int
	PowWait time.Duration
	PowTTL  time.Duration

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
		IPDailyLimit:     25,
		IPDailyWindow:    24 * time.Hour,
		SprayLimit:       5,
		SprayWindow:      10 * time.Minute,
		SprayBlock:       24 * time.Hour,
		SubnetLimit:      100,
		SubnetWindow:     time.Hour,
		SubnetStepUp:     time.Hour,
		TenantLimit:      30,
		TenantWindow:     5 * time.Minute,
		TenantAttack:     time.Hour,
		PlatformLimit:    300,
		PlatformAttack:   time.Hour,
		SpikeFactor:      5,
		BaselineDays:     14,
		BaselineRefresh:  5 * time.Minute,
		PowBits:          16,
		PowWait:          5 * time.Second,
		PowTTL:           10 * time.Minute,
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
	setInt(&c.IPDailyLimit, d.IPDailyLimit)
	setDur(&c.IPDailyWindow, d.IPDailyWindow)
	setInt(&c.SubnetLimit, d.SubnetLimit)
	setDur(&c.SubnetWindow, d.SubnetWindow)
	setDur(&c.SubnetStepUp, d.SubnetStepUp)
	setInt(&c.TenantLimit, d.TenantLimit)
	setDur(&c.TenantWindow, d.TenantWindow)
	setDur(&c.TenantAttack, d.TenantAttack)
	setInt(&c.PlatformLimit, d.PlatformLimit)
	setDur(&c.PlatformAttack, d.PlatformAttack)
	setInt(&c.SpikeFactor, d.SpikeFactor)
	setInt(&c.BaselineDays, d.BaselineDays)
	setDur(&c.BaselineRefresh, d.BaselineRefresh)
	setInt(&c.SprayLimit, d.SprayLimit)
	setDur(&c.SprayWindow, d.SprayWindow)
	setDur(&c.SprayBlock, d.SprayBlock)
	setInt(&c.PowBits, d.PowBits)
	setDur(&c.PowWait, d.PowWait)
	setDur(&c.PowTTL, d.PowTTL)
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
		{"IPDailyLimit", c.IPDailyLimit},
		{"SubnetLimit", c.SubnetLimit},
		{"TenantLimit", c.TenantLimit},
		{"PlatformLimit", c.PlatformLimit},
		{"SpikeFactor", c.SpikeFactor},
		{"BaselineDays", c.BaselineDays},
		{"SprayLimit", c.SprayLimit},
		{"OperatorLimit", c.OperatorLimit},
		{"PowBits", c.PowBits},
	}
	if c.PowBits > 32 {
		return fmt.Errorf("guard: config PowBits = %d, want <= 32", c.PowBits)
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
		{"IPDailyWindow", c.IPDailyWindow},
		{"SubnetWindow", c.SubnetWindow},
		{"SubnetStepUp", c.SubnetStepUp},
		{"TenantWindow", c.TenantWindow},
		{"TenantAttack", c.TenantAttack},
		{"PlatformAttack", c.PlatformAttack},
		{"BaselineRefresh", c.BaselineRefresh},
		{"SprayWindow", c.SprayWindow},
		{"SprayBlock", c.SprayBlock},
		{"OperatorWindow", c.OperatorWindow},
		{"PowWait", c.PowWait},
		{"PowTTL", c.PowTTL},
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

// args returns the ARGV the Lua scripts expect, in their order (see script.go): the thresholds
// (with the city's and the platform's spike thresholds in force, lim), then the number of IP
// groups and subnets in KEYS, whether the attempt carries a valid proof of work, the set member
// for the spray sets (the card hash), and the baseline window of the attempt.
func (c Config) args(lim limits, nIP, nSubnets int, proof bool, member string) []any {
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	p := 0
	if proof {
		p = 1
	}
	return []any{
		c.CardSoftLimit, ms(c.CardSoftWindow), ms(c.CardSoftLock),
		c.CardHardLimit, ms(c.CardHardWindow), ms(c.CardHardLockTTL),
		ms(c.CardBackoffBase), c.CardBackoffAfter,
		c.IPShortLimit, ms(c.IPShortWindow), ms(c.IPShortStepUp),
		c.IPDailyLimit, ms(c.IPDailyWindow),
		c.SprayLimit, ms(c.SprayWindow), ms(c.SprayBlock),
		c.SubnetLimit, ms(c.SubnetWindow), ms(c.SubnetStepUp),
		lim.city, ms(c.TenantWindow), ms(c.TenantAttack),
		nIP, nSubnets, p, member,
		lim.platform, ms(c.PlatformAttack), lim.window, ms(c.histTTL()),
	}
}

// histTTL is how long a day's per-window failure counts are kept: the baseline and one day.
func (c Config) histTTL() time.Duration {
	return time.Duration(c.BaselineDays+1) * 24 * time.Hour
}
