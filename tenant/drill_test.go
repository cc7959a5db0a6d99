//go:build drill

package tenant_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/jobs/jobstest"
	"github.com/madoguchi/madoguchi/tenant"
)

// TestDrillPostgresFailover (make drill; not part of make test) runs a PostgreSQL primary and a
// synchronous standby on loopback ports, writes through tenant.OpenDB with a multi-host URL
// (target_session_attrs=primary) and tenant.InTx from several goroutines, kills the primary,
// promotes the standby and reports failed writes and the gap; every acknowledged write must be
// on the promoted server. It runs the PostgreSQL binaries as the postgres user.
func TestDrillPostgresFailover(t *testing.T) {
	pair := jobstest.StartPostgresPair(t)
	ctx := context.Background()
	admin, err := tenant.OpenDB(ctx, pair.URL(pair.PrimaryPort), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(ctx, "CREATE TABLE drill_writes (id uuid PRIMARY KEY, worker int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())"); err != nil {
		t.Fatal(err)
	}
	admin.Close()

	dsn := fmt.Sprintf("postgres://postgres@%s/postgres?target_session_attrs=primary&connect_timeout=2", pair.Hosts())
	db, err := tenant.OpenDB(ctx, dsn, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	scope := uuid.New()
	var (
		mu       sync.Mutex
		acked    []uuid.UUID
		ackTimes []time.Time
		failed   int
		errs     = map[string]int{}
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := uuid.New()
				cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err := tenant.InTx(cctx, db, scope, func(ctx context.Context, tx bun.Tx) error {
					_, err := tx.ExecContext(ctx, "INSERT INTO drill_writes (id, worker) VALUES (?, ?)", id, w)
					return err
				})
				cancel()
				mu.Lock()
				if err == nil {
					acked = append(acked, id)
					ackTimes = append(ackTimes, time.Now())
				} else {
					failed++
					msg := err.Error()
					if len(msg) > 80 {
						msg = msg[:80]
					}
					errs[msg]++
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(50 * time.Millisecond) // a client's pause before its next try
				}
			}
		}()
	}
	time.Sleep(3 * time.Second)
	killed := time.Now()
	pair.KillPrimary()
	time.Sleep(time.Second) // the time an operator or an operator's controller takes to decide
	pair.Promote()
	promoted := time.Now()
	time.Sleep(5 * time.Second)
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	sort.Slice(ackTimes, func(i, j int) bool { return ackTimes[i].Before(ackTimes[j]) })
	var gap time.Duration
	for i := 1; i < len(ackTimes); i++ {
		if d := ackTimes[i].Sub(ackTimes[i-1]); d > gap {
			gap = d
		}
	}
	after := 0
	for _, at := range ackTimes {
		if at.After(promoted) {
			after++
		}
	}
	check, err := tenant.OpenDB(ctx, pair.URL(pair.StandbyPort), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	var present int
	ids := make([]string, len(acked))
	for i, id := range acked {
		ids[i] = id.String()
	}
	if err := check.QueryRowContext(ctx, "SELECT count(*) FROM drill_writes WHERE id = ANY(?::uuid[])", "{"+strings.Join(ids, ",")+"}").Scan(&present); err != nil {
		t.Fatal(err)
	}
	t.Logf("PostgreSQL failover drill: %d writes acknowledged (%d after the promotion), %d failed; longest gap between acknowledged writes %v (primary killed, promotion after %v)",
		len(acked), after, failed, gap.Round(time.Millisecond), promoted.Sub(killed).Round(time.Millisecond))
	for m, n := range errs {
		t.Logf("  %4d × %s", n, m)
	}
	if present != len(acked) {
		t.Errorf("%d of %d acknowledged writes are on the promoted server", present, len(acked))
	}
	if after == 0 {
		t.Error("no write succeeded after the promotion: the pool did not follow the new primary")
	}
}

// TestDrillPointInTimeRestore (make drill): a primary archiving its WAL, a base backup, one
// booking, a moment, a second booking; a restore of the base backup replayed to that moment must
// hold exactly the first.
func TestDrillPointInTimeRestore(t *testing.T) {
	bin := pgBin(t)
	dir, err := os.MkdirTemp("", "madoguchi-pitr-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	as := asPostgres(t)
	if out, err := exec.Command("chown", "postgres:postgres", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	arch, d1, d2 := filepath.Join(dir, "archive"), filepath.Join(dir, "primary"), filepath.Join(dir, "restore")
	as("mkdir", arch)
	p1, p2 := jobstest.FreePort(t), jobstest.FreePort(t)
	as(bin+"/initdb", "-D", d1, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	appendFile(t, filepath.Join(d1, "postgresql.conf"), fmt.Sprintf("\nport = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nwal_level = replica\narchive_mode = on\narchive_command = 'cp %%p %s/%%f'\nfsync = off\n", p1, dir, arch))
	appendFile(t, filepath.Join(d1, "pg_hba.conf"), "\nhost replication all 127.0.0.1/32 trust\n")
	as(bin+"/pg_ctl", "-D", d1, "-l", filepath.Join(dir, "primary.log"), "-w", "start")
	defer exec.Command("runuser", "-u", "postgres", "--", bin+"/pg_ctl", "-D", d1, "-m", "immediate", "stop").Run()
	ctx := context.Background()
	db, err := tenant.OpenDB(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres", p1), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE drill_bookings (name text PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())"); err != nil {
		t.Fatal(err)
	}
	as(bin+"/pg_basebackup", "-h", "127.0.0.1", "-p", p1, "-U", "postgres", "-D", d2, "-X", "none", "--no-sync")
	if _, err := db.ExecContext(ctx, "INSERT INTO drill_bookings (name) VALUES ('earlier')"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	var target string
	if err := db.QueryRowContext(ctx, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'").Scan(&target); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if _, err := db.ExecContext(ctx, "INSERT INTO drill_bookings (name) VALUES ('later')"); err != nil {
		t.Fatal(err)
	}
	var last string
	if err := db.QueryRowContext(ctx, "SELECT pg_walfile_name(pg_switch_wal())").Scan(&last); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var archived string
		_ = db.QueryRowContext(ctx, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver").Scan(&archived)
		if archived >= last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("WAL %s not archived", last)
		}
	}
	db.Close()
	as(bin+"/pg_ctl", "-D", d1, "-m", "immediate", "stop")

	started := time.Now()
	appendFile(t, filepath.Join(d2, "postgresql.conf"), fmt.Sprintf("\nport = %s\narchive_mode = off\nrestore_command = 'cp %s/%%f %%p'\nrecovery_target_time = '%s'\nrecovery_target_action = 'promote'\n", p2, arch, target))
	as("touch", filepath.Join(d2, "recovery.signal"))
	as(bin+"/pg_ctl", "-D", d2, "-l", filepath.Join(dir, "restore.log"), "-w", "start")
	defer exec.Command("runuser", "-u", "postgres", "--", bin+"/pg_ctl", "-D", d2, "-m", "immediate", "stop").Run()
	rdb, err := tenant.OpenDB(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres?target_session_attrs=primary", p2), 1)
	for deadline := time.Now().Add(60 * time.Second); err != nil && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		rdb, err = tenant.OpenDB(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres?target_session_attrs=primary", p2), 1)
	}
	if err != nil {
		t.Fatalf("restored server never accepted writes: %v", err)
	}
	defer rdb.Close()
	var names []string
	if err := rdb.NewRaw("SELECT name FROM drill_bookings ORDER BY name").Scan(ctx, &names); err != nil {
		t.Fatal(err)
	}
	t.Logf("point-in-time restore drill: target %s, restored and promoted in %v, bookings present %v", target, time.Since(started).Round(time.Millisecond), names)
	if strings.Join(names, ",") != "earlier" {
		t.Errorf("restored bookings %v, want exactly [earlier]", names)
	}
}

func pgBin(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("PG_BIN"); bin != "" {
		return bin
	}
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(m)
	if len(m) == 0 {
		t.Fatal("no PostgreSQL binaries (set PG_BIN)")
	}
	return m[len(m)-1]
}

// asPostgres runs a command as the postgres user (initdb and the server refuse root).
func asPostgres(t *testing.T) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		out, err := exec.Command("runuser", append([]string{"-u", "postgres", "--"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}
