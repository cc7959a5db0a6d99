// Package guard protects the citizen login (製造管理番号 + birth MMDD, so only 366 possible
// passwords per card) against guessing, with layered controls:
//
//   - per card: a soft lock after a few failures, and a hard lock, lifted only by staff,
//     after a cumulative number of failures without a success;
//   - per client IP, within the tenant and across all tenants: a step-up flag after many
//     failures, and a 24-hour block when one IP fails on several distinct card numbers.
//
// Every attempt is one Lua script in Redis, so concurrent attempts are counted exactly. The
// guard is channel-agnostic: the web login, the API session endpoint, "add family member" and
// the call center's MMDD check all call the same Guard and so share the counters.
//
// The flow for every login path is
//
//	d, err := g.Check(ctx, tenantID, cardNo, ip)
//	if err != nil { /* 503: fail closed */ }
//	if !d.Allowed { /* refuse, even if the MMDD would be right */ }
//	ok := verify(cardNo, mmdd) // same work for unknown cards, so timing reveals nothing
//	if !ok { d, err = g.Fail(ctx, tenantID, cardNo, ip) } else { err = g.Succeed(ctx, tenantID, cardNo, ip) }
//
// The guard never learns whether a card exists: it counts whatever number was submitted, so
// a lock tells an attacker nothing about which numbers are real. Card numbers and IP
// addresses reach Redis only as keyed HMACs; the package logs nothing.
package guard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// ErrUnavailable wraps every Redis failure (connection, timeout, script error). Callers must
// treat it as "login unavailable" (503) and never as success: the guard fails closed.
var ErrUnavailable = errors.New("guard: redis unavailable")

// ErrInvalidInput is returned for a tenant ID that is empty, longer than 64 characters or not
// [A-Za-z0-9._-], a card number that is empty after normalization or longer than 64 bytes,
// and a client IP that does not parse. The caller should refuse the attempt.
var ErrInvalidInput = errors.New("guard: invalid input")

// Reasons a Decision refuses an attempt. Callers must not show them to the citizen beyond
// "try again after HH:MM" or "please call": the lock level is never revealed.
const (
	ReasonCardLocked     = "card_locked"      // soft lock; RetryAfter says when it lifts
	ReasonCardHardLocked = "card_hard_locked" // until Unlock; RetryAfter is 0
	ReasonCardThrottled  = "card_throttled"   // progressive back-off (Config.CardBackoffBase)
	ReasonIPBlocked      = "ip_blocked"       // IP spray block; RetryAfter says when it lifts
	ReasonOperatorLimit  = "operator_limit"   // a call-center operator's failed checks; RetryAfter says when
)

// Decision is the guard's verdict on an attempt.
type Decision struct {
	// Allowed is false when the attempt must be refused (HTTP 429) without checking the
	// password. It is false in the zero Decision that accompanies every error.
	Allowed bool
	// Reason is one of the Reason* constants when Allowed is false, and "" otherwise. When
	// several apply, a hard lock wins, then ip_blocked, card_locked, card_throttled.
	Reason string
	// RetryAfter is the time until every active lock (other than a hard lock) has lifted.
	RetryAfter time.Duration
	// StepUp reports that the client IP has failed often enough that the UI should demand
	// extra proof (proof-of-work) before the next attempt. It does not refuse by itself.
	StepUp bool
	// Imposed lists the locks this attempt imposed (LockSoft, LockHard, LockIPSpray), so the
	// caller can count them; only Fail sets it, and only on the failure that reaches a threshold.
	Imposed []string
}

// Levels of the locks a failure can impose (Decision.Imposed, and the label values of
// madoguchi_login_locks_total{level}).
const (
	LockSoft     = "soft"     // the card's soft lock
	LockHard     = "hard"     // the card's hard lock, until Unlock
	LockIPSpray  = "ip_spray" // the client IP's 24-hour block for failing on several cards
	LockOperator = "operator" // a call-center operator's checks, for the rest of the window
)

// Guard counts login failures in Redis and decides whether an attempt may proceed. It is safe
// for concurrent use.
type Guard struct {
	rdb     redis.UniversalClient
	key     []byte
	cfg     Config
	check   *redis.Script
	fail    *redis.Script
	metrics *metrics
}

// minKeyLen is the shortest HMAC key New accepts (the SHA-256 output size).
const minKeyLen = 32

// New returns a Guard storing its counters in rdb. key is the HMAC secret that turns card
// numbers and IPs into Redis keys; it must have at least 32 bytes and stay stable across
// restarts (a new key forgets every counter and lock). Zero fields of cfg take their
// defaults (DefaultConfig). Metrics are registered on reg unless it is nil; collectors already
// registered under the same names are reused. New does no I/O. It returns an error for a nil
// client, a short key, an invalid cfg or a metrics registration conflict.
func New(rdb redis.UniversalClient, key []byte, cfg Config, reg prometheus.Registerer) (*Guard, error) {
	if rdb == nil {
		return nil, errors.New("guard: nil redis client")
	}
	if len(key) < minKeyLen {
		return nil, fmt.Errorf("guard: key has %d bytes, want at least %d", len(key), minKeyLen)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Guard{
		rdb:     rdb,
		key:     append([]byte(nil), key...),
		cfg:     cfg,
		check:   redis.NewScript(luaCheck),
		fail:    redis.NewScript(luaFail),
		metrics: m,
	}, nil
}

// Config returns the effective configuration (defaults applied).
func (g *Guard) Config() Config { return g.cfg }

// Check decides whether an attempt on cardNo from ip may proceed. Call it BEFORE verifying the
// password: when the Decision is not Allowed the caller must refuse the attempt even if the
// MMDD is right, and must not call Fail or Succeed for it. ip is the client address derived
// from trusted proxies; pass "" only on a path without a client (the call center), which skips
// the IP layers. Check changes no counter. It returns an ErrUnavailable error when Redis
// fails and an ErrInvalidInput error for bad input; the Decision then refuses.
func (g *Guard) Check(ctx context.Context, tenantID, cardNo, ip string) (Decision, error) {
	keys, card, err := g.attemptKeys(tenantID, cardNo, ip)
	if err != nil {
		return Decision{}, err
	}
	r, err := g.run(ctx, g.check, keys, card)
	if err != nil {
		g.metrics.failures.WithLabelValues(failureUnavailable).Inc()
		return Decision{}, fmt.Errorf("check login attempt: %w", err)
	}
	if !r.decision.Allowed {
		g.metrics.failures.WithLabelValues(r.decision.Reason).Inc()
	}
	return r.decision, nil
}

// Fail records a failed login on cardNo from ip, atomically on every layer, and returns the
// resulting decision for the next attempt: the failure that reaches a threshold already
// returns the lock (the 5th failure returns card_locked). It counts even for card numbers that
// do not exist. ip follows the rules of Check. It returns an ErrUnavailable error when Redis
// fails (the failure may then be unrecorded) and an ErrInvalidInput error for bad input.
func (g *Guard) Fail(ctx context.Context, tenantID, cardNo, ip string) (Decision, error) {
	keys, card, err := g.attemptKeys(tenantID, cardNo, ip)
	if err != nil {
		return Decision{}, err
	}
	g.metrics.failures.WithLabelValues(failureBadCredentials).Inc()
	r, err := g.run(ctx, g.fail, keys, card)
	if err != nil {
		return Decision{}, fmt.Errorf("record failed login: %w", err)
	}
	for _, l := range []struct {
		fired bool
		level string
	}{{r.firedSoft, LockSoft}, {r.firedHard, LockHard}, {r.firedSpray, LockIPSpray}} {
		if l.fired {
			g.metrics.locks.WithLabelValues(l.level).Inc()
			r.decision.Imposed = append(r.decision.Imposed, l.level)
		}
	}
	return r.decision, nil
}

// Succeed records a successful login on cardNo: it resets the card's soft-window and
// cumulative failure counters and its back-off. It does not lift an active soft or hard lock
// (only time or Unlock do; a success during a lock means the caller skipped Check), and it
// leaves the IP counters alone, which count failures only, so one valid card cannot launder
// an IP. ip is accepted so that every path calls the guard the same way; it is currently
// unused. It returns an ErrUnavailable error when Redis fails and an ErrInvalidInput error
// for bad input.
func (g *Guard) Succeed(ctx context.Context, tenantID, cardNo, ip string) error {
	card, err := g.cardHash(tenantID, cardNo)
	if err != nil {
		return err
	}
	k := cardKeys(tenantID, card)
	if err := g.rdb.Del(ctx, k[kCardFails], k[kCardTotal], k[kCardBackoff]).Err(); err != nil {
		return fmt.Errorf("record successful login: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// Unlock clears the soft and hard locks, the back-off and all failure counters of cardNo. Staff
// and the call center call it after verifying the citizen's identity by other means; the
// caller audits who unlocked what. Unlocking a card that is not locked is not an error. It
// returns an ErrUnavailable error when Redis fails and an ErrInvalidInput error for bad input.
func (g *Guard) Unlock(ctx context.Context, tenantID, cardNo string) error {
	card, err := g.cardHash(tenantID, cardNo)
	if err != nil {
		return err
	}
	if err := g.rdb.Del(ctx, cardKeys(tenantID, card)...).Err(); err != nil {
		return fmt.Errorf("unlock card: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// HardLocked reports whether cardNo is hard-locked, for the staff and call-center screens. It
// returns an ErrUnavailable error when Redis fails and an ErrInvalidInput error for bad input.
func (g *Guard) HardLocked(ctx context.Context, tenantID, cardNo string) (bool, error) {
	card, err := g.cardHash(tenantID, cardNo)
	if err != nil {
		return false, err
	}
	n, err := g.rdb.Exists(ctx, cardKeys(tenantID, card)[kCardHardLock]).Result()
	if err != nil {
		return false, fmt.Errorf("read hard lock: %w: %w", ErrUnavailable, err)
	}
	return n == 1, nil
}

// result is a decoded script reply.
type result struct {
	decision                         Decision
	firedSoft, firedHard, firedSpray bool
	total                            int64 // failures since the last success
}

// run executes script and decodes its reply. Every failure, including a reply of an unexpected
// shape, is an ErrUnavailable error.
func (g *Guard) run(ctx context.Context, script *redis.Script, keys []string, card string) (result, error) {
	v, err := script.Run(ctx, g.rdb, keys, g.cfg.args(card)...).Slice()
	if err != nil {
		return result{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if len(v) != 8 {
		return result{}, fmt.Errorf("%w: script reply has %d fields, want 8", ErrUnavailable, len(v))
	}
	ints := make([]int64, 8)
	for _, i := range []int{0, 2, 3, 4, 5, 6, 7} {
		n, ok := v[i].(int64)
		if !ok {
			return result{}, fmt.Errorf("%w: script reply field %d is %T", ErrUnavailable, i, v[i])
		}
		ints[i] = n
	}
	reason, ok := v[1].(string)
	if !ok {
		return result{}, fmt.Errorf("%w: script reply field 1 is %T", ErrUnavailable, v[1])
	}
	return result{
		decision: Decision{
			Allowed:    ints[0] == 1,
			Reason:     reason,
			RetryAfter: time.Duration(ints[2]) * time.Millisecond,
			StepUp:     ints[3] == 1,
		},
		firedSoft:  ints[4] == 1,
		firedHard:  ints[5] == 1,
		firedSpray: ints[6] == 1,
		total:      ints[7],
	}, nil
}
