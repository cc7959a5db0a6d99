package app

import (
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// NewRedis returns the one Redis client of a process (sessions, login counters, the slot change
// feed and, through asynq's *FromRedisClient constructors, the job queue) for
// MADOGUCHI_REDIS_URL:
//
//	redis://[user:password@]host:port/db, rediss://…   one server
//	redis-sentinel://[user:password@]host1:26379,host2:26379,host3:26379/db?master=NAME
//	    [&sentinel_username=…&sentinel_password=…][&tls=true]
//
// With sentinels the client asks them for the current master at every (re)connection, so after
// a failover new connections go to the promoted replica; connections to the old master fail
// and are redialled (READONLY from a demoted master closes the connection too). The user and
// password are the data nodes'; the sentinels' own credentials, if any, are the query's.
func NewRedis(rawURL string) (*redis.Client, error) {
	single, failover, err := ParseRedisURL(rawURL)
	if err != nil {
		return nil, err
	}
	if failover != nil {
		return redis.NewFailoverClient(failover), nil
	}
	return redis.NewClient(single), nil
}

// ParseRedisURL reads MADOGUCHI_REDIS_URL: exactly one of the results is non-nil without error.
func ParseRedisURL(rawURL string) (*redis.Options, *redis.FailoverOptions, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, errors.New("want redis://host:port/db or redis-sentinel://host1:port,host2:port/db?master=NAME")
	}
	if u.Scheme != "redis-sentinel" {
		if u.Scheme != "redis" && u.Scheme != "rediss" || u.Host == "" {
			return nil, nil, errors.New("want redis://host:port/db, rediss://… or redis-sentinel://host1:port,host2:port/db?master=NAME")
		}
		opt, err := redis.ParseURL(rawURL)
		return opt, nil, err
	}
	q := u.Query()
	o := &redis.FailoverOptions{
		MasterName:       q.Get("master"),
		SentinelUsername: q.Get("sentinel_username"),
		SentinelPassword: q.Get("sentinel_password"),
	}
	if o.MasterName == "" {
		return nil, nil, errors.New("redis-sentinel://: the master's name is required (?master=NAME)")
	}
	for _, k := range []string{"master", "sentinel_username", "sentinel_password", "tls"} {
		q.Del(k)
	}
	if len(q) > 0 {
		return nil, nil, errors.New("redis-sentinel://: unknown parameter (master, sentinel_username, sentinel_password, tls)")
	}
	for _, h := range strings.Split(u.Host, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" || port == "" {
			return nil, nil, errors.New("redis-sentinel://: want host:port for every sentinel")
		}
		o.SentinelAddrs = append(o.SentinelAddrs, h)
	}
	if u.User != nil {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		if o.DB, err = strconv.Atoi(db); err != nil || o.DB < 0 {
			return nil, nil, errors.New("redis-sentinel://: the database is a number (/0)")
		}
	}
	if v := u.Query().Get("tls"); v == "true" {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12} // server name: each address's host
	} else if v != "" && v != "false" {
		return nil, nil, errors.New("redis-sentinel://: tls=true or tls=false")
	}
	return nil, o, nil
}
