// Package guard protects the citizen login (製造管理番号 + birth MMDD, so only 366 possible
// passwords per card) against guessing, with layered controls:
//
//   - per card: a soft lock after a few failures, and a hard lock, lifted only by staff,
//     after a cumulative number of failures without a success;
//   - per client IP (IPv6: its /64), within the tenant and across all tenants: a proof-of-work
//     step-up after many failures, a daily limit of failures, and a 24-hour block when one IP
//     fails on several distinct card numbers;
//   - per subnet (IPv4 /24, IPv6 /56 and /48), across all tenants: a step-up for the subnet;
//   - per city: a spike of failures against the city's own 14-day baseline puts the whole
//     city under attack (step-up on every login), raised as a security event;
//   - the platform: the same for the failures of all cities together, which puts every city
//     under attack.
//
// The decision and the count are one step: Attempt is one Lua script in Redis that decides
// whether a guess may be judged and, if so, counts it as a failure before the caller compares
// the MMDD. A guess that turns out right is given back (Succeed). So guesses sent in parallel
// are judged one after the other, and no more than the configured number are ever judged,
// whatever the concurrency. The guard is channel-agnostic: the web login, the API session
// endpoint, "add family member" and the call center's MMDD check all call the same Guard and
// so share the counters.
//
// The flow for every login path is
//
//	d, err := g.Attempt(ctx, tenantID, cardNo, ip, proof)
//	if err != nil { /* 503: fail closed */ }
//	if !d.Allowed { /* refuse, even if the MMDD would be right; nothing was counted */ }
//	ok := verify(cardNo, mmdd) // same work for unknown cards, so timing reveals nothing
//	if ok { err = g.Succeed(ctx, d) } else { spikes, err = g.Failed(ctx, d) /* d.Then says what comes next */ }
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
	ReasonIPLimit        = "ip_limit"         // the client IP's daily failures; RetryAfter says when
	ReasonStepUp         = "step_up_required" // a proof of work is required and none was given
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
	// StepUp reports that the client IP, its subnet or its city has failed often enough that
	// an attempt needs a proof of work: Attempt refuses one without (ReasonStepUp).
	StepUp bool
	// Imposed lists the locks this attempt imposed (LockSoft, LockHard, LockIPSpray,
	// LockAttack, LockPlatform); only Attempt sets it, on the attempt that reaches a threshold.
	// If the guess then succeeds, Succeed lifts the card and IP locks it imposed.
	Imposed []string
	// CityLimit and PlatformLimit, set by an allowed Attempt, are the failures within
	// TenantWindow that put the city, and every city, under attack at the time (see
	// Thresholds), for the security event's record.
	CityLimit, PlatformLimit int
	// Then, set by an allowed Attempt, is the decision the next attempt gets should this one
	// fail: after the 5th failure on a card it refuses with card_locked.
	Then *Decision

	att *attempt // what Succeed gives back
}

// attempt is what an allowed Attempt counted.
type attempt struct {
	keys                             []string
	member                           string
	nIP, nNet                        int
	window                           int64
	args                             []any // the attempt's ARGV, for luaFail
	firedSoft, firedHard, firedSpray bool
}

// Levels of the locks a failure can impose (Decision.Imposed, and the label values of
// madoguchi_login_locks_total{level}).
const (
	LockSoft     = "soft"     // the card's soft lock
	LockHard     = "hard"     // the card's hard lock, until Unlock
	LockIPSpray  = "ip_spray" // the client IP's 24-hour block for failing on several cards
	LockOperator = "operator" // a call-center operator's checks, for the rest of the window
	LockAttack   = "attack"   // the city's failure spike: every login needs a proof of work
	// LockPlatform is the failure spike of all cities together: every login everywhere needs a
	// proof of work.
	LockPlatform = "platform_attack"
)

// Guard counts login failures in Redis and decides whether an attempt may proceed. It is safe
// for concurrent use.
type Guard struct {
	rdb     redis.UniversalClient
	key     []byte
	cfg     Config
	check   *redis.Script
	attempt *redis.Script
	giveBak *redis.Script
	fail    *redis.Script
	metrics *metrics
	now     func() time.Time
	base    baselines
	// platformPrefix starts the platform-wide keys (see platformKeys).
	platformPrefix string
}

// Option configures a Guard beyond its thresholds.
type Option func(*Guard)

// WithClock sets the clock that places failures in their baseline window (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(g *Guard) {
		if now != nil {
			g.now = now
		}
	}
}

// minKeyLen is the shortest HMAC key New accepts (the SHA-256 output size).
const minKeyLen = 32

// New returns a Guard storing its counters in rdb. key is the HMAC secret that turns card
// numbers and IPs into Redis keys; it must have at least 32 bytes and stay stable across
// restarts (a new key forgets every counter and lock). Zero fields of cfg take their
// defaults (DefaultConfig). Metrics are registered on reg unless it is nil; collectors already
// registered under the same names are reused. New does no I/O. It returns an error for a nil
// client, a short key, an invalid cfg or a metrics registration conflict.
func New(rdb redis.UniversalClient, key []byte, cfg Config, reg prometheus.Registerer, opts ...Option) (*Guard, error) {
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
	g := &Guard{
		rdb:     rdb,
		key:     append([]byte(nil), key...),
		cfg:     cfg,
		check:   redis.NewScript(luaCheck),
		attempt: redis.NewScript(luaAttempt),
		giveBak: redis.NewScript(luaGiveBack),
		fail:    redis.NewScript(luaFail),
		metrics: m,
		now:     time.Now,
		base:    baselines{m: map[string]baseline{}},
	}
	g.platformPrefix = keyPrefix + "global:platform:" + g.hashIP("platform", "")[:16] + ":"
	for _, o := range opts {
		o(g)
	}
	return g, nil
}

// Config returns the effective configuration (defaults applied).
func (g *Guard) Config() Config { return g.cfg }

// Check reports, without counting anything, the decision an attempt on cardNo from ip would
// get now (for pages that show a lock, or whether a proof of work is needed). Only Attempt
// may let a guess be judged. ip is the client address derived from trusted proxies; pass ""
// only on a path without a client (the call center), which skips the IP layers. It returns an
// ErrUnavailable error when Redis fails and an ErrInvalidInput error for bad input; the
// Decision then refuses.
func (g *Guard) Check(ctx context.Context, tenantID, cardNo, ip string) (Decision, error) {
	lim := limits{window: g.windowOf(g.now())}
	keys, card, nIP, nNet, err := g.attemptKeys(tenantID, cardNo, ip, lim.window)
	if err != nil {
		return Decision{}, err
	}
	r, err := g.run(ctx, g.check, keys, g.cfg.args(lim, nIP, nNet, false, card))
	if err != nil {
		g.metrics.failures.WithLabelValues(failureUnavailable).Inc()
		return Decision{}, fmt.Errorf("check login attempt: %w", err)
	}
	return r.decision, nil
}

// Attempt decides whether a guess on cardNo from ip may be judged and, if so, counts it as a
// failure on every layer in the same atomic step, before the caller compares the MMDD. A
// refused attempt (Allowed false) counts nowhere: the caller must refuse it even if the MMDD
// is right. proof reports that the request carried a valid proof of work (VerifyProof); when a
// step-up is required and proof is false, the attempt is refused with ReasonStepUp. After
// judging an allowed attempt the caller calls Succeed (the MMDD was right) or Failed. It
// counts even card numbers that do not exist. ip follows the rules of Check. It returns an
// ErrUnavailable error when Redis fails and an ErrInvalidInput error for bad input; the
// Decision then refuses.
func (g *Guard) Attempt(ctx context.Context, tenantID, cardNo, ip string, proof bool) (Decision, error) {
	window := g.windowOf(g.now())
	keys, card, nIP, nNet, err := g.attemptKeys(tenantID, cardNo, ip, window)
	if err != nil {
		return Decision{}, err
	}
	lim, err := g.limits(ctx, tenantID, window)
	var r result
	var args []any
	if err == nil {
		args = g.cfg.args(lim, nIP, nNet, proof, card)
		r, err = g.run(ctx, g.attempt, keys, args)
	}
	if err != nil {
		g.metrics.failures.WithLabelValues(failureUnavailable).Inc()
		return Decision{}, fmt.Errorf("count login attempt: %w", err)
	}
	return g.decided(r, lim, &attempt{keys: keys, member: card, nIP: nIP, nNet: nNet, window: window, args: args}), nil
}

// decided turns the reply of an attempt into its Decision, and counts the refusal or the
// spikes it raised.
func (g *Guard) decided(r result, lim limits, a *attempt) Decision {
	d := r.decision
	if !d.Allowed {
		g.metrics.failures.WithLabelValues(d.Reason).Inc()
		return d
	}
	a.firedSoft, a.firedHard, a.firedSpray = r.firedSoft, r.firedHard, r.firedSpray
	d.att = a
	d.CityLimit, d.PlatformLimit = lim.city, lim.platform
	for _, l := range []struct {
		fired bool
		level string
	}{{r.firedSoft, LockSoft}, {r.firedHard, LockHard}, {r.firedSpray, LockIPSpray}, {r.firedAttack, LockAttack}, {r.firedPlatform, LockPlatform}} {
		if l.fired {
			d.Imposed = append(d.Imposed, l.level)
		}
	}
	// The spikes stand whatever this guess turns out to be.
	if r.firedAttack {
		g.metrics.locks.WithLabelValues(LockAttack).Inc()
	}
	if r.firedPlatform {
		g.metrics.locks.WithLabelValues(LockPlatform).Inc()
	}
	then := r.then
	d.Then = &then
	return d
}

// Failed records an allowed attempt whose guess was wrong (its count on the card, address and
// subnet layers is already in Redis): the failure and the locks it imposed in the metrics, and
// the failure in its city's and the platform's spike windows, which count judged failures only
// (a crowd of citizens logging in at once is not an attack). It returns the spikes this failure
// raised (LockAttack, LockPlatform), for the caller to raise as a security event, and an
// ErrUnavailable error when Redis fails (the failure is then missing from the spike windows only).
func (g *Guard) Failed(ctx context.Context, d Decision) ([]string, error) {
	g.metrics.failures.WithLabelValues(failureBadCredentials).Inc()
	for _, l := range d.Imposed {
		if l != LockAttack && l != LockPlatform {
			g.metrics.locks.WithLabelValues(l).Inc()
		}
	}
	a := d.att
	if !d.Allowed || a == nil {
		return nil, fmt.Errorf("%w: not an allowed attempt", ErrInvalidInput)
	}
	fired, err := g.fail.Run(ctx, g.rdb, a.keys, a.args...).Int64Slice()
	if err != nil || len(fired) != 2 {
		return nil, fmt.Errorf("count a failed login: %w: %v", ErrUnavailable, err)
	}
	var spikes []string
	if fired[0] == 1 {
		spikes = append(spikes, LockAttack)
		g.metrics.locks.WithLabelValues(LockAttack).Inc()
	}
	if fired[1] == 1 {
		spikes = append(spikes, LockPlatform)
		g.metrics.locks.WithLabelValues(LockPlatform).Inc()
	}
	return spikes, nil
}

// Succeed gives back the count of an allowed attempt whose guess was right: it resets the
// card's failure counters and back-off, lifts the card and IP locks this attempt imposed (a
// lock imposed by another attempt stays: only time or Unlock lift it), and takes the attempt
// off the IP, subnet and city counters, which count failures only. It returns an
// ErrUnavailable error when Redis fails and an ErrInvalidInput error for a Decision that is
// not an allowed Attempt's.
func (g *Guard) Succeed(ctx context.Context, d Decision) error {
	return g.SucceedWith(ctx, d, nil)
}

// SucceedWith is Succeed with the writes that also queues in pipe (the session a right login
// opens) sent to Redis in the same round trip as the give-back, so a right login costs two round
// trips: Attempt, then this. The give-back goes first. also (nil: nothing) runs before anything
// is sent; its error is returned as it is and the give-back is still made. Otherwise it returns an
// ErrUnavailable error when any command of the round trip fails (the caller must then refuse the
// login: the session may or may not have been written, but its id never reaches the client), and
// an ErrInvalidInput error for a Decision that is not an allowed Attempt's.
func (g *Guard) SucceedWith(ctx context.Context, d Decision, also func(redis.Pipeliner) error) error {
	args, err := g.giveBackArgs(d, true)
	if err != nil {
		return fmt.Errorf("record successful login: %w", err)
	}
	pipe := g.rdb.Pipeline()
	// EVALSHA in the pipeline: the script's text travels only when Redis lost it (NOSCRIPT below).
	gb := g.giveBak.EvalSha(ctx, pipe, d.att.keys, args...)
	var alsoErr error
	if also != nil {
		alsoErr = also(pipe)
	}
	cmds, err := pipe.Exec(ctx)
	if err != nil && redis.HasErrorPrefix(gb.Err(), "NOSCRIPT") {
		// Redis restarted or its script cache was flushed: the give-back alone, with its text.
		err = g.giveBak.Run(ctx, g.rdb, d.att.keys, args...).Err()
		for _, c := range cmds {
			if c != gb && err == nil && c.Err() != nil && !errors.Is(c.Err(), redis.Nil) {
				err = c.Err()
			}
		}
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("record successful login: %w: %w", ErrUnavailable, err)
	}
	return alsoErr
}

// Release gives back the count of an allowed attempt whose guess was never judged (the
// database could not be asked): this one attempt comes off the card, IP, subnet, city and
// platform counters, so an outage of the database does not lock citizens out or put their city
// under attack, while the card's earlier failures stay counted. Nothing was learnt from the
// guess, so giving it back grants an attacker nothing. Errors as for Succeed.
func (g *Guard) Release(ctx context.Context, d Decision) error {
	if err := g.giveBack(ctx, d, false); err != nil {
		return fmt.Errorf("give back an unjudged login: %w", err)
	}
	return nil
}

func (g *Guard) giveBack(ctx context.Context, d Decision, judged bool) error {
	args, err := g.giveBackArgs(d, judged)
	if err != nil {
		return err
	}
	if err := g.giveBak.Run(ctx, g.rdb, d.att.keys, args...).Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// giveBackArgs is luaGiveBack's ARGV for an allowed attempt d.
func (g *Guard) giveBackArgs(d Decision, judged bool) ([]any, error) {
	a := d.att
	if !d.Allowed || a == nil {
		return nil, fmt.Errorf("%w: not an allowed attempt", ErrInvalidInput)
	}
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	return []any{a.nIP, a.nNet, a.member, b(a.firedSoft), b(a.firedHard), b(a.firedSpray), a.window, b(judged)}, nil
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
	decision, then                                               Decision
	firedSoft, firedHard, firedSpray, firedAttack, firedPlatform bool
	total                                                        int64 // failures since the last success
}

// replyFields is the length of a Check or Attempt reply (see script.go).
const replyFields = 14

// run executes script and decodes its reply. Every failure, including a reply of an unexpected
// shape, is an ErrUnavailable error.
func (g *Guard) run(ctx context.Context, script *redis.Script, keys []string, args []any) (result, error) {
	v, err := script.Run(ctx, g.rdb, keys, args...).Slice()
	if err != nil {
		return result{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if len(v) != replyFields {
		return result{}, fmt.Errorf("%w: script reply has %d fields, want %d", ErrUnavailable, len(v), replyFields)
	}
	ints := make([]int64, replyFields)
	for i := range v {
		if i == 1 || i == 10 {
			continue
		}
		n, ok := v[i].(int64)
		if !ok {
			return result{}, fmt.Errorf("%w: script reply field %d is %T", ErrUnavailable, i, v[i])
		}
		ints[i] = n
	}
	reason, ok1 := v[1].(string)
	thenReason, ok2 := v[10].(string)
	if !ok1 || !ok2 {
		return result{}, fmt.Errorf("%w: script reply reason is %T, %T", ErrUnavailable, v[1], v[10])
	}
	return result{
		decision: Decision{
			Allowed:    ints[0] == 1,
			Reason:     reason,
			RetryAfter: time.Duration(ints[2]) * time.Millisecond,
			StepUp:     ints[3] == 1,
		},
		then: Decision{
			Allowed:    ints[9] == 1,
			Reason:     thenReason,
			RetryAfter: time.Duration(ints[11]) * time.Millisecond,
			StepUp:     ints[12] == 1,
		},
		firedSoft:     ints[4] == 1,
		firedHard:     ints[5] == 1,
		firedSpray:    ints[6] == 1,
		firedAttack:   ints[7] == 1,
		firedPlatform: ints[13] == 1,
		total:         ints[8],
	}, nil
}

// StepUpRequired reports whether an attempt from ip in tenantID needs a proof of work now (its
// city or the platform is under attack, or the address or one of its subnets failed too often), so that a form
// asks the browser to solve its challenge only then. It reads without counting; "" for ip
// checks the city alone. It returns an ErrUnavailable error when Redis fails.
func (g *Guard) StepUpRequired(ctx context.Context, tenantID, ip string) (bool, error) {
	if !validTenantID(tenantID) {
		return false, fmt.Errorf("%w: tenant id", ErrInvalidInput)
	}
	keys := []string{tenantKeys(tenantID, 0)[kTenantAttack], g.platformKeys(0)[kTenantAttack]}
	if ip != "" {
		h, nets, err := g.ipHash(ip)
		if err != nil {
			return false, err
		}
		keys = append(keys, ipKeys("t:"+tenantID, h)[kIPStepUp], ipKeys("global", h)[kIPStepUp])
		for _, n := range nets {
			keys = append(keys, netKeys(n)[kNetStepUp])
		}
	}
	n, err := g.rdb.Exists(ctx, keys...).Result()
	if err != nil {
		return false, fmt.Errorf("read step-up: %w: %w", ErrUnavailable, err)
	}
	return n > 0, nil
}
