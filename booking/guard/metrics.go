package guard

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Label values of madoguchi_login_failures_total{reason} besides the Reason* refusals.
const (
	failureBadCredentials = "bad_credentials" // Fail: the password (or card) did not match
	failureUnavailable    = "unavailable"     // Check could not reach Redis: the login got a 503
)

// Label values of madoguchi_login_pow_total{result}.
const (
	powSolved  = "solved"  // a valid proof with a nonce (JavaScript)
	powWaited  = "waited"  // a valid proof without a nonce, after the wait (no JavaScript)
	powInvalid = "invalid" // forged, expired, reused, too early or unsolved
)

// metrics holds the guard's counters. Labels are bounded enums: no tenant, card or IP, whose
// values are unbounded (and, for cards and IPs, personal data).
type metrics struct {
	failures *prometheus.CounterVec
	locks    *prometheus.CounterVec
	pow      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "madoguchi_login_failures_total",
			Help: "Failed citizen login attempts, by reason (bad_credentials, a guard refusal, or unavailable).",
		}, []string{"reason"}),
		locks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "madoguchi_login_locks_total",
			Help: "Locks imposed by the login guard, by level (soft, hard, ip_spray, attack: a city's failure spike, which requires a proof of work on every login there; platform_attack: the same for all cities together, which requires it everywhere).",
		}, []string{"level"}),
		pow: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "madoguchi_login_pow_total",
			Help: "Proofs of work checked for the login step-up, by result (solved, waited: the no-JavaScript fallback, invalid).",
		}, []string{"result"}),
	}
	// Create every series up front so dashboards and alerts see zeros, not gaps.
	for _, r := range []string{failureBadCredentials, failureUnavailable, ReasonCardLocked,
		ReasonCardHardLocked, ReasonCardThrottled, ReasonIPBlocked, ReasonOperatorLimit,
		ReasonIPLimit, ReasonStepUp} {
		m.failures.WithLabelValues(r)
	}
	for _, l := range []string{LockSoft, LockHard, LockIPSpray, LockAttack, LockPlatform} {
		m.locks.WithLabelValues(l)
	}
	for _, r := range []string{powSolved, powWaited, powInvalid} {
		m.pow.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.failures, err = register(reg, m.failures); err != nil {
		return nil, err
	}
	if m.locks, err = register(reg, m.locks); err != nil {
		return nil, err
	}
	if m.pow, err = register(reg, m.pow); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c on reg, or returns the collector already registered under the same
// name, so that several guards (one per test, or per tenant configuration) share the series.
func register(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
			return existing, nil
		}
	}
	return nil, fmt.Errorf("guard: register metrics: %w", err)
}
