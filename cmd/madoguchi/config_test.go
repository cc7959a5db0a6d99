package main

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	env := map[string]string{
		"MADOGUCHI_DATABASE_URL":             "postgres://app@db1:5432,db2:5432/madoguchi?target_session_attrs=primary",
		"MADOGUCHI_OWNER_DATABASE_URL":       "postgres://owner@db1/madoguchi",
		"MADOGUCHI_REDIS_URL":                "redis://redis:6379/2",
		"MADOGUCHI_BASE_DOMAIN":              "Example.LG.JP",
		"MADOGUCHI_LISTEN":                   "127.0.0.1:9000",
		"MADOGUCHI_SMTP_URL":                 "smtps://u:p@mail:465",
		"MADOGUCHI_SECRET_KEY":               strings.Repeat("ab", 32),
		"MADOGUCHI_TRUSTED_PROXIES":          "10.0.0.0/8, 192.168.1.1",
		"MADOGUCHI_LOG_FORMAT":               "json",
		"MADOGUCHI_DB_MAX_CONNS":             "40",
		"MADOGUCHI_CITIZEN_LOGIN_PER_MINUTE": "120",
		"MADOGUCHI_CITIZEN_CONCURRENCY":      "8",
		"MADOGUCHI_AVAILABILITY_CACHE_TTL":   "2s",
		"MADOGUCHI_LIVE_MAX_STREAMS":         "500",
		"MADOGUCHI_STATUS_SNAPSHOT_DIR":      "/var/lib/madoguchi/status",
		"MADOGUCHI_SHUTDOWN_TIMEOUT":         "10s",
		"MADOGUCHI_SECURE_COOKIES":           "auto",
	}
	got, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		DatabaseURL:          env["MADOGUCHI_DATABASE_URL"],
		OwnerDatabaseURL:     env["MADOGUCHI_OWNER_DATABASE_URL"],
		RedisURL:             "redis://redis:6379/2",
		BaseDomain:           "example.lg.jp",
		Listen:               "127.0.0.1:9000",
		SMTPURL:              "smtps://u:p@mail:465",
		SecretKey:            []byte(strings.Repeat("\xab", 32)),
		TrustedProxies:       []string{"10.0.0.0/8", "192.168.1.1"},
		LogFormat:            "json",
		DBMaxConns:           40,
		LoginPerMinute:       120,
		CitizenConcurrency:   8,
		ShutdownTimeout:      10 * time.Second,
		ShutdownDrain:        5 * time.Second,
		SecureCookies:        true,
		AvailabilityCacheTTL: 2 * time.Second,
		LiveMaxStreams:       500,
		StatusSnapshotDir:    "/var/lib/madoguchi/status",
		PagingURL:            "https://ops.example.lg.jp", // the defaults follow BASE_DOMAIN
		PagingMailFrom:       "pager@example.lg.jp",
		PagingDegradedAfter:  30 * time.Second,
		PagingFallbackEvery:  5 * time.Minute,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadConfig = %+v\nwant %+v", got, want)
	}
}

func TestLoadConfigReportsEveryBadVariable(t *testing.T) {
	env := map[string]string{
		"MADOGUCHI_REDIS_URL":                "http://nope",
		"MADOGUCHI_LISTEN":                   "8080",
		"MADOGUCHI_DB_MAX_CONNS":             "lots",
		"MADOGUCHI_CITIZEN_LOGIN_PER_MINUTE": "-1",
		"MADOGUCHI_CITIZEN_CONCURRENCY":      "many",
		"MADOGUCHI_SECRET_KEY":               "short",
	}
	_, err := LoadConfig(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("LoadConfig accepted bad values")
	}
	for _, name := range []string{"MADOGUCHI_DATABASE_URL: required", "MADOGUCHI_REDIS_URL", "MADOGUCHI_LISTEN", "MADOGUCHI_DB_MAX_CONNS", "MADOGUCHI_CITIZEN_LOGIN_PER_MINUTE", "MADOGUCHI_CITIZEN_CONCURRENCY", "MADOGUCHI_SECRET_KEY"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestPagingFallbackContacts(t *testing.T) {
	env := map[string]string{"MADOGUCHI_DATABASE_URL": "postgres://app@localhost/m", "MADOGUCHI_SECRET_KEY": strings.Repeat("0", 64),
		"MADOGUCHI_PAGING_FALLBACK_CONTACTS": "当番A <a@example.jp> +819011110001; 当番B <b@example.jp>;当番C +819011110003",
		"MADOGUCHI_PAGING_ACK_TIMEOUT":       "60m", "MADOGUCHI_PAGING_WATCHDOG_WINDOW": "15m"}
	c, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.PagingFallback {
		got = append(got, p.Name+"|"+p.Email+"|"+p.Phone)
	}
	want := []string{"当番A|a@example.jp|+819011110001", "当番B|b@example.jp|", "当番C||+819011110003"}
	if !reflect.DeepEqual(got, want) || c.PagingAckTimeout != time.Hour || c.PagingWatchdogWindow != 15*time.Minute {
		t.Errorf("fallback = %q, ack timeout %s, window %s", got, c.PagingAckTimeout, c.PagingWatchdogWindow)
	}
	for _, bad := range []string{"<a@example.jp>", "当番A <not-a-mail>", "当番A +81-90", "当番A"} {
		env["MADOGUCHI_PAGING_FALLBACK_CONTACTS"] = bad
		if _, err := LoadConfig(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "MADOGUCHI_PAGING_FALLBACK_CONTACTS") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestDefaults(t *testing.T) {
	env := map[string]string{"MADOGUCHI_DATABASE_URL": "postgres://app@localhost/m", "MADOGUCHI_SECRET_KEY": strings.Repeat("0", 64)}
	c, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseDomain != "localhost" || c.Listen != ":8080" || c.SecureCookies || c.AvailabilityCacheTTL != time.Second || c.CitizenConcurrency != 16 {
		t.Errorf("defaults: %+v", c)
	}
}

// TestREADMEListsEveryVariable keeps the README's configuration table in step with envVars.
func TestREADMEListsEveryVariable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range envVars {
		if !strings.Contains(string(b), "| `"+v.name+"` |") {
			t.Errorf("README.md has no table row for %s", v.name)
		}
	}
}

// TestServeRefusesEmptyTrustedProxies: serve does not start on a real domain with
// MADOGUCHI_TRUSTED_PROXIES empty (behind an ingress every citizen would share its address);
// "none" says so on purpose, and localhost (development) needs nothing.
func TestServeRefusesEmptyTrustedProxies(t *testing.T) {
	env := map[string]string{
		"MADOGUCHI_DATABASE_URL": "postgres://app@127.0.0.1:1/none", "MADOGUCHI_REDIS_URL": "redis://127.0.0.1:1/0",
		"MADOGUCHI_BASE_DOMAIN": "example.lg.jp", "MADOGUCHI_SMTP_URL": "smtp://127.0.0.1:1",
		"MADOGUCHI_SECRET_KEY": strings.Repeat("ab", 32),
	}
	err := runAt(t.Context(), []string{"serve"}, func(k string) string { return env[k] }, os.Stdout, os.Stderr, time.Now)
	if err == nil || !strings.Contains(err.Error(), "MADOGUCHI_TRUSTED_PROXIES") {
		t.Fatalf("serve with no trusted proxies on example.lg.jp = %v, want a refusal naming MADOGUCHI_TRUSTED_PROXIES", err)
	}
	for _, tc := range []struct {
		domain, proxies string
		ok              bool
	}{
		{"example.lg.jp", "", false},
		{"example.lg.jp", "none", true},
		{"example.lg.jp", "10.0.0.0/8", true},
		{"localhost", "", true},
	} {
		env["MADOGUCHI_BASE_DOMAIN"], env["MADOGUCHI_TRUSTED_PROXIES"] = tc.domain, tc.proxies
		cfg, err := LoadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.checkProxies(); (err == nil) != tc.ok {
			t.Errorf("%s with MADOGUCHI_TRUSTED_PROXIES=%q: %v, want ok=%v", tc.domain, tc.proxies, err, tc.ok)
		}
		if tc.proxies == "none" && (len(cfg.TrustedProxies) != 0 || !cfg.NoProxy) {
			t.Errorf("none = %v %v, want no proxies on purpose", cfg.TrustedProxies, cfg.NoProxy)
		}
	}
}
