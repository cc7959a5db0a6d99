// Command madoguchi-bench is madoguchi's load generator, built apart from the production binary:
// booking through the real HTTP stack beside pgbench running the same SQL (bench.go), or with
// -import the J-LIS card import beside psql \copy of the same file (bench_import.go). It reads
// the MADOGUCHI_* variables it needs from the environment (config.go) and writes scratch tenants
// into that database: run it against a scratch database, not production. See README.md,
// 'Benchmarks'. main only calls run, which the tests call too.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "madoguchi-bench:", err)
		os.Exit(1)
	}
}

const usage = `usage: madoguchi-bench [flags]
       madoguchi-bench -import [-rows N] [-rounds N] [-ref-url OWNER_URL] [-json]
       madoguchi-bench -goals [-short] [-noisy] [-admin-url URL] [-ref-url OWNER_URL] [-json]
       madoguchi-bench -fleet [-fleet-db NAME] [-fleet-cities N] [-fleet-cards N] [-fleet-reservations N] [-admin-url URL] [-json]
       madoguchi-bench -rush [-citizens N] [-places N] [-arrival D] [-citizen-concurrency N] [-json]

Books through the real HTTP stack (in-process web server on 127.0.0.1, city host, session in
Redis, CSRF, login guard, hold, reserve) with many concurrent citizens, then runs pgbench with the
SQL of booking.Reserve on the same data, and prints both and their ratio. The data goes into a new
tenant bench-<random>, which is disabled at the end (-keep leaves it enabled).

With -import: imports a generated J-LIS CSV through booking.ImportCards into a new tenant
bench-imp-<random> per round, beside psql \copy of the same file, and prints the ratio.

With -rush (goal G3): a new tenant bench-rush-<random> opens -places places; -citizens citizens log
in through the JSON API, then all read the availability and book at once, reading again and
retrying on 409 slot.full until they booked or no place is left, and following 429 Retry-After
(the waiting room). Fails on bookings ≠ places, a database count that disagrees, any 5xx or
transport error; prints the latencies and the losers' answer rate beside pgbench of the refusal's
SQL. -arrival spreads arrivals instead (open loop).

With -goals: runs the booking bench (G1), the rush closed and with open arrivals (G3), the
import bench (G6), the reserve SQL against the minimal booking transaction, POST /reserve alone
(G2), the calendar month page from the cache and on a miss (G4, G5), the citizen login (G9) and
the hot statements with row-level security on and off in a scratch database created (and dropped)
with the superuser of -admin-url (G8; skipped with a note without one), each against its reference
in the same run, and prints one table; -short is the version CI runs.
-cpuprofile FILE profiles the run for go tool pprof.

With -fleet (goal G12, never in CI): builds once a database of -fleet-cities cities with their
cards and past reservations by COPY (progress printed; gigabytes: check the disk), and each time a
database of one city of the same size, then times logins, calendar months and bookings in the
first city of each, alternated -rounds times, and prints their p50s and ratio.

Configuration: MADOGUCHI_DATABASE_URL (runtime role) and MADOGUCHI_SECRET_KEY are required;
MADOGUCHI_REDIS_URL and MADOGUCHI_DB_MAX_CONNS as for madoguchi. Use a scratch database.

flags:
`

// benchOptions are the flags of madoguchi-bench.
type benchOptions struct {
	importMode         bool // -import: the card import benchmark instead
	rush               bool // -rush: the rush (G3) instead
	goals              bool // -goals: every goal this command measures, as one table
	noisy              bool // -noisy: with -goals, only G11 (noisy neighbour) and G10 during it
	short              bool // -short: with -goals, the small CI version
	citizens           int  // -citizens
	places             int  // -places
	arrival            time.Duration
	rushPGSeconds      int
	citizenConcurrency int
	importRows         int    // -rows
	refURL             string // -ref-url
	clients            int
	duration           time.Duration
	bookings           int
	rounds             int
	pgbench            bool
	pgbenchClients     int
	pgbenchMode        string
	cards              int
	pgbenchCards       int
	json               bool
	keep               bool
	fleet              bool   // -fleet: G12, the whole fleet against a single city
	fleetDB            string // -fleet-db
	fleetCities        int
	fleetCards         int
	fleetReservations  int
	fleetSamples       int
	adminURL           string // -admin-url: a superuser, to create the fleet's databases
	cpuProfile         string // -cpuprofile: where the run's CPU profile goes
}

// run parses the flags, then reads the configuration and runs the benchmark. It fails on a flag
// or configuration problem, a setup failure or a failed correctness check; slow figures and
// failed bookings are reported, not failures.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.goals || o.fleet {
		// each part resolves its own options
	} else if o.rush {
		if err := o.resolveRush(); err != nil {
			return err
		}
	} else if o.importMode {
		if o.importRows <= 0 || o.rounds <= 0 {
			return errors.New("-import: -rows and -rounds must be positive")
		}
	} else if err := o.resolve(); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		stop, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if o.fleet {
		return benchFleet(ctx, cfg, o, stdout, stderr)
	}
	s, err := openServices(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	if o.goals {
		return benchGoals(ctx, s, o, stdout, stderr)
	}
	if o.rush {
		return benchRush(ctx, s, o, stdout, stderr)
	}
	if o.importMode {
		return benchImportMain(ctx, s, o, stdout, stderr)
	}
	return benchBooking(ctx, s, o, stdout, stderr)
}

// startCPUProfile starts profiling the process into path; stop ends it and closes the file.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// parseFlags reads the command line; -h prints the usage to stderr and returns flag.ErrHelp.
func parseFlags(args []string, stderr io.Writer) (*benchOptions, error) {
	fs := flag.NewFlagSet("madoguchi-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	o := &benchOptions{}
	fs.IntVar(&o.clients, "clients", 64, "concurrent HTTP clients (citizens booking one after another)")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "how long each phase runs (app, then pgbench with the same time)")
	fs.IntVar(&o.bookings, "bookings", 0, "book exactly this many per round instead of running for -duration (pgbench then runs the same number of transactions)")
	fs.IntVar(&o.rounds, "rounds", 1, "alternate app and pgbench this many times; the ratio is the median with min–max")
	fs.BoolVar(&o.pgbench, "pgbench", true, "also run the pgbench reference")
	fs.IntVar(&o.pgbenchClients, "pgbench-clients", 0, "pgbench clients (0: the same as -clients)")
	fs.StringVar(&o.pgbenchMode, "pgbench-mode", "prepared", "pgbench query mode: simple, extended or prepared")
	fs.IntVar(&o.cards, "cards", 0, fmt.Sprintf("cards per round for the app (0: -bookings, or %d per second of -duration)", benchAppCardsPerSec))
	fs.IntVar(&o.pgbenchCards, "pgbench-cards", 0, fmt.Sprintf("cards per round for pgbench (0: -bookings, or %d per second of -duration)", benchPGCardsPerSec))
	fs.BoolVar(&o.json, "json", false, "print the report as JSON")
	fs.BoolVar(&o.keep, "keep", false, "leave the bench tenant enabled (it is disabled by default; its data stays either way)")
	fs.BoolVar(&o.importMode, "import", false, "benchmark the J-LIS card import against psql \\copy of the same file instead")
	fs.IntVar(&o.importRows, "rows", 100_000, "with -import: rows in the generated file")
	fs.StringVar(&o.refURL, "ref-url", "", "with -import or -goals (G6): URL of the owner role for the \\copy reference, the goal's reference (default: the runtime role and a TEMP table, no WAL and no foreign key: about twice as fast)")
	fs.BoolVar(&o.goals, "goals", false, "run every goal this command measures (G1 booking, G3 rush closed and open, G6 import, reserve SQL, G2, G4, G5, G9) and print one table: figure, reference, ratio, goal, holds?")
	fs.BoolVar(&o.noisy, "noisy", false, "with -goals: only G11 (a city at 3× its waiting room beside a quiet one) and G10 (memory during it), to compare changes quickly (about 40 s)")
	fs.BoolVar(&o.short, "short", false, "with -goals: the small version CI runs (fails only on wrong counts or 5xx)")
	fs.BoolVar(&o.rush, "rush", false, "the rush (G3) instead: many citizens book few places through the JSON API, following Retry-After")
	fs.IntVar(&o.citizens, "citizens", 5000, "with -rush: citizens")
	fs.IntVar(&o.places, "places", 200, "with -rush: places (a multiple of 4: the earliest slots of 4 places each)")
	fs.DurationVar(&o.arrival, "arrival", 0, "with -rush: citizens arrive evenly over this time, each logging in and booking at once (0: all log in first, then book at one moment)")
	fs.IntVar(&o.rushPGSeconds, "rush-pgbench-seconds", 5, "with -rush: seconds of the pgbench reference (the refusal's SQL on the full slots)")
	fs.IntVar(&o.citizenConcurrency, "citizen-concurrency", 16, "with -rush: the waiting room's limit per city (MADOGUCHI_CITIZEN_CONCURRENCY; 0: no waiting room)")
	fs.BoolVar(&o.fleet, "fleet", false, "G12 instead: build (once) a database of every city and one of a single city, and compare a login's, a calendar month's and a booking's p50 in both (never in CI: gigabytes)")
	fs.StringVar(&o.fleetDB, "fleet-db", "madoguchi_bench_fleet", "with -fleet: the fleet database's name (kept and reused while it holds the asked size; <name>_one is the single city)")
	fs.IntVar(&o.fleetCities, "fleet-cities", 1741, "with -fleet: cities")
	fs.IntVar(&o.fleetCards, "fleet-cards", 5_000_000, "with -fleet: cards in all")
	fs.IntVar(&o.fleetReservations, "fleet-reservations", 2_000_000, "with -fleet: past reservations in all")
	fs.IntVar(&o.fleetSamples, "fleet-samples", 200, "with -fleet: logins, calendar months and bookings timed per database and round")
	fs.StringVar(&o.adminURL, "admin-url", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "with -fleet and -goals (G8): a superuser's URL, to create the databases and their roles (and with -fleet to COPY the rows)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (the in-process web app and the load it generates; not pgbench or PostgreSQL) to this file, for go tool pprof")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return o, nil
}
