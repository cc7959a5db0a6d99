package jobstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel is a throwaway Redis master, one replica of it and one sentinel watching them (master
// name "m", quorum 1, down after 1 s), without persistence, on free ports; all are stopped when
// the test ends.
type Sentinel struct {
	// Master and Replica are the data nodes' addresses as started; after a failover the
	// replica is the master.
	Master, Replica string
	// Addr is the sentinel's address.
	Addr string

	t      testing.TB
	master *exec.Cmd
	// ReplicaClient and SentinelClient talk to the replica and the sentinel directly.
	ReplicaClient  *redis.Client
	SentinelClient *redis.SentinelClient
}

// StartSentinel starts the three and waits until the sentinel sees the replica healthy (it
// promotes only a replica it has fresh INFO from with its link up).
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	dir := t.TempDir()
	start := func(args ...string) *exec.Cmd {
		t.Helper()
		cmd := exec.Command("redis-server", args...)
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			t.Fatalf("redis-server (is it installed?): %v", err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	base := []string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning"}
	p1, p2, ps := FreePort(t), FreePort(t), FreePort(t)
	s := &Sentinel{t: t, Master: "127.0.0.1:" + p1, Replica: "127.0.0.1:" + p2, Addr: "127.0.0.1:" + ps}
	s.master = start(append([]string{"--port", p1}, base...)...)
	start(append([]string{"--port", p2, "--replicaof", "127.0.0.1", p1}, base...)...)
	s.ReplicaClient = redis.NewClient(&redis.Options{Addr: s.Replica, MaxRetries: -1})
	t.Cleanup(func() { s.ReplicaClient.Close() })
	ctx := context.Background()
	s.wait("replication", 20*time.Second, func() bool {
		info, err := s.ReplicaClient.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	conf := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("port %s\nbind 127.0.0.1\nprotected-mode no\nsentinel monitor m 127.0.0.1 %s 1\nsentinel down-after-milliseconds m 1000\nsentinel failover-timeout m 4000\n", ps, p1)), 0o600); err != nil {
		t.Fatal(err)
	}
	start(conf, "--sentinel", "--loglevel", "warning")
	s.SentinelClient = redis.NewSentinelClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	t.Cleanup(func() { s.SentinelClient.Close() })
	s.wait("the sentinel to see the replica healthy", 20*time.Second, func() bool {
		r, err := s.SentinelClient.Replicas(ctx, "m").Result()
		return err == nil && len(r) == 1 && r[0]["flags"] == "slave" && r[0]["master-link-status"] == "ok"
	})
	return s
}

// URL is MADOGUCHI_REDIS_URL for the sentinel, database 0.
func (s *Sentinel) URL() string { return "redis-sentinel://" + s.Addr + "/0?master=m" }

// Failover asks the sentinel to promote the replica now (SENTINEL FAILOVER), asking again while
// it answers NOGOODSLAVE (its view of the replica is being refreshed).
func (s *Sentinel) Failover() {
	s.t.Helper()
	var err error
	s.wait("the sentinel to accept the failover", 20*time.Second, func() bool {
		err = s.SentinelClient.Failover(context.Background(), "m").Err()
		return err == nil || !strings.Contains(err.Error(), "NOGOODSLAVE")
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// KillMaster kills the master process (SIGKILL): the sentinel notices after 1 s and promotes
// the replica by itself.
func (s *Sentinel) KillMaster() {
	s.t.Helper()
	if err := s.master.Process.Kill(); err != nil {
		s.t.Fatal(err)
	}
}

// WaitPromoted waits until the replica reports itself master and returns how long that took.
func (s *Sentinel) WaitPromoted(timeout time.Duration) time.Duration {
	s.t.Helper()
	t0 := time.Now()
	s.wait("the replica's promotion", timeout, func() bool {
		info, err := s.ReplicaClient.Info(context.Background(), "replication").Result()
		return err == nil && strings.Contains(info, "role:master")
	})
	return time.Since(t0)
}

func (s *Sentinel) wait(what string, timeout time.Duration, ok func() bool) {
	s.t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
	}
	s.t.Fatalf("timed out waiting for %s", what)
}
