package booking_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/booking/guard"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// sqlCapture is a pgx tracer that keeps every statement the service sends, with its arguments
// ($n statements run as they are; bun writes the values into the text), while op is set,
// labelled with op.
type sqlCapture struct {
	mu  sync.Mutex
	op  string
	ops []string // every op run
	qs  []capturedSQL
}

type capturedSQL struct {
	op, sql string
	args    []any
}

func (c *sqlCapture) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.op != "" {
		var args []any
		for _, a := range d.Args {
			if _, mode := a.(pgx.QueryExecMode); !mode {
				args = append(args, a)
			}
		}
		c.qs = append(c.qs, capturedSQL{c.op, d.SQL, args})
	}
	return ctx
}

func (c *sqlCapture) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// The statements of a pipelined batch (tenant.QueryRow: the citizen login's card read) are kept
// as the others are.
func (c *sqlCapture) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (c *sqlCapture) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, d pgx.TraceBatchQueryData) {
	c.TraceQueryStart(ctx, conn, pgx.TraceQueryStartData{SQL: d.SQL, Args: d.Args})
}

func (c *sqlCapture) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (c *sqlCapture) run(tb testing.TB, op string, fn func() error) {
	tb.Helper()
	c.mu.Lock()
	c.op = op
	c.ops = append(c.ops, op)
	c.mu.Unlock()
	err := fn()
	c.mu.Lock()
	c.op = ""
	c.mu.Unlock()
	if err != nil {
		tb.Fatalf("%s: %v", op, err)
	}
}

// The plan test's data: enough cities and rows that the planner's choice is the
// one a fleet gets (a sequential scan is cheaper than any index on a few hundred rows).
const (
	planCities       = 16
	planCards        = 1500 // per city
	planPastDays     = 730  // slots and reservations over the last two years
	planReservations = 1000 // per city, in the past
	planBigTable     = 5000 // rows from which a table must be read through an index
)

// TestHotQueryPlans runs the hot paths of the citizen, staff and call-center screens — login,
// the calendar month, hold and reserve, the staff day list and pick list, the card list by
// status, change and cancel, the monthly report — against a database of several cities with
// two years of bookings, ANALYZEd, capturing every statement the service sends. Each captured
// statement is then explained as the runtime role in the city's scope: no table with many rows
// may be read by a sequential scan, every index scanned on a city's table must have tenant_id as
// its leading column, an index scan must not read many more rows than it keeps (the index fits
// the query), and with sequential scans disabled every table, however small, must have an index
// that serves the statement.
func TestHotQueryPlans(t *testing.T) {
	ctx := context.Background()
	d := tenanttest.NewDB(t)
	clock := tenanttest.NewClock()
	now := clock.Now()
	seedSvc := bookingtest.Service(d.App, clock.Now)

	var target *tenant.Tenant
	var loc *booking.Location
	cities := map[uuid.UUID]uuid.UUID{}
	for i := range planCities {
		tn := tenanttest.MustCreateTenant(t, d.App)
		l := bookingtest.MustLocation(t, seedSvc, tn, "本庁", 4)
		if i == 0 {
			target, loc = tn, l
		}
		cities[tn.ID] = l.ID
	}
	if err := seedPlanCities(ctx, d.Name, cities, now.Unix()); err != nil {
		t.Fatalf("seed: %v", err)
	}
	if _, err := d.Owner.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}

	capt := &sqlCapture{}
	cfg, err := pgx.ParseConfig(d.AppDSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Tracer = capt
	capDB, err := tenant.OpenDBConfig(ctx, cfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer capDB.Close()
	opt, _ := redis.ParseURL(redisURL())
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	key := make([]byte, 32)
	rand.Read(key)
	g, err := guard.New(rdb, key, guard.Config{}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	svc := booking.NewService(capDB, booking.Config{SecretKey: bookingtest.Key, Guard: g, Now: clock.Now})
	staff, citizen := bookingtest.Admin, bookingtest.Citizen

	card := bookingtest.MustCard(t, seedSvc, target, "0312")
	card2 := bookingtest.MustCard(t, seedSvc, target, "0401")
	first := bookingtest.FirstSlot(t, seedSvc, target, loc, now)
	day := booking.DateFromDB(first.Day)
	slots, err := seedSvc.SlotsBetween(ctx, target, loc.ID, day, day.AddDays(14))
	if err != nil || len(slots) < 3 {
		t.Fatalf("SlotsBetween: %d slots, %v", len(slots), err)
	}

	capt.run(t, "citizen login", func() error {
		_, err := svc.Login(ctx, target, booking.LoginInput{CardNo: card.CardNo, Birth: "0312", IP: "192.0.2.10"})
		return err
	})
	capt.run(t, "booking cards", func() error {
		_, err := svc.BookingCards(ctx, target, []uuid.UUID{card.ID})
		return err
	})
	capt.run(t, "call-center card lookup", func() error {
		_, err := svc.LookupCards(ctx, target, []string{card.CardNo, card2.CardNo}, staff)
		return err
	})
	capt.run(t, "calendar month", func() error {
		_, err := svc.Availability(ctx, target, loc.ID, day, day.AddDays(34), 1, citizen)
		return err
	})
	capt.run(t, "slots of a day", func() error {
		_, err := svc.SlotsOn(ctx, target, loc.ID, day, citizen)
		return err
	})
	var r *booking.Reservation
	capt.run(t, "hold and reserve", func() error {
		h, err := svc.HoldSlot(ctx, target, slots[0].ID, 1, uuid.Nil, citizen)
		if err != nil {
			return err
		}
		r, err = svc.Reserve(ctx, target, booking.ReserveInput{SlotID: slots[0].ID, HoldID: h.ID, CardIDs: []uuid.UUID{card.ID},
			Email: "plan@example.jp", Actor: citizen})
		return err
	})
	capt.run(t, "staff reserve", func() error {
		_, err := svc.Reserve(ctx, target, booking.ReserveInput{SlotID: slots[1].ID, CardIDs: []uuid.UUID{card2.ID}, Actor: staff})
		return err
	})
	capt.run(t, "staff day list", func() error {
		_, err := svc.DayList(ctx, target, day, loc.ID, staff)
		return err
	})
	capt.run(t, "staff pick list", func() error {
		_, err := svc.PickList(ctx, target, day, uuid.Nil, staff)
		return err
	})
	capt.run(t, "card list by status", func() error {
		_, err := svc.SearchCards(ctx, target, booking.CardQuery{Status: booking.CardNoticeSent}, staff)
		return err
	})
	capt.run(t, "card list by number", func() error {
		_, err := svc.SearchCards(ctx, target, booking.CardQuery{No: "S0000001"}, staff)
		return err
	})
	capt.run(t, "change", func() error {
		_, err := svc.Change(ctx, target, r.ID, slots[2].ID, uuid.Nil, staff)
		return err
	})
	capt.run(t, "cancel", func() error {
		return svc.Cancel(ctx, target, r.ID, staff)
	})
	capt.run(t, "monthly report", func() error {
		m := booking.MonthOf(now).Prev()
		_, err := svc.MonthlyReport(ctx, target, m)
		return err
	})

	tables, indexes, err := planCatalog(ctx, d.Owner)
	if err != nil {
		t.Fatal(err)
	}
	checked, perOp := 0, map[string]int{}
	for _, q := range capt.qs {
		if !explainable(q.sql) {
			continue
		}
		checked++
		perOp[q.op]++
		for _, seqOff := range []bool{false, true} {
			plan, err := explain(ctx, d.App, target.ID, q, seqOff)
			if err != nil {
				t.Errorf("%s: explain: %v\n%s", q.op, err, q.sql)
				continue
			}
			if !seqOff && testing.Verbose() {
				t.Logf("%s: %s\n%.300s", q.op, plan.summary(), q.sql)
			}
			for _, p := range planProblems(plan, tables, indexes, seqOff) {
				t.Errorf("%s: %s\n%s", q.op, p, q.sql)
			}
		}
	}
	for _, op := range capt.ops {
		if perOp[op] == 0 {
			t.Errorf("%s: no statement reading a table was captured: the tracer did not see its SQL", op)
		}
	}
	t.Logf("%d statements explained", checked)
}

// seedPlanCities writes every city's cards, two years of past slots and reservations with their
// cards, status history and mail, in bulk, as the superuser with the triggers of the foreign keys
// off (the rows are consistent by construction): a few seconds instead of half a minute.
func seedPlanCities(ctx context.Context, dbName string, cities map[uuid.UUID]uuid.UUID, nowUnix int64) error {
	u, err := url.Parse(tenanttest.AdminURL())
	if err != nil {
		return err
	}
	u.Path = "/" + dbName
	db, err := tenant.OpenDB(ctx, u.String(), 1)
	if err != nil {
		return err
	}
	defer db.Close()
	var vals []string
	for tid, lid := range cities {
		vals = append(vals, fmt.Sprintf("('%s'::uuid, '%s'::uuid)", tid, lid))
	}
	city := "(VALUES " + strings.Join(vals, ", ") + ") AS city (tid, lid)"
	now := fmt.Sprintf("to_timestamp(%d)", nowUnix)
	stmts := []string{
		`SET session_replication_role = replica`,
		`INSERT INTO cards (tenant_id, card_no, birth_hmac, storage_pos, status, status_changed_at, created_at)
			SELECT tid, 'S' || lpad(i::text, 11, '0'), sha256(i::text::bytea), 'A-' || (i % 500),
				(ARRAY['imported','notice_sent','reserved','visited','issued','issued','issued','void'])[1 + i % 8],
				NOW - make_interval(days => i % ?1), NOW - make_interval(days => ?1)
			FROM CITY, generate_series(1, ?0) i`,
		`INSERT INTO slots (tenant_id, location_id, day, starts_at, ends_at, capacity, booked)
			SELECT tid, lid, (NOW - make_interval(days => dd))::date,
				date_trunc('day', NOW - make_interval(days => dd)) + make_interval(hours => h),
				date_trunc('day', NOW - make_interval(days => dd)) + make_interval(hours => h, mins => 30), 4, 1
			FROM CITY, generate_series(1, ?1) dd, generate_series(0, 2) h`,
		`INSERT INTO reservations (tenant_id, code, slot_id, location_id, starts_at, status, channel, party_size, created_at, updated_at, cancelled_at)
			SELECT s.tenant_id, translate(lpad(to_hex(n), 8, '0'), '0123456789abcdef', '23456789ABCDEFGH'), s.id, s.location_id, s.starts_at,
				(ARRAY['visited','visited','visited','cancelled','no_show'])[1 + n % 5],
				(ARRAY['web','web','staff','callcenter'])[1 + n % 4], 1,
				s.starts_at - make_interval(days => (3 + n % 20)::int), s.starts_at,
				CASE WHEN n % 5 = 3 THEN s.starts_at - make_interval(days => 1) END
			FROM (SELECT row_number() OVER (PARTITION BY tenant_id ORDER BY starts_at DESC) AS n, tenant_id, id, location_id, starts_at
				FROM slots WHERE starts_at < NOW) s
			WHERE n <= ?2`,
		`INSERT INTO reservation_cards (tenant_id, reservation_id, card_id, active)
			SELECT r.tenant_id, r.id, c.id, false
			FROM (SELECT tenant_id, id, row_number() OVER (PARTITION BY tenant_id ORDER BY created_at, id) AS n FROM reservations) r
			JOIN (SELECT tenant_id, id, row_number() OVER (PARTITION BY tenant_id ORDER BY card_no) AS n FROM cards WHERE card_no LIKE 'S%') c
				ON c.tenant_id = r.tenant_id AND c.n = r.n`,
		`INSERT INTO card_status_history (tenant_id, card_id, from_status, to_status, channel, changed_at)
			SELECT c.tenant_id, c.id, (ARRAY[NULL,'imported','notice_sent','reserved','visited'])[k], (ARRAY['imported','notice_sent','reserved','visited','issued'])[k],
				(ARRAY['import','system','web','staff','staff'])[k],
				NOW - make_interval(days => (c.n * 7 % ?1)::int, hours => 5 - k)
			FROM (SELECT tenant_id, id, row_number() OVER (PARTITION BY tenant_id ORDER BY card_no) AS n FROM cards WHERE card_no LIKE 'S%') c,
				generate_series(1, 5) k
			WHERE k <= 1 + c.n % 5 AND k > c.n % 5 - 2`,
		`INSERT INTO outbox (tenant_id, kind, reservation_id, state, created_at, updated_at)
			SELECT tenant_id, 'reservation_created', id, 'sent', created_at, created_at FROM reservations WHERE code ~ '^[2-9A-H]{8}$' AND created_at < NOW`,
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, s := range stmts {
		s = strings.NewReplacer("NOW", now, "CITY", city).Replace(s)
		if _, err := conn.ExecContext(ctx, s, planCards, planPastDays, planReservations); err != nil {
			return fmt.Errorf("%.60s…: %w", strings.TrimSpace(s), err)
		}
	}
	return nil
}

// planCatalog returns the estimated rows of every table with a tenant_id column, and the key
// columns of every index in order.
func planCatalog(ctx context.Context, db *bun.DB) (tables map[string]float64, columns map[string][]string, err error) {
	var ts []struct {
		Name string  `bun:"name"`
		Rows float64 `bun:"rows"`
	}
	if err := db.NewRaw(`SELECT c.relname AS name, c.reltuples AS rows FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
		WHERE c.relkind = 'r' AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)`).
		Scan(ctx, &ts); err != nil {
		return nil, nil, err
	}
	var is []struct {
		Name    string `bun:"name"`
		Columns string `bun:"cols"`
	}
	if err := db.NewRaw(`SELECT ic.relname AS name, string_agg(coalesce(a.attname, '(expression)'), ',' ORDER BY k.ord) AS cols
		FROM pg_index x
		JOIN pg_class ic ON ic.oid = x.indexrelid
		JOIN pg_namespace n ON n.oid = ic.relnamespace AND n.nspname = current_schema()
		CROSS JOIN LATERAL unnest(x.indkey[0:x.indnkeyatts - 1]) WITH ORDINALITY AS k (attnum, ord)
		LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
		GROUP BY ic.relname`).Scan(ctx, &is); err != nil {
		return nil, nil, err
	}
	tables, columns = map[string]float64{}, map[string][]string{}
	for _, t := range ts {
		tables[t.Name] = t.Rows
	}
	for _, i := range is {
		columns[i.Name] = strings.Split(i.Columns, ",")
	}
	return tables, columns, nil
}

// explainable is whether a captured statement reads or writes tables (not BEGIN, set_config …).
func explainable(q string) bool {
	q = strings.ToUpper(strings.TrimSpace(q))
	switch {
	case strings.HasPrefix(q, "UPDATE"), strings.HasPrefix(q, "DELETE"):
		return true
	case strings.HasPrefix(q, "SELECT"), strings.HasPrefix(q, "WITH"), strings.HasPrefix(q, "INSERT"):
		return fromRE.MatchString(q) || strings.Contains(q, "ON CONFLICT")
	}
	return false
}

var fromRE = regexp.MustCompile(`\bFROM\b`)

var errRollback = errors.New("rollback")

// explain returns the plan of q as the runtime role in the city's scope, in a transaction rolled
// back at the end. A read is run (EXPLAIN ANALYZE) so the plan carries the rows each scan read;
// a write is only planned.
func explain(ctx context.Context, db *bun.DB, tenantID uuid.UUID, q capturedSQL, seqOff bool) (planNode, error) {
	var out string
	upper := strings.ToUpper(strings.TrimSpace(q.sql))
	read := strings.HasPrefix(upper, "SELECT") && !strings.Contains(upper, "FOR UPDATE")
	opts := "FORMAT JSON"
	if read && !seqOff {
		opts = "ANALYZE, FORMAT JSON"
	}
	err := tenant.InTx(ctx, db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		if seqOff {
			if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
				return err
			}
		}
		if err := tx.Tx.QueryRowContext(ctx, "EXPLAIN ("+opts+") "+q.sql, q.args...).Scan(&out); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		return planNode{}, err
	}
	var plans []struct {
		Plan planNode `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
		return planNode{}, fmt.Errorf("plan %q: %v", out, err)
	}
	return plans[0].Plan, nil
}

// planNode is the part of EXPLAIN's JSON the test reads.
type planNode struct {
	Type      string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	Index     string     `json:"Index Name"`
	Rows      float64    `json:"Actual Rows"`
	Loops     float64    `json:"Actual Loops"`
	Filtered  float64    `json:"Rows Removed by Filter"`
	Rechecked float64    `json:"Rows Removed by Index Recheck"`
	Cond      string     `json:"Index Cond"` // every scan of the city's tables has one: RLS's tenant_id
	Plans     []planNode `json:"Plans"`
}

// planProblems lists what is wrong with a plan. Without sequential scans (seqOff) any Seq Scan
// left means no index serves the statement at all, whatever the table's size.
func planProblems(p planNode, tables map[string]float64, columns map[string][]string, seqOff bool) []string {
	var out []string
	var walk func(n planNode, heap string)
	walk = func(n planNode, heap string) {
		if n.Type == "Bitmap Heap Scan" {
			heap = n.Relation
		}
		rows, tenantTable := tables[n.Relation]
		switch n.Type {
		case "Seq Scan":
			if seqOff && n.Relation != "" {
				out = append(out, fmt.Sprintf("no index serves the read of %s (sequential scan even with enable_seqscan off)", n.Relation))
			} else if tenantTable && rows >= planBigTable {
				out = append(out, fmt.Sprintf("sequential scan of %s (%.0f rows)", n.Relation, rows))
			}
		case "Index Scan", "Index Only Scan", "Bitmap Index Scan":
			rel := n.Relation
			if n.Type == "Bitmap Index Scan" {
				rel = heap
			}
			cols := columns[n.Index]
			if _, ok := tables[rel]; ok && (len(cols) == 0 || cols[0] != "tenant_id") {
				out = append(out, fmt.Sprintf("index %s of %s does not start with tenant_id (%v)", n.Index, rel, cols))
			}
			// A condition on a later column without the ones before it is checked against
			// every entry of the city: the index does not fit.
			gap := ""
			for _, c := range cols {
				used := regexp.MustCompile(`\b` + regexp.QuoteMeta(c) + `\b`).MatchString(n.Cond)
				if !used && gap == "" {
					gap = c
				} else if used && gap != "" {
					out = append(out, fmt.Sprintf("index %s of %s is searched on %s without %s: it reads every entry of the city (%s)", n.Index, rel, c, gap, n.Cond))
					break
				}
			}
		}
		if removed, kept := (n.Filtered+n.Rechecked)*n.Loops, n.Rows*n.Loops; tenantTable && rows >= planBigTable &&
			removed > 500 && removed > 4*kept {
			out = append(out, fmt.Sprintf("%s of %s (%s) reads %.0f rows to keep %.0f: no index fits the condition", n.Type, n.Relation, n.Index, removed+kept, kept))
		}
		for _, c := range n.Plans {
			walk(c, heap)
		}
	}
	walk(p, "")
	return out
}

// summary is the plan's scans on one line, for -v.
func (p planNode) summary() string {
	var b strings.Builder
	var walk func(n planNode)
	walk = func(n planNode) {
		if n.Relation != "" || n.Index != "" {
			fmt.Fprintf(&b, "[%s %s %s rows=%.0f loops=%.0f removed=%.0f cond=%s] ", n.Type, n.Relation, n.Index, n.Rows*n.Loops, n.Loops, (n.Filtered+n.Rechecked)*n.Loops, n.Cond)
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(p)
	return b.String()
}
