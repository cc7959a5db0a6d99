package app

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

	"github.com/madoguchi/madoguchi/jobs/jobstest"
)

func TestParseRedisURL(t *testing.T) {
	_, f, err := ParseRedisURL("redis-sentinel://app:pw@10.0.0.1:26379,10.0.0.2:26379,s3.example:26379/2?master=madoguchi&sentinel_password=spw")
	if err != nil || f == nil {
		t.Fatal(f, err)
	}
	if f.MasterName != "madoguchi" || len(f.SentinelAddrs) != 3 || f.SentinelAddrs[2] != "s3.example:26379" ||
		f.Username != "app" || f.Password != "pw" || f.SentinelPassword != "spw" || f.DB != 2 || f.TLSConfig != nil {
		t.Fatalf("%+v", f)
	}
	if o, _, err := ParseRedisURL("redis://127.0.0.1:6379/0"); err != nil || o == nil || o.Addr != "127.0.0.1:6379" {
		t.Fatal(o, err)
	}
	for _, bad := range []string{
		"http://127.0.0.1:6379",
		"redis-sentinel://127.0.0.1:26379/0",                  // no master
		"redis-sentinel://127.0.0.1/0?master=m",               // no port
		"redis-sentinel://127.0.0.1:26379/x?master=m",         // db
		"redis-sentinel://127.0.0.1:26379/0?master=m&mastr=n", // unknown parameter
		"redis-sentinel://127.0.0.1:26379,:26379/0?master=m",  // empty host
		"redis-sentinel://127.0.0.1:26379/0?master=m&tls=yes", // tls
		"redis://",
	} {
		if _, _, err := ParseRedisURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestRedisSentinelFailover: a client from a redis-sentinel:// URL writes to the master, and
// after the sentinel promotes the replica its writes go to the new master without a restart.
func TestRedisSentinelFailover(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	start := func(args ...string) {
		t.Helper()
		cmd := exec.Command("redis-server", args...)
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			t.Fatalf("redis-server: %v", err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
	wait := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if ok() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s", what)
	}
	base := []string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning"}
	p1, p2, ps := jobstest.FreePort(t), jobstest.FreePort(t), jobstest.FreePort(t)
	start(append([]string{"--port", p1}, base...)...)
	start(append([]string{"--port", p2, "--replicaof", "127.0.0.1", p1}, base...)...)
	replica := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + p2, MaxRetries: -1})
	defer replica.Close()
	wait("replication", func() bool {
		info, err := replica.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	conf := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("port %s\nbind 127.0.0.1\nprotected-mode no\nsentinel monitor m 127.0.0.1 %s 1\nsentinel down-after-milliseconds m 1000\nsentinel failover-timeout m 4000\n", ps, p1)), 0o600); err != nil {
		t.Fatal(err)
	}
	start(conf, "--sentinel", "--loglevel", "warning")
	sentinel := redis.NewSentinelClient(&redis.Options{Addr: "127.0.0.1:" + ps, MaxRetries: -1})
	defer sentinel.Close()
	// The sentinel promotes only a replica it has fresh INFO from with its link up: wait for that,
	// not just for the replica to be listed.
	wait("the sentinel to see the replica healthy", func() bool {
		r, err := sentinel.Replicas(ctx, "m").Result()
		return err == nil && len(r) == 1 && r[0]["flags"] == "slave" && r[0]["master-link-status"] == "ok"
	})

	c, err := NewRedis("redis-sentinel://127.0.0.1:" + ps + "/0?master=m")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	wait("the write to reach the replica", func() bool { return replica.Get(ctx, "before").Val() == "1" })
	// NOGOODSLAVE while the sentinel's view of the replica is still being refreshed: ask again.
	var ferr error
	wait("the sentinel to accept the failover", func() bool {
		ferr = sentinel.Failover(ctx, "m").Err()
		return ferr == nil || !strings.Contains(ferr.Error(), "NOGOODSLAVE")
	})
	if ferr != nil {
		t.Fatal(ferr)
	}
	wait("the replica's promotion", func() bool {
		info, err := replica.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "role:master")
	})
	// The same client, no restart: writes succeed again and land on the promoted server.
	wait("a write through the client", func() bool { return c.Set(ctx, "after", "2", 0).Err() == nil && replica.Get(ctx, "after").Val() == "2" })
	if v := c.Get(ctx, "before").Val(); v != "1" {
		t.Fatalf("before = %q after the failover", v)
	}
}
