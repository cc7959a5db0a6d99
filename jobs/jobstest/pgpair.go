package jobstest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver for database/sql
)

// PostgresPair is a PostgreSQL primary and a synchronous streaming standby of it (initdb,
// pg_basebackup) on free loopback ports, for failover drills; both are stopped when the test
// ends. Every commit the primary acknowledges is on the standby.
type PostgresPair struct {
	// PrimaryPort and StandbyPort are the servers' ports as started; after Promote the
	// standby is the primary.
	PrimaryPort, StandbyPort string

	t                testing.TB
	bin, dir, d1, d2 string
}

// StartPostgresPair creates both servers and waits until the standby is synchronous.
func StartPostgresPair(t testing.TB) *PostgresPair {
	t.Helper()
	dir, err := os.MkdirTemp("", "mdg-pgpair-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chown", "postgres:postgres", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
	}
	p := &PostgresPair{t: t, dir: dir, PrimaryPort: FreePort(t), StandbyPort: FreePort(t),
		d1: filepath.Join(dir, "primary"), d2: filepath.Join(dir, "standby")}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
		p.bin = filepath.Dir(m[len(m)-1])
	}
	p.run("initdb", "-D", p.d1, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale", "C", "--no-sync")
	p.appendConf(filepath.Join(p.d1, "postgresql.conf"), fmt.Sprintf("\nport = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nwal_level = replica\nsynchronous_standby_names = '*'\nsynchronous_commit = on\nmax_wal_senders = 4\nmax_connections = 200\nfsync = off\n", p.PrimaryPort, dir))
	p.appendConf(filepath.Join(p.d1, "pg_hba.conf"), "\nhost replication all 127.0.0.1/32 trust\n")
	p.run("pg_ctl", "-D", p.d1, "-l", filepath.Join(dir, "primary.log"), "-w", "start")
	t.Cleanup(func() { p.stop(p.d1) })
	p.run("pg_basebackup", "-h", "127.0.0.1", "-p", p.PrimaryPort, "-U", "postgres", "-D", p.d2, "-R", "-X", "stream", "--no-sync")
	p.appendConf(filepath.Join(p.d2, "postgresql.conf"), fmt.Sprintf("\nport = %s\nsynchronous_standby_names = ''\n", p.StandbyPort))
	p.run("pg_ctl", "-D", p.d2, "-l", filepath.Join(dir, "standby.log"), "-w", "start")
	t.Cleanup(func() { p.stop(p.d2) })

	db, err := sql.Open("pgx", p.URL(p.PrimaryPort))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var state string
		_ = db.QueryRowContext(context.Background(), "SELECT coalesce((SELECT sync_state FROM pg_stat_replication LIMIT 1), '')").Scan(&state)
		if state == "sync" {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatal("the standby never became synchronous")
		}
	}
}

// URL is the superuser URL of the server on port.
func (p *PostgresPair) URL(port string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable", port)
}

// Hosts is both servers as a multi-host URL's host list, primary first.
func (p *PostgresPair) Hosts() string {
	return "127.0.0.1:" + p.PrimaryPort + ",127.0.0.1:" + p.StandbyPort
}

// KillPrimary stops the primary at once (immediate mode: no checkpoint, clients cut off).
func (p *PostgresPair) KillPrimary() { p.run("pg_ctl", "-D", p.d1, "-m", "immediate", "stop") }

// Promote makes the standby the primary and waits until it accepts writes.
func (p *PostgresPair) Promote() { p.run("pg_ctl", "-D", p.d2, "-w", "promote") }

func (p *PostgresPair) stop(data string) {
	_ = p.command("pg_ctl", "-D", data, "-m", "immediate", "stop").Run()
}

// command runs a PostgreSQL program as the postgres user when the test runs as root (initdb and
// the server refuse root).
func (p *PostgresPair) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(p.bin, name)
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (p *PostgresPair) run(name string, args ...string) {
	p.t.Helper()
	if out, err := p.command(name, args...).CombinedOutput(); err != nil {
		p.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// appendConf appends s to a server's configuration file (owned by the postgres user; the test
// may run as root, which can write it).
func (p *PostgresPair) appendConf(path, s string) {
	p.t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		p.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		p.t.Fatal(err)
	}
}
