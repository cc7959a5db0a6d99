package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/cmd/internal/app"
	"github.com/madoguchi/madoguchi/migrations"
	"github.com/madoguchi/madoguchi/tenant"
)

// G12, the whole fleet on one platform (-fleet): a database of every municipality (1,741 cities,
// 5 M cards, 2 M reservations by default) beside a database of one city of the same size as
// each of them, and the p50 of a citizen's login, a calendar month (read from PostgreSQL, no
// cache) and a booking in the first city of each, alternated. Never run in CI: the fleet
// database is built once (a few GB; check the disk first) and reused while its size matches.

// fleetSize is what a fleet database holds.
type fleetSize struct {
	Cities, Cards, Reservations int
}

func (s fleetSize) String() string {
	return fmt.Sprintf("madoguchi-bench fleet: %d cities, %d cards, %d reservations", s.Cities, s.Cards, s.Reservations)
}

// perCity is the single-city database matching one city of s.
func (s fleetSize) perCity() fleetSize {
	return fleetSize{Cities: 1, Cards: s.Cards / s.Cities, Reservations: s.Reservations / s.Cities}
}

const (
	fleetFutureDays  = 90 // six slots a day of four places, from tomorrow
	fleetPastSlots   = 3  // a day, of four places, back as far as the reservations need
	fleetSlotPlaces  = 4
	fleetCityPrefix  = "fleet-"
	fleetMeasureCity = fleetCityPrefix + "0001"
)

// FleetReport is what -fleet prints with -json.
type FleetReport struct {
	Fleet   fleetSize    `json:"fleet"`
	Single  fleetSize    `json:"single_city"`
	BuiltIn float64      `json:"fleet_built_seconds,omitempty"` // 0: reused
	Rounds  []FleetRound `json:"rounds"`
	Report  *GoalsReport `json:"goals"`
}

// FleetRound is one round's p50s in milliseconds, fleet then single city.
type FleetRound struct {
	Fleet  FleetP50 `json:"fleet"`
	Single FleetP50 `json:"single_city"`
}

// FleetP50 are the medians of one database's samples, in milliseconds.
type FleetP50 struct {
	Login, Calendar, Booking float64
}

// benchFleet builds (or reuses) the fleet database and builds the single-city one, then measures
// both alternately and prints the G12 rows.
func benchFleet(ctx context.Context, cfg *config, o *benchOptions, stdout, stderr io.Writer) error {
	size := fleetSize{Cities: o.fleetCities, Cards: o.fleetCards, Reservations: o.fleetReservations}
	if size.Cities < 1 || size.Cards < size.Cities || size.Reservations < size.Cities || size.Reservations > size.Cards {
		return errors.New("-fleet: want cities ≥ 1, cards and reservations ≥ cities, reservations ≤ cards")
	}
	rep := &FleetReport{Fleet: size, Single: size.perCity()}
	t0 := time.Now()
	built, err := ensureFleetDB(ctx, o.adminURL, o.fleetDB, size, stderr)
	if err != nil {
		return fmt.Errorf("fleet database: %w", err)
	}
	if built {
		rep.BuiltIn = time.Since(t0).Seconds()
	}
	single := o.fleetDB + "_one"
	if err := dropFleetDB(ctx, o.adminURL, single); err != nil {
		return err
	}
	if _, err := ensureFleetDB(ctx, o.adminURL, single, rep.Single, stderr); err != nil {
		return fmt.Errorf("single-city database: %w", err)
	}
	dbs := []string{o.fleetDB, single}
	apps := make([]*app.App, len(dbs))
	for i, name := range dbs {
		a, err := app.Open(ctx, app.Options{DatabaseURL: roleURL(o.adminURL, name+"_app", name), RedisURL: cfg.RedisURL,
			DBMaxConns: 4, SecretKey: cfg.SecretKey, Registry: prometheus.NewRegistry(), Now: time.Now, BaseDomain: benchBaseDomain})
		if err != nil {
			return err
		}
		defer a.Close()
		apps[i] = a
	}
	for r := range o.rounds {
		var round FleetRound
		for i, a := range apps {
			fmt.Fprintf(stderr, "bench: fleet: round %d/%d, %s\n", r+1, o.rounds, dbs[i])
			p, err := measureFleetCity(ctx, a, o.fleetSamples)
			if err != nil {
				return fmt.Errorf("%s: %w", dbs[i], err)
			}
			if i == 0 {
				round.Fleet = p
			} else {
				round.Single = p
			}
		}
		rep.Rounds = append(rep.Rounds, round)
	}
	rep.Report = &GoalsReport{CPUs: runtime.NumCPU(), Load: loadAverage(), Rows: fleetRows(rep), Skipped: []string{}}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "%s; single city: %d cards, %d reservations; %d rounds of %d samples each\n",
		size, rep.Single.Cards, rep.Single.Reservations, o.rounds, o.fleetSamples)
	if rep.BuiltIn > 0 {
		fmt.Fprintf(stdout, "fleet database built in %.0f s\n", rep.BuiltIn)
	}
	rep.Report.print(stdout)
	return nil
}

// fleetRows are the G12 rows: for each operation the median over the rounds of the single
// city's p50 over the fleet's (≥ 1/1.2: the fleet within 20 %).
func fleetRows(rep *FleetReport) []GoalRow {
	var rows []GoalRow
	for _, op := range []struct {
		name string
		get  func(FleetP50) float64
	}{
		{"citizen login", func(p FleetP50) float64 { return p.Login }},
		{"calendar month (PostgreSQL, no cache)", func(p FleetP50) float64 { return p.Calendar }},
		{"booking (staff, no hold)", func(p FleetP50) float64 { return p.Booking }},
	} {
		var f, s, ratios []float64
		for _, r := range rep.Rounds {
			f, s = append(f, op.get(r.Fleet)), append(s, op.get(r.Single))
			if op.get(r.Fleet) > 0 {
				ratios = append(ratios, op.get(r.Single)/op.get(r.Fleet))
			}
		}
		ratio := median(ratios)
		row := ratioRow("G12", op.name+" p50 ms, "+fmt.Sprintf("%d cities", rep.Fleet.Cities), median(f), "the same in a single-city database, ms",
			median(s), ratio, 1/1.2, fmt.Sprintf("ratio = single p50 / fleet p50 (fleet within 20 %% ⇔ ≥ 0.833); rounds' ratios %v", roundAll(ratios)))
		rows = append(rows, row)
	}
	return rows
}

func roundAll(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = round3(x)
	}
	return out
}

// measureFleetCity times n logins, n calendar months and n bookings, one at a time, in the
// measured city of a's database, on new cards.
func measureFleetCity(ctx context.Context, a *app.App, n int) (FleetP50, error) {
	t, err := a.Tenants.BySlug(ctx, fleetMeasureCity)
	if err != nil {
		return FleetP50{}, err
	}
	var locs []booking.Location
	if err := tenant.InTx(ctx, a.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&locs).Scan(ctx)
	}); err != nil || len(locs) == 0 {
		return FleetP50{}, fmt.Errorf("the city's place: %v", err)
	}
	loc := locs[0]
	now := time.Now()
	from := booking.DateOf(now).AddDays(1)
	slots, err := a.Booking.SlotsBetween(ctx, t, loc.ID, from, from.AddDays(fleetFutureDays))
	if err != nil {
		return FleetP50{}, err
	}
	var free []booking.Slot
	for _, s := range slots {
		if s.Open && s.Booked+s.Held < s.Capacity {
			free = append(free, s)
		}
	}
	if len(free) == 0 {
		return FleetP50{}, errors.New("no free place left in the measured city: rebuild the database (drop it)")
	}
	cards := make([]*booking.Card, n)
	for i := range cards {
		for try := 0; cards[i] == nil; try++ {
			// The default pattern: 9 digits, at random (the database is reused between runs).
			c, err := a.Booking.AddCard(ctx, t, booking.CardInput{CardNo: fmt.Sprintf("%09d", rand.IntN(1_000_000_000)), Birth: "0312"})
			if err != nil && (try == 5 || tenant.ErrorCode(err) != tenant.Conflict) {
				return FleetP50{}, fmt.Errorf("add card: %w", err)
			}
			cards[i] = c
		}
	}
	staff := tenant.Staff(uuid.Nil, "bench", "127.0.0.1")
	var login, cal, book []float64
	next := 0
	for i, c := range cards {
		t0 := time.Now()
		if _, err := a.Booking.Login(ctx, t, booking.LoginInput{CardNo: c.CardNo, Birth: "0312", IP: fmt.Sprintf("198.51.100.%d", 1+i%250)}); err != nil {
			return FleetP50{}, fmt.Errorf("login: %w", err)
		}
		login = append(login, ms(time.Since(t0)))
		t0 = time.Now()
		if _, err := a.Booking.Availability(ctx, t, loc.ID, from, from.AddDays(34), 1, tenant.Citizen("")); err != nil {
			return FleetP50{}, fmt.Errorf("calendar: %w", err)
		}
		cal = append(cal, ms(time.Since(t0)))
		for {
			if next >= len(free)*fleetSlotPlaces {
				return FleetP50{}, errors.New("the measured city's places ran out: rebuild the database (drop it)")
			}
			s := free[next%len(free)]
			next++
			t0 = time.Now()
			_, err := a.Booking.Reserve(ctx, t, booking.ReserveInput{SlotID: s.ID, CardIDs: []uuid.UUID{c.ID}, Actor: staff})
			if tenant.ErrorCode(err) == tenant.Conflict {
				continue // that slot is full: the next one
			}
			if err != nil {
				return FleetP50{}, fmt.Errorf("booking: %w", err)
			}
			book = append(book, ms(time.Since(t0)))
			break
		}
	}
	return FleetP50{Login: round3(median(login)), Calendar: round3(median(cal)), Booking: round3(median(book))}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// roleURL is adminURL with another user and database.
func roleURL(adminURL, user, db string) string {
	u, err := url.Parse(adminURL)
	if err != nil {
		return adminURL
	}
	u.User = url.User(user)
	u.Path = "/" + db
	return u.String()
}

// dropFleetDB removes a bench database and its two roles, if there.
func dropFleetDB(ctx context.Context, adminURL, name string) error {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	for _, s := range []string{
		"DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)",
		"DROP ROLE IF EXISTS " + pgx.Identifier{name + "_app"}.Sanitize(),
		"DROP ROLE IF EXISTS " + pgx.Identifier{name + "_owner"}.Sanitize(),
	} {
		if _, err := admin.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// ensureFleetDB makes database name hold size: kept when its comment says it does, otherwise
// dropped and built again (createBenchDB), then every row by COPY
// as the superuser with the foreign keys' triggers off (the rows are consistent by
// construction), then ANALYZE. It reports whether it built.
func ensureFleetDB(ctx context.Context, adminURL, name string, size fleetSize, stderr io.Writer) (bool, error) {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return false, err
	}
	defer admin.Close(ctx)
	var comment *string
	err = admin.QueryRow(ctx, `SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1`, name).Scan(&comment)
	if err == nil && comment != nil && *comment == size.String() {
		fmt.Fprintf(stderr, "bench: fleet: %s already holds %s\n", name, size)
		return false, nil
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return false, err
	}
	if err := dropFleetDB(ctx, adminURL, name); err != nil {
		return false, err
	}
	if err := createBenchDB(ctx, admin, adminURL, name); err != nil {
		return false, err
	}
	su, err := pgx.Connect(ctx, roleURL(adminURL, mustUser(adminURL), name))
	if err != nil {
		return false, err
	}
	defer su.Close(ctx)
	if err := copyFleet(ctx, su, size, stderr); err != nil {
		return false, err
	}
	fmt.Fprintf(stderr, "bench: fleet: %s: ANALYZE\n", name)
	if _, err := su.Exec(ctx, "ANALYZE"); err != nil {
		return false, err
	}
	if _, err := admin.Exec(ctx, "COMMENT ON DATABASE "+pgx.Identifier{name}.Sanitize()+" IS "+quoteLiteral(size.String())); err != nil {
		return false, err
	}
	return true, nil
}

// createBenchDB creates database name owned by a new role name_owner, with a new runtime role
// name_app (both LOGIN, no password: as the tests' databases, for a server that trusts local
// connections, neither superuser nor BYPASSRLS), and migrates it as the owner.
func createBenchDB(ctx context.Context, admin *pgx.Conn, adminURL, name string) error {
	owner, appRole := name+"_owner", name+"_app"
	for _, s := range []string{
		"CREATE ROLE " + pgx.Identifier{owner}.Sanitize() + " LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE",
		"CREATE ROLE " + pgx.Identifier{appRole}.Sanitize() + " LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE",
		"CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " OWNER " + pgx.Identifier{owner}.Sanitize(),
	} {
		if _, err := admin.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	odb, err := tenant.OpenDB(ctx, roleURL(adminURL, owner, name), 2)
	if err != nil {
		return err
	}
	_, err = migrations.Up(ctx, odb, appRole)
	odb.Close()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

func mustUser(adminURL string) string {
	u, err := url.Parse(adminURL)
	if err != nil || u.User == nil {
		return "postgres"
	}
	return u.User.Username()
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// codeAlphabet is the booking code's alphabet (no 0, 1, I, O).
const codeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// copyFleet writes the cities in chunks, printing progress: per city one place, its slots (six a
// day over fleetFutureDays, three a day in the past for the reservations), its share of the cards
// and of the reservations, each reservation with one card (visited; every fifth cancelled).
func copyFleet(ctx context.Context, conn *pgx.Conn, size fleetSize, stderr io.Writer) error {
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		return err
	}
	today := booking.DateOf(time.Now())
	created := time.Now()
	start := time.Now()
	const chunk = 100
	done := [4]int{} // cards, slots, reservations, cities
	for first := 0; first < size.Cities; first += chunk {
		last := min(first+chunk, size.Cities)
		var tenants, locs, slots, cards, res, links [][]any
		for c := first; c < last; c++ {
			tid, lid := uuid.New(), uuid.New()
			tenants = append(tenants, []any{tid, fmt.Sprintf("%s%04d", fleetCityPrefix, c+1), fmt.Sprintf("ベンチ市%04d", c+1)})
			locs = append(locs, []any{tid, lid, "本庁"})
			for d := 1; d <= fleetFutureDays; d++ {
				day := today.AddDays(d)
				for h := range 6 {
					st := day.Time(9, 30*h)
					slots = append(slots, []any{tid, uuid.New(), lid, day.StdTime(), st, st.Add(30 * time.Minute), fleetSlotPlaces, 0})
				}
			}
			nCards := share(size.Cards, size.Cities, c)
			nRes := share(size.Reservations, size.Cities, c)
			cardIDs := make([]uuid.UUID, nCards)
			for i := range cardIDs {
				cardIDs[i] = uuid.New()
				status := "notice_sent"
				if i < nRes {
					status = "visited"
				}
				var h [32]byte
				binary.LittleEndian.PutUint64(h[:], rand.Uint64())
				binary.LittleEndian.PutUint64(h[8:], uint64(c)<<32|uint64(i))
				cards = append(cards, []any{tid, cardIDs[i], fmt.Sprintf("F%011d", i+1), h[:], status, created, created})
			}
			var slot uuid.UUID
			var slotStart time.Time
			for i := range nRes {
				if i%fleetSlotPlaces == 0 {
					k := i / fleetSlotPlaces
					day := today.AddDays(-1 - k/fleetPastSlots)
					slotStart = day.Time(9, 60*(k%fleetPastSlots))
					slot = uuid.New()
					slots = append(slots, []any{tid, slot, lid, day.StdTime(), slotStart, slotStart.Add(30 * time.Minute), fleetSlotPlaces,
						min(fleetSlotPlaces, nRes-i)})
				}
				rid := uuid.New()
				status, cancelled := "visited", any(nil)
				if i%5 == 4 {
					status, cancelled = "cancelled", slotStart.Add(-24*time.Hour)
				}
				code := make([]byte, 8)
				for j, v := 0, i; j < 8; j, v = j+1, v/len(codeAlphabet) {
					code[7-j] = codeAlphabet[v%len(codeAlphabet)]
				}
				res = append(res, []any{tid, rid, string(code), slot, lid, slotStart, status, "web", 1, slotStart.Add(-72 * time.Hour), slotStart, cancelled})
				links = append(links, []any{tid, rid, cardIDs[i], false})
			}
			done[0] += nCards
			done[2] += nRes
		}
		done[1] += len(slots)
		done[3] = last
		for _, t := range []struct {
			name string
			cols []string
			rows [][]any
		}{
			{"tenants", []string{"id", "slug", "name"}, tenants},
			{"locations", []string{"tenant_id", "id", "name"}, locs},
			{"slots", []string{"tenant_id", "id", "location_id", "day", "starts_at", "ends_at", "capacity", "booked"}, slots},
			{"cards", []string{"tenant_id", "id", "card_no", "birth_hmac", "status", "status_changed_at", "created_at"}, cards},
			{"reservations", []string{"tenant_id", "id", "code", "slot_id", "location_id", "starts_at", "status", "channel", "party_size",
				"created_at", "updated_at", "cancelled_at"}, res},
			{"reservation_cards", []string{"tenant_id", "reservation_id", "card_id", "active"}, links},
		} {
			if _, err := conn.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
				return fmt.Errorf("copy %s: %w", t.name, err)
			}
		}
		el := time.Since(start).Seconds()
		fmt.Fprintf(stderr, "bench: fleet: %d/%d cities, %d cards, %d slots, %d reservations, %.0f s (%.0f rows/s)\n",
			done[3], size.Cities, done[0], done[1], done[2], el, float64(done[0]+done[1]+2*done[2])/el)
	}
	return nil
}

// share is city c's part of total over n cities (the first ones take the remainder).
func share(total, n, c int) int {
	s := total / n
	if c < total%n {
		s++
	}
	return s
}
