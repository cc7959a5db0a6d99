package main

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/madoguchi/madoguchi/cmd/internal/app"
	"github.com/madoguchi/madoguchi/jobs/paging"
)

// Config is every setting madoguchi reads, loaded once from the environment. Each variable is
// listed in envVars with its default, whether it is secret, and how it is parsed; README.md has
// the same table (a test keeps them in step).
type Config struct {
	DatabaseURL      string
	OwnerDatabaseURL string
	RedisURL         string
	BaseDomain       string
	Listen           string
	SMTPURL          string
	SecretKey        []byte
	TrustedProxies   []string
	NoProxy          bool // MADOGUCHI_TRUSTED_PROXIES=none: no ingress, on purpose
	LogFormat        string
	DBMaxConns       int
	ShutdownTimeout  time.Duration
	// ShutdownDrain is how long serve keeps serving after SIGTERM with /readyz answering 503 and
	// every response closing its connection, before the graceful shutdown; 0: none.
	ShutdownDrain  time.Duration
	SecureCookies  bool
	LoginPerMinute int // citizen login posts per client IP and minute; 0: no limit
	// CitizenConcurrency is the citizens' booking requests one city may have in flight in one
	// web process before the waiting room queues arrivals; 0: no waiting room.
	CitizenConcurrency int
	// AvailabilityCacheTTL is the availability cache's backstop lifetime; 0: no cache.
	AvailabilityCacheTTL time.Duration
	// LiveMaxStreams is the live screens' open streams one web process keeps (web.LiveConfig).
	LiveMaxStreams int
	// StatusSnapshotDir keeps the status page's last snapshot on disk; "": memory and Redis only.
	StatusSnapshotDir string
	// InternalAddr is the internal listener's address (/metrics, /healthz, /readyz, the
	// Alertmanager receiver); empty: the command's default (serve and demo :9090, worker :9091).
	InternalAddr string
	// AlertmanagerToken is the bearer token of POST /api/alertmanager; empty: every post is refused (401).
	AlertmanagerToken string
	// PagingURL is the public base of paging's ack links and phone callbacks; PagingMailFrom
	// the sender of paging mail.
	PagingURL, PagingMailFrom string
	// Phone* are the Twilio-compatible phone API; an empty PhoneAPIURL means no calls.
	PhoneAPIURL, PhoneAccount, PhoneToken, PhoneFrom string
	// PagingAckTimeout re-triggers an acknowledged page still open after it (0: never);
	// PagingWatchdogWindow pages when the Watchdog heartbeat is missing longer (0: not watched).
	PagingAckTimeout, PagingWatchdogWindow time.Duration
	// PagingFallback are the contacts paged from memory while PostgreSQL is down, every
	// PagingFallbackEvery once PostgreSQL (or Redis) failed for PagingDegradedAfter.
	PagingFallback                           []paging.Contact
	PagingDegradedAfter, PagingFallbackEvery time.Duration
}

type envVar struct {
	name   string
	def    string // "" with required=false: empty allowed
	req    bool
	secret bool
	doc    string
	set    func(c *Config, v string) error
}

// envVars is the table of configuration variables, in README order.
var envVars = []envVar{
	{name: "MADOGUCHI_DATABASE_URL", req: true, secret: true, doc: "PostgreSQL URL of the runtime role (NOSUPERUSER, NOBYPASSRLS, owns nothing). Multi-host URLs with target_session_attrs=primary follow a failover (not read-write: a PostgreSQL 15+ standby reports default_transaction_read_only off).",
		set: func(c *Config, v string) error { c.DatabaseURL = v; return checkPG(v) }},
	{name: "MADOGUCHI_OWNER_DATABASE_URL", secret: true, doc: "PostgreSQL URL of the schema owner; used only by `madoguchi migrate` (and `demo`).",
		set: func(c *Config, v string) error {
			c.OwnerDatabaseURL = v
			if v == "" {
				return nil
			}
			return checkPG(v)
		}},
	{name: "MADOGUCHI_REDIS_URL", def: "redis://127.0.0.1:6379/0", secret: true, doc: "Redis (sessions, login counters, job queue): redis://[user:pass@]host:port/db, rediss://… for TLS, or with Sentinel redis-sentinel://[user:pass@]s1:26379,s2:26379,s3:26379/db?master=NAME (optional sentinel_username, sentinel_password, tls=true): the client asks the sentinels for the current master, so it follows a failover.",
		set: func(c *Config, v string) error {
			c.RedisURL = v
			_, _, err := app.ParseRedisURL(v)
			return err
		}},
	{name: "MADOGUCHI_BASE_DOMAIN", def: "localhost", doc: "Domain under which each city is served as {slug}.{BASE_DOMAIN}; callcenter., ops. and status. are reserved.",
		set: func(c *Config, v string) error {
			c.BaseDomain = strings.ToLower(v)
			if strings.ContainsAny(v, "/: ") || strings.HasPrefix(v, ".") || v == "" {
				return fmt.Errorf("want a bare domain such as example.lg.jp")
			}
			return nil
		}},
	{name: "MADOGUCHI_LISTEN", def: ":8080", doc: "Address the web server listens on.",
		set: func(c *Config, v string) error {
			c.Listen = v
			_, _, err := net.SplitHostPort(v)
			return err
		}},
	{name: "MADOGUCHI_INTERNAL_ADDR", def: "", doc: "Address of the internal listener (/metrics, /healthz, /readyz, POST /api/alertmanager), reached by the cluster network only. Empty: :9090 for serve and demo, :9091 for worker.",
		set: func(c *Config, v string) error {
			c.InternalAddr = v
			if v == "" {
				return nil
			}
			_, _, err := net.SplitHostPort(v)
			return err
		}},
	{name: "MADOGUCHI_ALERTMANAGER_TOKEN", secret: true, doc: "Bearer token Alertmanager sends to POST /api/alertmanager (http_config.authorization.credentials). Empty: the receiver refuses every post.",
		set: func(c *Config, v string) error {
			c.AlertmanagerToken = v
			if v != "" && len(v) < 16 {
				return fmt.Errorf("want at least 16 characters")
			}
			return nil
		}},
	{name: "MADOGUCHI_PAGING_URL", doc: "Public base URL of the paging mail's acknowledgement links (/ack/…) and the phone provider's callbacks (/api/paging/voice/…); route those two paths to the internal listener. Empty: https://ops.{BASE_DOMAIN}.",
		set: func(c *Config, v string) error {
			c.PagingURL = strings.TrimRight(v, "/")
			if v == "" {
				c.PagingURL = "https://ops." + c.BaseDomain
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return fmt.Errorf("want https://host")
			}
			return nil
		}},
	{name: "MADOGUCHI_PAGING_MAIL_FROM", doc: "Sender of paging mail. Empty: pager@{BASE_DOMAIN}.",
		set: func(c *Config, v string) error {
			c.PagingMailFrom = v
			if v == "" {
				c.PagingMailFrom = "pager@" + c.BaseDomain
			}
			return nil
		}},
	{name: "MADOGUCHI_PAGING_ACK_TIMEOUT", def: "0", doc: "How long an acknowledged page that is still open stays quiet before it is triggered again from its first step (e.g. 60m). 0: an acknowledgement holds until the page resolves.",
		set: func(c *Config, v string) (err error) {
			c.PagingAckTimeout, err = durationBetween(v, 0, 24*time.Hour)
			return err
		}},
	{name: "MADOGUCHI_PAGING_WATCHDOG_WINDOW", def: "0", doc: "Page when Alertmanager's always-firing Watchdog alert has not arrived for longer than this (Prometheus or Alertmanager down); set it above twice Alertmanager's repeat_interval for the Watchdog route, e.g. 15m with repeat_interval 5m. Nothing is paged before the first Watchdog arrives. 0: not watched.",
		set: func(c *Config, v string) (err error) {
			c.PagingWatchdogWindow, err = durationBetween(v, 0, 24*time.Hour)
			return err
		}},
	{name: "MADOGUCHI_PAGING_FALLBACK_CONTACTS", doc: "The contacts paged by mail and phone while PostgreSQL is down (the degraded path), separated by semicolons, each `name <mail> +phone` with mail or phone optional: `当番A <a@example.jp> +819011110001; 当番B <b@example.jp>`. Name the people of the policies' first steps. Empty: nobody is paged while PostgreSQL is down.",
		set: func(c *Config, v string) (err error) { c.PagingFallback, err = parseFallback(v); return err }},
	{name: "MADOGUCHI_PAGING_DEGRADED_AFTER", def: "30s", doc: "How long PostgreSQL must fail before a process pages the fallback contacts from memory, and how long Redis must fail before it is paged through the normal path.",
		set: func(c *Config, v string) (err error) {
			c.PagingDegradedAfter, err = durationBetween(v, time.Second, time.Hour)
			return err
		}},
	{name: "MADOGUCHI_PAGING_FALLBACK_EVERY", def: "5m", doc: "How often the degraded path notifies every fallback contact again until one acknowledges.",
		set: func(c *Config, v string) (err error) {
			c.PagingFallbackEvery, err = durationBetween(v, time.Minute, 24*time.Hour)
			return err
		}},
	{name: "MADOGUCHI_PHONE_API_URL", doc: "Base URL of a Twilio-compatible phone API (calls are POST {url}/2010-04-01/Accounts/{account}/Calls.json with Basic auth). Empty: paging places no calls.",
		set: func(c *Config, v string) error {
			c.PhoneAPIURL = strings.TrimRight(v, "/")
			if v == "" {
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return fmt.Errorf("want https://host")
			}
			return nil
		}},
	{name: "MADOGUCHI_PHONE_ACCOUNT", doc: "Account id (SID) of the phone API.",
		set: func(c *Config, v string) error { c.PhoneAccount = v; return nil }},
	{name: "MADOGUCHI_PHONE_TOKEN", secret: true, doc: "Auth token of the phone API: the Basic auth password and the key its callbacks are signed with (X-Twilio-Signature).",
		set: func(c *Config, v string) error { c.PhoneToken = v; return nil }},
	{name: "MADOGUCHI_PHONE_FROM", doc: "The calling number (E.164, e.g. +81312345678).",
		set: func(c *Config, v string) error {
			c.PhoneFrom = v
			if c.PhoneAPIURL != "" && (c.PhoneAccount == "" || c.PhoneToken == "" || !strings.HasPrefix(v, "+")) {
				return fmt.Errorf("with MADOGUCHI_PHONE_API_URL set, MADOGUCHI_PHONE_ACCOUNT, MADOGUCHI_PHONE_TOKEN and an E.164 MADOGUCHI_PHONE_FROM are required")
			}
			return nil
		}},
	{name: "MADOGUCHI_SMTP_URL", def: "smtp://127.0.0.1:1025", secret: true, doc: "SMTP server for outgoing mail: smtp://[user:pass@]host:port (STARTTLS when offered; ?starttls=required sends nothing over a connection not upgraded to TLS), smtps:// for implicit TLS.",
		set: func(c *Config, v string) error {
			c.SMTPURL = v
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Port() == "" {
				return fmt.Errorf("want smtp://host:port or smtps://host:port")
			}
			return nil
		}},
	{name: "MADOGUCHI_SECRET_KEY", req: true, secret: true, doc: "64 hex characters (32 bytes): key for HMACs of birth dates and login counters. Keep it in the secret store; changing it invalidates stored birth-date HMACs.",
		set: func(c *Config, v string) error {
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != 32 {
				return fmt.Errorf("want 64 hex characters")
			}
			c.SecretKey = b
			return nil
		}},
	{name: "MADOGUCHI_TRUSTED_PROXIES", def: "", doc: "Comma-separated CIDRs of the ingress; only from these is X-Real-IP / X-Forwarded-Proto believed. `none`: no proxy, the socket address is the client (the server faces the clients itself). `serve` refuses to start with it empty unless MADOGUCHI_BASE_DOMAIN is localhost: behind an ingress every citizen would share its address, and a few wrong logins would lock them all out.",
		set: func(c *Config, v string) error {
			c.TrustedProxies, c.NoProxy = nil, v == "none"
			if c.NoProxy {
				return nil
			}
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p == "" {
					continue
				}
				if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
					return fmt.Errorf("%q is not a CIDR or IP", p)
				}
				c.TrustedProxies = append(c.TrustedProxies, p)
			}
			return nil
		}},
	{name: "MADOGUCHI_LOG_FORMAT", def: "auto", doc: "json, text, or auto (text on a terminal, JSON otherwise).",
		set: func(c *Config, v string) error {
			c.LogFormat = v
			if v != "json" && v != "text" && v != "auto" {
				return fmt.Errorf("want json, text or auto")
			}
			return nil
		}},
	{name: "MADOGUCHI_DB_MAX_CONNS", def: "20", doc: "Maximum PostgreSQL connections per process.",
		set: func(c *Config, v string) (err error) { c.DBMaxConns, err = intBetween(v, 1, 500); return err }},
	{name: "MADOGUCHI_CITIZEN_LOGIN_PER_MINUTE", def: "60", doc: "Citizen login attempts (web form and add-a-family-member) one client IP may post per minute and web process before a 429 page; 0 turns the flood limit off (the login guard's lockouts stay). Set it with MADOGUCHI_TRUSTED_PROXIES, or every citizen shares the ingress's address.",
		set: func(c *Config, v string) (err error) { c.LoginPerMinute, err = intBetween(v, 0, 100000); return err }},
	{name: "MADOGUCHI_CITIZEN_CONCURRENCY", def: "16", doc: "Citizen booking requests (web pages from the login form on, and the JSON API) one city may have in flight in one web process; later arrivals wait in the waiting room: a queue page in order of arrival that refreshes itself (the API answers 429 with Retry-After). Staff pages, the home page, static files and probes never queue. Per process: each web replica admits its own, so a city's total is this times the replicas. While several cities are busy they share it (each gets this divided among them, at least 1; see Waiting room), so the default keeps the citizens' requests of all cities within the default 20 database connections with room for staff. 0 turns the waiting room off.",
		set: func(c *Config, v string) (err error) { c.CitizenConcurrency, err = intBetween(v, 0, 10000); return err }},
	{name: "MADOGUCHI_LIVE_MAX_STREAMS", def: "2000", doc: "Live screens (the staff dashboard and bookings list, the call center's availability) one web process keeps open at once; each is a Server-Sent-Event stream that a change of places updates without reloading. Above it a screen's stream is refused with 503 and Retry-After and the screen tries again later (it still works by reloading). An open stream costs some 30 KB and no database work: each change is drawn once per city and screen, whatever the number of streams.",
		set: func(c *Config, v string) (err error) { c.LiveMaxStreams, err = intBetween(v, 1, 100000); return err }},
	{name: "MADOGUCHI_AVAILABILITY_CACHE_TTL", def: "1s", doc: "How long a web process keeps a day of availability in memory when no change of it was announced. Every booking, change, cancellation, hold and schedule change drops the days it touched in every web process at once (through Redis); while Redis is unreachable the cache is not used. This is only the bound for a change whose message was lost. 0 turns the cache off.",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || d > time.Hour {
				return fmt.Errorf("want a duration from 0 to 1h, such as 1s")
			}
			c.AvailabilityCacheTTL = d
			return nil
		}},
	{name: "MADOGUCHI_STATUS_SNAPSHOT_DIR", doc: "Directory where each web process keeps the status page's last rendered snapshot (HTML in both languages, Atom feed, JSON), so a process restarted while PostgreSQL and Redis are both down still serves it; in Kubernetes an emptyDir. Empty: memory and Redis only.",
		set: func(c *Config, v string) error { c.StatusSnapshotDir = v; return nil }},
	{name: "MADOGUCHI_SHUTDOWN_TIMEOUT", def: "25s", doc: "How long SIGTERM waits for in-flight requests and tasks.",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("want a duration such as 25s")
			}
			c.ShutdownTimeout = d
			return nil
		}},
	{name: "MADOGUCHI_SHUTDOWN_DRAIN", def: "5s", doc: "How long `serve` keeps serving after SIGTERM before its graceful shutdown: /readyz answers 503 (draining) and every response closes its connection, so load balancers and the ingress stop sending requests and drop their kept-alive connections while nothing is refused. 0: none.",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return fmt.Errorf("want a duration such as 5s, or 0")
			}
			c.ShutdownDrain = d
			return nil
		}},
	{name: "MADOGUCHI_SECURE_COOKIES", def: "auto", doc: "true: cookies are Secure and __Host- prefixed (HTTPS). false: plain cookies for http://*.localhost. auto: false when BASE_DOMAIN is localhost.",
		set: func(c *Config, v string) error {
			switch v {
			case "true":
				c.SecureCookies = true
			case "false":
				c.SecureCookies = false
			case "auto":
				c.SecureCookies = c.BaseDomain != "localhost" // BaseDomain is parsed earlier in the table
			default:
				return fmt.Errorf("want true, false or auto")
			}
			return nil
		}},
}

// LoadConfig reads every variable through getenv and reports all missing or malformed ones at once,
// each by name.
func LoadConfig(getenv func(string) string) (*Config, error) {
	c := &Config{}
	var problems []string
	for _, v := range envVars {
		val := strings.TrimSpace(getenv(v.name))
		if val == "" {
			if v.req {
				problems = append(problems, v.name+": required")
				continue
			}
			val = v.def
		}
		if err := v.set(c, val); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", v.name, err))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("configuration:\n  %s", strings.Join(problems, "\n  "))
	}
	return c, nil
}

// checkProxies refuses to serve a real domain with MADOGUCHI_TRUSTED_PROXIES left empty: behind an
// ingress every request would come from its address, so the per-client limits would count the
// ingress and a few wrong logins would lock every citizen out. "none" says there is no ingress.
func (c *Config) checkProxies() error {
	if c.BaseDomain != "localhost" && len(c.TrustedProxies) == 0 && !c.NoProxy {
		return fmt.Errorf("MADOGUCHI_TRUSTED_PROXIES: empty with MADOGUCHI_BASE_DOMAIN=%s; set the ingress's CIDRs, or none when clients connect to the server directly", c.BaseDomain)
	}
	return nil
}

func checkPG(v string) error {
	if _, err := pgx.ParseConfig(v); err != nil {
		return fmt.Errorf("not a PostgreSQL URL")
	}
	return nil
}

// durationBetween parses a duration within [lo, hi].
func durationBetween(v string, lo, hi time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		return 0, fmt.Errorf("want a duration from %s to %s", lo, hi)
	}
	return d, nil
}

// parseFallback reads "name <mail> +phone; …" (mail or phone optional).
func parseFallback(v string) ([]paging.Contact, error) {
	var out []paging.Contact
	for _, part := range strings.Split(v, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		c := paging.Contact{Locale: "ja"}
		if i := strings.LastIndex(part, " +"); i >= 0 {
			c.Phone, part = strings.TrimSpace(part[i+1:]), strings.TrimSpace(part[:i])
		}
		if i := strings.Index(part, "<"); i >= 0 && strings.HasSuffix(part, ">") {
			c.Email, part = part[i+1:len(part)-1], strings.TrimSpace(part[:i])
		}
		c.Name = part
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("contact %q: want `name <mail> +phone` with a valid mail or E.164 phone", part)
		}
		out = append(out, c)
	}
	return out, nil
}

// intBetween parses a whole number within [lo, hi].
func intBetween(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("want an integer %d–%d", lo, hi)
	}
	return n, nil
}
