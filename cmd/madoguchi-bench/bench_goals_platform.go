package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/madoguchi/madoguchi/cmd/internal/app"
	"github.com/madoguchi/madoguchi/tenant"
)

// benchGoalsPlatform measures G11 (noisy neighbour) and, during its load, G10 (the process's
// peak memory) and adds their rows to rep; what fails (5xx, transport errors, a failed booking of
// the quiet city) goes to rep.Failed.
//
// Two new cities on one in-process web app with the waiting room on (-citizen-concurrency per
// city): the quiet city books with a few citizens alone, then again while the noisy city has three
// times as many citizens as its waiting room admits booking at the same time, each waiting on the
// queue page for its refresh as a browser does. The quiet city's flow p99 alone over its p99
// beside the noisy one must be ≥ 1/1.5. Only 5xx and transport errors fail the run; pages other
// than the flow's next one (such as the login guard's 429: every simulated browser comes from
// 127.0.0.1) are listed in the note. The peak RSS (VmHWM, reset before the load) is
// the whole process's — web app, load generator and their connections — so it bounds the web
// app's from above.
func benchGoalsPlatform(ctx context.Context, a *services, o *benchOptions, rep *GoalsReport, stderr io.Writer) {
	fail := func(what string, err error) { rep.Failed = append(rep.Failed, what+": "+err.Error()) }
	limit := o.citizenConcurrency
	if limit <= 0 {
		limit = 16
	}
	quiet, phase, quietCards, noisyCards := 4, 10*time.Second, 3000, 10000
	if o.short {
		limit, quiet, phase, quietCards, noisyCards = 4, 2, 2*time.Second, 400, 1200
	}
	noisy := 3 * limit
	fmt.Fprintf(stderr, "bench: goals: G11 noisy neighbour (G10 memory during it): %d quiet citizens, %d noisy, waiting room %d per city\n", quiet, noisy, limit)

	part, err := openServices(ctx, a.cfg)
	if err != nil {
		fail("G11", err)
		return
	}
	defer part.close()
	qo := &benchOptions{clients: quiet, duration: phase, rounds: 2, cards: quietCards}
	no := &benchOptions{clients: noisy, duration: phase, rounds: 1, cards: noisyCards}
	qsc, err := benchSetup(ctx, part, qo, false, stderr)
	if err != nil {
		fail("G11 setup", err)
		return
	}
	nsc, err := benchSetup(ctx, part, no, false, stderr)
	if err != nil {
		fail("G11 setup", err)
		return
	}
	defer func() {
		for _, sc := range []*benchScratch{qsc, nsc} {
			_ = part.Tenants.SetStatus(context.WithoutCancel(ctx), sc.tenant.Slug, tenant.Disabled, tenant.System("madoguchi-bench"))
		}
	}()
	log := slog.New(benchLogHandler{all: slog.NewJSONHandler(io.Discard, nil),
		warn: slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})})
	web, err := part.Web(app.WebOptions{Log: log, BaseDomain: benchBaseDomain, CitizenConcurrency: limit})
	if err != nil {
		fail("G11", err)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("G11", err)
		return
	}
	served := make(chan error, 1)
	go func() { served <- web.Listener(ln) }()
	defer func() {
		_ = web.ShutdownWithTimeout(5 * time.Second)
		<-served
	}()
	addr := ln.Addr().String()
	qhost, nhost := qsc.tenant.Slug+"."+benchBaseDomain, nsc.tenant.Slug+"."+benchBaseDomain

	solo := runAppPhase(ctx, qo, qsc, 0, addr, qhost, io.Discard)
	debug.FreeOSMemory()
	resetPeakRSS()
	var beside, load AppResult
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); load = runAppPhase(ctx, no, nsc, 0, addr, nhost, io.Discard) }()
	go func() { defer wg.Done(); beside = runAppPhase(ctx, qo, qsc, 1, addr, qhost, io.Discard) }()
	wg.Wait()
	peak := peakRSSMiB()

	// 5xx and transport errors fail; other pages (a 429 of the login guard, which sees every
	// simulated browser come from 127.0.0.1) are reported in the note.
	errs := 0
	var other []string
	for _, c := range []struct {
		name string
		r    AppResult
	}{{"quiet city alone", solo}, {"quiet city beside", beside}, {"noisy city", load}} {
		for k, v := range c.r.Failures {
			if serverOrTransport(k) {
				errs += v
				fail("G11 "+c.name, fmt.Errorf("%d × %s", v, k))
			} else {
				other = append(other, fmt.Sprintf("%s %d × %s", c.name, v, k))
			}
		}
	}
	slices.Sort(other)
	ratio := 0.0
	if beside.Flow.P99 > 0 {
		ratio = solo.Flow.P99 / beside.Flow.P99
	}
	rep.Rows = append(rep.Rows, countRow("G11", fmt.Sprintf("noisy neighbour: quiet city %d + %d bookings, noisy %d; 0 × 5xx or transport error",
		solo.Successes, beside.Successes, load.Successes), errs == 0 && solo.Successes > 0 && beside.Successes > 0,
		fmt.Sprintf("%d errors", errs)))
	rep.Rows = append(rep.Rows, ratioRow("G11", "quiet city's flow p99 alone (ms) over its p99 beside the noisy city", solo.Flow.P99,
		"p99 beside the noisy city, ms", beside.Flow.P99, ratio, 1/1.5,
		fmt.Sprintf("quiet p50 %.0f → %.0f ms, bookings/s %.1f → %.1f; noisy city: %d citizens on a waiting room of %d, %d booked (%.1f/s), flow p50 %.0f p99 %.0f ms with the queue's waits; pages other than the flow's next: %s",
			solo.Flow.P50, beside.Flow.P50, solo.Rate, beside.Rate, noisy, limit, load.Successes, load.Rate, load.Flow.P50, load.Flow.P99,
			strings.Join(append(other, "none")[:max(1, len(other))], ", "))))
	if peak > 0 {
		row := GoalRow{Goal: "G10", Figure: fmt.Sprintf("peak RSS during G11's load (%d citizens), MiB", noisy+quiet), Value: float64(peak),
			Want: "< 200 MiB", Holds: "no", Note: "the whole bench process (web app + load generator): an upper bound of the web app's; the 50 MB upload: make measure-upload"}
		if peak < 200 {
			row.Holds = "yes"
		}
		rep.Rows = append(rep.Rows, row)
	}
}

// serverOrTransport is whether a failure key (see citizen.book: "step → status location",
// "step → page without a CSRF token" for the waiting room's page, or "step: error") is a 5xx or
// a transport error rather than a page other than the flow's next one.
func serverOrTransport(key string) bool {
	if _, got, ok := strings.Cut(key, " → "); ok {
		code, _, _ := strings.Cut(got, " ")
		n, err := strconv.Atoi(code)
		return err == nil && n >= 500
	}
	return true
}

// resetPeakRSS resets the process's VmHWM to its current RSS (Linux; elsewhere nothing).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMiB is the process's VmHWM in MiB (0 where there is none).
func peakRSSMiB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kb / 1024
		}
	}
	return 0
}
