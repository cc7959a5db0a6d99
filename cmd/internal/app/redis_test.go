package app

import (
	"context"
	"testing"
	"time"

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
	s := jobstest.StartSentinel(t)
	replica := s.ReplicaClient
	wait := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if ok() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s", what)
	}
	c, err := NewRedis(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	wait("the write to reach the replica", func() bool { return replica.Get(ctx, "before").Val() == "1" })
	s.Failover()
	s.WaitPromoted(20 * time.Second)
	// The same client, no restart: writes succeed again and land on the promoted server.
	wait("a write through the client", func() bool { return c.Set(ctx, "after", "2", 0).Err() == nil && replica.Get(ctx, "after").Val() == "2" })
	if v := c.Get(ctx, "before").Val(); v != "1" {
		t.Fatalf("before = %q after the failover", v)
	}
}
