package guard

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// The operator layer: the call center's operators check callers' cards by phone, all from the
// call center's one egress address, so the IP layers would lock every operator out at once and
// are skipped for them; each operator's own checks are counted instead. An attempt is counted
// before its card is verified (so checks sent in parallel cannot all pass the limit before the
// first failure is counted) and given back when it succeeds: what stays counted are failures.

// luaOperatorAttempt counts one attempt: KEYS[1] the operator's counter; ARGV[1] the limit,
// ARGV[2] the window in ms. It returns {allowed (1/0), ttl in ms}.
const luaOperatorAttempt = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local ttl = redis.call('PTTL', KEYS[1])
if n > tonumber(ARGV[1]) then return {0, ttl} end
return {1, ttl}`

var operatorAttempt = redis.NewScript(luaOperatorAttempt)

func operatorKey(operatorID string) string { return keyPrefix + "op:" + operatorID + ":attempts" }

// OperatorAttempt counts a caller check by operatorID (an account id) and decides whether it
// may proceed: refused (ReasonOperatorLimit, RetryAfter until the window ends) once the
// operator has OperatorLimit failed checks in the window. Call OperatorSucceeded when the check
// succeeds. It returns an ErrUnavailable error when Redis fails; the Decision then refuses.
func (g *Guard) OperatorAttempt(ctx context.Context, operatorID string) (Decision, error) {
	if operatorID == "" {
		return Decision{}, fmt.Errorf("%w: empty operator", ErrInvalidInput)
	}
	v, err := operatorAttempt.Run(ctx, g.rdb, []string{operatorKey(operatorID)}, g.cfg.OperatorLimit, g.cfg.OperatorWindow.Milliseconds()).Int64Slice()
	if err != nil || len(v) != 2 {
		g.metrics.failures.WithLabelValues(failureUnavailable).Inc()
		return Decision{}, fmt.Errorf("count operator check: %w: %w", ErrUnavailable, err)
	}
	if v[0] == 1 {
		return Decision{Allowed: true}, nil
	}
	g.metrics.failures.WithLabelValues(ReasonOperatorLimit).Inc()
	return Decision{Reason: ReasonOperatorLimit, RetryAfter: time.Duration(max(v[1], 0)) * time.Millisecond}, nil
}

// OperatorSucceeded gives back the attempt of a check that succeeded.
func (g *Guard) OperatorSucceeded(ctx context.Context, operatorID string) error {
	if err := g.rdb.Decr(ctx, operatorKey(operatorID)).Err(); err != nil {
		return fmt.Errorf("record operator check: %w: %w", ErrUnavailable, err)
	}
	return nil
}
