// Package slotfeed tells every madoguchi process which days of which locations of a city just
// changed their places or slots: a booking, a change, a cancellation, a hold taken or given back,
// a schedule change, slot generation. It is Redis pub/sub, one channel per city
// (ChannelPrefix + the tenant id), one JSON message per committed change (Change).
//
// The web processes drop those days from their availability caches (booking.SlotCache); the
// call-center console's live screens subscribe to the same channels to refresh within a second.
// Pub/sub delivers only to subscribers connected at the moment of publishing: a subscriber must
// treat a lost subscription as "anything may have changed" (OnLive(false)), and a new one as a
// fresh start (OnLive(true)). Subscriber does exactly that, and also notices a connection that
// went silent (a ping every Interval).
package slotfeed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// ChannelPrefix starts every city's channel: "madoguchi:slots:{tenant id}".
const ChannelPrefix = "madoguchi:slots:"

// Channel is the Redis channel of a city's changes.
func Channel(tenantID uuid.UUID) string { return ChannelPrefix + tenantID.String() }

// Version is the message format's version (Change.V). A subscriber that gets a newer version, or a
// message it cannot read, treats it as a change of every day of the city named by the channel.
const Version = 1

// Change is one message: after a commit, these days of these locations of one city may show
// other places or other slots than before. It is the JSON published on the city's channel, e.g.
//
//	{"v":1,"tenant":"0b5…","origin":"web-7f…","days":[{"location":"9c1…","from":"2026-12-01","to":"2026-12-01"}]}
//
// Days empty means every day of every location of the city.
type Change struct {
	V      int       `json:"v"`
	Tenant uuid.UUID `json:"tenant"`
	// Origin names the process that made the change (its Publisher's origin), so a process can
	// skip its own changes, which it applied before publishing.
	Origin string `json:"origin,omitempty"`
	Days   []Span `json:"days,omitempty"`
}

// Span is a run of days From..To (inclusive, YYYY-MM-DD, civil dates in JST) at one location.
type Span struct {
	Location uuid.UUID `json:"location"`
	From     string    `json:"from"`
	To       string    `json:"to"`
}

// All reports whether the change covers every day of every location of the city.
func (c Change) All() bool { return len(c.Days) == 0 }

// decode reads a message from channel; a message it cannot read, or of a newer version, becomes a
// change of the whole city the channel names. ok is false only when the channel names no city.
func decode(channel, payload string) (c Change, ok bool) {
	id, err := uuid.Parse(strings.TrimPrefix(channel, ChannelPrefix))
	if err != nil || !strings.HasPrefix(channel, ChannelPrefix) {
		return Change{}, false
	}
	if err := json.Unmarshal([]byte(payload), &c); err != nil || c.V != Version || c.Tenant != id || !validSpans(c.Days) {
		return Change{V: Version, Tenant: id}, true
	}
	return c, true
}

func validSpans(ss []Span) bool {
	for _, s := range ss {
		from, err1 := time.Parse("2006-01-02", s.From)
		to, err2 := time.Parse("2006-01-02", s.To)
		if err1 != nil || err2 != nil || to.Before(from) || s.Location == uuid.Nil {
			return false
		}
	}
	return true
}

// Publisher publishes one process's changes.
type Publisher struct {
	rdb     redis.UniversalClient
	origin  string
	timeout time.Duration
	log     *slog.Logger
	failed  prometheus.Counter
}

// PublisherConfig are a Publisher's dependencies.
type PublisherConfig struct {
	Redis redis.UniversalClient
	// Origin names this process in its messages (default: a random id).
	Origin string
	// Timeout bounds one publication (default 1 s); it does not end with the caller's context,
	// which is often a request that is over once its change committed.
	Timeout time.Duration
	Log     *slog.Logger          // default: discard
	Metrics prometheus.Registerer // madoguchi_slotfeed_publish_failures_total; nil: not exported
}

// NewPublisher returns a Publisher. It fails only when the metric cannot be registered.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	p := &Publisher{rdb: cfg.Redis, origin: cfg.Origin, timeout: cfg.Timeout, log: cfg.Log,
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "madoguchi_slotfeed_publish_failures_total",
			Help: "Slot changes this process could not publish to the other processes (Redis unreachable); their caches keep those days until the TTL."})}
	if p.origin == "" {
		p.origin = "p-" + uuid.NewString()
	}
	if p.timeout <= 0 {
		p.timeout = time.Second
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics != nil {
		if err := cfg.Metrics.Register(p.failed); err != nil {
			return nil, fmt.Errorf("slotfeed metrics: %w", err)
		}
	}
	return p, nil
}

// Origin is the name this process's messages carry.
func (p *Publisher) Origin() string { return p.origin }

// Publish sends c on its city's channel, with this process as Origin. Call it after the change
// committed. It returns Redis's error; see Announce.
func (p *Publisher) Publish(ctx context.Context, c Change) error {
	c.V, c.Origin = Version, p.origin
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.timeout)
	defer cancel()
	return p.rdb.Publish(ctx, Channel(c.Tenant), b).Err()
}

// Announce is Publish for callers that have nothing to do about a failure (the change is
// committed): it logs the failure and counts it in madoguchi_slotfeed_publish_failures_total.
// The other processes then serve those days from their caches until the cache's TTL, unless
// their own subscription broke too (then they are not caching).
func (p *Publisher) Announce(ctx context.Context, c Change) {
	if err := p.Publish(ctx, c); err != nil {
		p.failed.Inc()
		p.log.Warn("slot change not published", "tenant", c.Tenant, "err", err)
	}
}

// SubscriberConfig are a Subscriber's dependencies and callbacks. The callbacks run one at a time
// on Run's goroutine, in the order of the messages.
type SubscriberConfig struct {
	Redis redis.UniversalClient
	// Tenants are the cities to follow; none: every city (a pattern subscription).
	Tenants []uuid.UUID
	// OnChange receives every change.
	OnChange func(Change)
	// OnLive(true) is called once the subscription is confirmed (again): changes published from
	// now on arrive. OnLive(false) when it is lost (Redis down, the connection silent for two
	// Intervals) and when Run returns: changes may be missed until the next OnLive(true).
	OnLive func(live bool)
	// Interval is how long the connection may stay silent before a ping, and how long the ping may
	// go unanswered before the subscription counts as lost (default 1 s).
	Interval time.Duration
	// Retry is the wait before subscribing again after a failure (default 1 s).
	Retry time.Duration
	Log   *slog.Logger // default: discard
}

// Subscriber follows cities' channels; Run does the work.
type Subscriber struct{ cfg SubscriberConfig }

// NewSubscriber returns a Subscriber.
func NewSubscriber(cfg SubscriberConfig) *Subscriber {
	seen := map[uuid.UUID]bool{}
	var tenants []uuid.UUID
	for _, t := range cfg.Tenants {
		if !seen[t] {
			seen[t] = true
			tenants = append(tenants, t)
		}
	}
	cfg.Tenants = tenants
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Retry <= 0 {
		cfg.Retry = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.OnChange == nil {
		cfg.OnChange = func(Change) {}
	}
	if cfg.OnLive == nil {
		cfg.OnLive = func(bool) {}
	}
	return &Subscriber{cfg: cfg}
}

// Run subscribes, delivers changes and subscribes again after every failure, until ctx ends; it
// returns ctx's error.
func (s *Subscriber) Run(ctx context.Context) error {
	for {
		err := s.session(ctx)
		s.cfg.OnLive(false)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.cfg.Log.Warn("slot change subscription lost; caches bypassed until it is back", "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.cfg.Retry):
		}
	}
}

// session is one subscription: it returns when the connection fails or goes silent, or ctx ends.
func (s *Subscriber) session(ctx context.Context) error {
	ps := s.cfg.Redis.Subscribe(ctx)
	defer ps.Close()
	// A blocked read ends with its timeout; closing the connection ends it at once.
	defer context.AfterFunc(ctx, func() { ps.Close() })()
	var err error
	if len(s.cfg.Tenants) == 0 {
		err = ps.PSubscribe(ctx, ChannelPrefix+"*")
	} else {
		chans := make([]string, len(s.cfg.Tenants))
		for i, t := range s.cfg.Tenants {
			chans[i] = Channel(t)
		}
		err = ps.Subscribe(ctx, chans...)
	}
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	live, pinged := false, false
	for {
		msg, err := ps.ReceiveTimeout(ctx, s.cfg.Interval)
		switch {
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case isTimeout(err) && !pinged && live:
			if err := ps.Ping(ctx); err != nil {
				return fmt.Errorf("ping: %w", err)
			}
			pinged = true
			continue
		case isTimeout(err) && !live:
			return errors.New("subscription not confirmed in time")
		case isTimeout(err):
			return errors.New("no answer to a ping")
		case err != nil:
			return err
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if (m.Kind == "subscribe" || m.Kind == "psubscribe") && !live && m.Count >= s.expected() {
				live = true
				s.cfg.OnLive(true)
			}
		case *redis.Message:
			if c, ok := decode(m.Channel, m.Payload); ok {
				s.cfg.OnChange(c)
			}
		case *redis.Pong:
		}
	}
}

// expected is how many subscriptions a confirmed session has.
func (s *Subscriber) expected() int { return max(len(s.cfg.Tenants), 1) }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
