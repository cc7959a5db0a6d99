package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// GoalRow is one line of the goals table: a figure, its reference measured in the same run, their
// ratio and the goal. Holds is "yes", "no", or "—" when the row has no ratio goal (a count).
type GoalRow struct {
	Goal      string  `json:"goal"`
	Figure    string  `json:"figure"`
	Value     float64 `json:"value"`
	Reference string  `json:"reference,omitempty"`
	RefValue  float64 `json:"reference_value,omitempty"`
	Ratio     float64 `json:"ratio,omitempty"`
	Want      string  `json:"want"`
	Holds     string  `json:"holds"`
	Note      string  `json:"note,omitempty"`
}

// GoalsReport is what -goals prints (-json prints it as is).
type GoalsReport struct {
	Short   bool      `json:"short"`
	CPUs    int       `json:"cpus"`
	Load    string    `json:"load_average"`
	Rows    []GoalRow `json:"rows"`
	Failed  []string  `json:"failed,omitempty"` // wrong counts, 5xx: the only failures
	Skipped []string  `json:"not_run"`          // goals this command does not measure, and where they are
}

// goalsNotRun are the goals -goals does not measure, with where each is measured instead.
var goalsNotRun = []string{
	"G7 reminder and confirmation mail: go test -count=1 -run TestMailGoal ./jobs/ -reminders=10000 -v",
	"G10 memory while a 50 MB card file uploads: make measure-upload",
	"G12 1,741 cities, 5 M cards, 2 M reservations (builds a database of a few GB once; never in CI): madoguchi-bench -fleet -rounds 3",
}

// benchGoals runs the booking benchmark (G1), the rush closed and open (G3) and the card import
// (G6), each with -json into a buffer, and prints one table. With -short every part is small
// (CI): only wrong counts and 5xx fail it; ratios are reported. -citizens, -places, -rows and
// -citizen-concurrency size the full run's rush and import.
func benchGoals(ctx context.Context, a *services, o *benchOptions, stdout, stderr io.Writer) error {
	rep := &GoalsReport{Short: o.short, CPUs: runtime.NumCPU(), Load: loadAverage()}
	if o.noisy {
		benchGoalsPlatform(ctx, a, o, rep, stderr)
		return rep.finish(o, stdout)
	}
	sub := func(name string, set func(*benchOptions), v any, run func(context.Context, *services, *benchOptions, io.Writer, io.Writer) error) error {
		so := &benchOptions{json: true, pgbench: o.pgbench, pgbenchMode: o.pgbenchMode, citizenConcurrency: o.citizenConcurrency,
			rushPGSeconds: 5, citizens: o.citizens, places: o.places, importRows: o.importRows, refURL: o.refURL, rounds: 3, clients: 64, duration: 10 * time.Second}
		set(so)
		fmt.Fprintf(stderr, "bench: goals: %s\n", name)
		// Each part gets its own services, as its own run of the command would: a web app
		// registers its metrics once per registry.
		part, err := openServices(ctx, a.cfg)
		if err != nil {
			return err
		}
		defer part.close()
		var buf bytes.Buffer
		err = run(ctx, part, so, &buf, stderr)
		if buf.Len() > 0 {
			if jerr := json.Unmarshal(buf.Bytes(), v); jerr != nil && err == nil {
				err = fmt.Errorf("%s: report: %w", name, jerr)
			}
		}
		if err != nil {
			rep.Failed = append(rep.Failed, name+": "+err.Error())
		}
		return ctx.Err()
	}

	var book BenchReport
	if err := sub("G1 booking flow", func(so *benchOptions) {
		if o.short {
			so.clients, so.bookings, so.rounds, so.duration = 4, 40, 1, 0
		} else {
			so.pgbenchClients = a.cfg.DBMaxConns // as many as the app's pool
		}
		_ = so.resolve()
	}, &book, benchBooking); err != nil {
		return err
	}
	if len(book.App) > 0 {
		a0 := book.App[len(book.App)/2]
		rep.Rows = append(rep.Rows, ratioRow("G1", "whole booking flow (6 requests), bookings/s", book.AppRate,
			"pgbench of booking.Reserve's SQL, tps", book.PGBenchTPS, book.Ratio, 0.5,
			fmt.Sprintf("flow p50 %.0f ms p99 %.0f ms; POST /reserve p50 %.0f ms p99 %.0f ms; ratio min–max %.3f–%.3f; %d clients",
				a0.Flow.P50, a0.Flow.P99, a0.Reserve.P50, a0.Reserve.P99, book.RatioMin, book.RatioMax, book.Clients)))
		rep.Rows = append(rep.Rows, countRow("G1", "booking check (no slot over capacity, booked = reservations)", book.Check.OK, book.Check.Problem))
	}

	for _, open := range []bool{false, true} {
		var rush RushReport
		name, label := "G3 rush, closed loop", "closed"
		if open {
			name, label = "G3 rush, open arrivals", "open"
		}
		if err := sub(name, func(so *benchOptions) {
			so.rush = true
			if o.short {
				so.citizens, so.places, so.citizenConcurrency, so.rushPGSeconds = 300, 20, 4, 1
			}
			if open {
				so.arrival = 10 * time.Second
				if o.short {
					so.arrival = 2 * time.Second
				}
			}
		}, &rush, benchRush); err != nil {
			return err
		}
		if rush.Citizens == 0 {
			continue
		}
		rep.Rows = append(rep.Rows, countRow("G3", fmt.Sprintf("rush %s: %d citizens, %d places: booked exactly, 0 × 5xx, losers told full", label, rush.Citizens, rush.Places),
			rush.OK, rush.Problem))
		rep.Rows = append(rep.Rows, ratioRow("G3", fmt.Sprintf("rush %s: losers' answers/s", label), rush.LoserAnswersPerSec,
			"pgbench of the refusal's SQL, tps", rush.PGBench.TPS, rush.Ratio, 0.5,
			fmt.Sprintf("request p50 %.0f ms p99 %.0f ms; %d × 429 followed; places gone after %.1f s", rush.Latency.P50, rush.Latency.P99, rush.Throttled, rush.FirstToLast)))
	}

	var imp ImportBenchReport
	if err := sub("G6 card import", func(so *benchOptions) {
		so.importMode = true
		if o.short {
			so.importRows, so.rounds = 2000, 1
		}
	}, &imp, benchImportMain); err != nil {
		return err
	}
	if len(imp.Rounds) > 0 {
		r := imp.Rounds[len(imp.Rounds)/2]
		// The goal is against the owner's \copy into a real table; without -ref-url the reference is
		// a TEMP table (no WAL, no foreign key), about twice as fast, and the row says so.
		ref := "owner's psql \\copy of the same file, rows/s"
		if o.refURL == "" {
			ref = "psql \\copy into a TEMP table (no -ref-url: not the goal's reference), rows/s"
		}
		rep.Rows = append(rep.Rows, ratioRow("G6", fmt.Sprintf("card import, %d rows, rows/s", imp.Rows), r.AppRowsPS,
			ref, r.CopyRowsPS, imp.Median, 0.5, fmt.Sprintf("ratio min–max %.3f–%.3f", imp.Min, imp.Max)))
	}
	if err := benchGoalsMicro(ctx, a, o, rep, stderr); err != nil {
		return err
	}
	benchGoalsPlatform(ctx, a, o, rep, stderr)
	if err := benchGoalsRLS(ctx, a, o, rep, stderr); err != nil {
		return err
	}
	rep.Skipped = goalsNotRun
	return rep.finish(o, stdout)
}

// finish prints the table (or its JSON) and fails on what failed.
func (rep *GoalsReport) finish(o *benchOptions, stdout io.Writer) error {
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.print(stdout)
	}
	if len(rep.Failed) > 0 {
		return fmt.Errorf("goals: %s", strings.Join(rep.Failed, "; "))
	}
	return nil
}

// ratioRow is a row whose goal is a ratio of at least want.
func ratioRow(goal, figure string, v float64, ref string, rv, ratio, want float64, note string) GoalRow {
	row := GoalRow{Goal: goal, Figure: figure, Value: round3(v), Reference: ref, RefValue: round3(rv), Ratio: round3(ratio),
		Want: fmt.Sprintf("≥ %.2f", want), Holds: "no", Note: note}
	switch {
	case rv <= 0:
		row.Holds, row.Ratio = "—", 0
		row.Note = strings.TrimPrefix(row.Note+"; no reference (pgbench missing or disabled)", "; ")
	case ratio >= want:
		row.Holds = "yes"
	}
	return row
}

// countRow is a correctness row: it holds or the run failed.
func countRow(goal, figure string, ok bool, problem string) GoalRow {
	row := GoalRow{Goal: goal, Figure: figure, Want: "exact", Holds: "yes"}
	if !ok {
		row.Holds, row.Note = "no", problem
	}
	return row
}

// print writes the table.
func (r *GoalsReport) print(w io.Writer) {
	kind := "full"
	if r.Short {
		kind = "short (CI)"
	}
	fmt.Fprintf(w, "madoguchi-bench -goals, %s run: %d CPUs, load average %s\n\n", kind, r.CPUs, r.Load)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "goal\tfigure\tvalue\treference\tref value\tratio\twant\tholds?")
	for _, row := range r.Rows {
		val, rv, ratio := "", "", ""
		if row.Want != "exact" {
			val, rv = fmt.Sprintf("%.1f", row.Value), fmt.Sprintf("%.1f", row.RefValue)
			if row.Ratio > 0 {
				ratio = fmt.Sprintf("%.3f", row.Ratio)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Goal, row.Figure, val, row.Reference, rv, ratio, row.Want, row.Holds)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, row := range r.Rows {
		if row.Note != "" {
			fmt.Fprintf(w, "%s %s: %s\n", row.Goal, row.Figure, row.Note)
		}
	}
	for _, f := range r.Failed {
		fmt.Fprintf(w, "FAILED: %s\n", f)
	}
	fmt.Fprintln(w, "\nnot run here:")
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "  %s\n", s)
	}
}

// loadAverage is the first three fields of /proc/loadavg ("" where there is none).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
