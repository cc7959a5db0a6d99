package tenant

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
)

// Every check of a password runs argon2id (19 MiB and two passes each): a few dozen parallel login
// posts would take a process's memory and every database connection if each ran as it came. The
// gate lets passwordSlots checks run at once in a process; the others wait for a slot, before any
// transaction is opened, for at most passwordWait and are then refused with throttled
// "staff.login.busy" (429: try again in a moment). A flood of login posts therefore costs a
// bounded amount of memory and holds at most passwordSlots database connections.
var (
	passwordSlots = max(2, runtime.GOMAXPROCS(0))
	passwordGate  = make(chan struct{}, passwordSlots)
	passwordWait  = 3 * time.Second
	// passwordPeak is the most checks that have held a slot at once (tests read it).
	passwordBusy, passwordPeak atomic.Int64
)

// take records a slot taken and returns the function that gives it back.
func take() func() {
	n := passwordBusy.Add(1)
	for p := passwordPeak.Load(); n > p && !passwordPeak.CompareAndSwap(p, n); p = passwordPeak.Load() {
	}
	return func() { passwordBusy.Add(-1); <-passwordGate }
}

// passwordTurn waits for a slot of the gate and returns the function that gives it back.
func passwordTurn(ctx context.Context) (release func(), err error) {
	select {
	case passwordGate <- struct{}{}:
		return take(), nil
	default:
	}
	t := time.NewTimer(passwordWait)
	defer t.Stop()
	select {
	case passwordGate <- struct{}{}:
		return take(), nil
	case <-t.C:
		return nil, Errorf(Throttled, "staff.login.busy")
	case <-ctx.Done():
		return nil, Errorf(Unavailable, "error.unavailable").Wrap(ctx.Err())
	}
}
