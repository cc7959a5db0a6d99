package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/madoguchi/madoguchi/tenant"
)

// Session is what every console's session has. A console's session type embeds it and adds its
// own fields (the citizen's cards and hold, the clerk's account, the operator's chosen city). The
// cookie holds only a random 256-bit id; the value is kept in Redis.
type Session struct {
	ID string `json:"-"`
	// Scope is what the session belongs to: a city's tenant id on a city host, the console's
	// host name on a console. A cookie replayed under another scope is no session.
	Scope   string    `json:"scope"`
	CSRF    string    `json:"csrf"`
	Created time.Time `json:"created"`
	Flash   string    `json:"flash,omitempty"` // a one-time message key for the next page
	// renewed: Load read it with GETEX, which gave it its idle time again in the same round
	// trip, so Touch has nothing left to do.
	renewed bool
	// issued: the client has this id (its cookie was sent, or it came with the request), so
	// Issue sends no cookie.
	issued bool
}

// Base returns the shared part of a console's session.
func (s *Session) Base() *Session { return s }

// A session type: a struct embedding Session, used through its pointer.
type state[T any] interface {
	*T
	Base() *Session
}

// Store keeps one kind of session in Redis under mdg:sess:{name}:{id}, with an idle timeout
// that every load and save renews and an absolute lifetime checked on load.
type Store[T any, P state[T]] struct {
	rdb    redis.UniversalClient
	name   string // cookie name without the __Host- prefix, also the Redis key prefix
	secure bool
	// Idle and Absolute are the session's lifetimes.
	Idle, Absolute time.Duration
	// Bearer: an "Authorization: Bearer" token is accepted as the id too (the JSON API).
	Bearer bool
	now    func() time.Time
}

// NewStore returns the store of one kind of session, with its own cookie name.
func NewStore[T any, P state[T]](rdb redis.UniversalClient, name string, secure bool, idle, absolute time.Duration, now func() time.Time) *Store[T, P] {
	if now == nil {
		now = time.Now
	}
	return &Store[T, P]{rdb: rdb, name: name, secure: secure, Idle: idle, Absolute: absolute, now: now}
}

// CookieName is the session cookie's name (with the __Host- prefix when cookies are secure).
func (s *Store[T, P]) CookieName() string {
	if s.secure {
		return "__Host-" + s.name
	}
	return s.name
}

func (s *Store[T, P]) key(id string) string { return "mdg:sess:" + s.name + ":" + id }

// Load returns the request's session, or nil when there is none, it expired, or it belongs to
// another scope (a cookie replayed on another city's host). Redis errors are unavailable.
func (s *Store[T, P]) Load(c *fiber.Ctx, scope string) (P, error) {
	id := c.Cookies(s.CookieName())
	if id == "" && s.Bearer {
		id = Bearer(c)
	}
	if len(id) != 43 {
		return nil, nil
	}
	// GETEX renews the idle time as it reads (the request is activity): Touch then needs no
	// round trip of its own.
	b, err := s.rdb.GetEx(c.UserContext(), s.key(id), s.Idle).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, tenant.Errorf(tenant.Unavailable, "error.unavailable").Wrap(err)
	}
	sess := P(new(T))
	if err := json.Unmarshal(b, sess); err != nil {
		return nil, nil
	}
	base := sess.Base()
	if scope == "" || base.Scope != scope || s.now().Sub(base.Created) > s.Absolute {
		return nil, nil
	}
	base.ID, base.renewed, base.issued = id, true, true
	return sess, nil
}

// New returns an anonymous session of scope, not yet saved, with its CSRF token.
func (s *Store[T, P]) New(scope string) P {
	sess := P(new(T))
	sess.Base().Scope, sess.Base().CSRF = scope, RandomID(32)
	return sess
}

// Save writes the session and renews its idle timeout; a new session also gets its cookie
// (unless the client authenticates by bearer token).
func (s *Store[T, P]) Save(c *fiber.Ctx, sess P) error {
	return s.write(c, sess, false)
}

// Renew replaces the session id (at login) so an id planted before login is worthless; the CSRF
// token is renewed too. The old id's deletion and the new session go in one round trip.
func (s *Store[T, P]) Renew(c *fiber.Ctx, sess P) error {
	return s.write(c, sess, true)
}

func (s *Store[T, P]) write(c *fiber.Ctx, sess P, renew bool) error {
	pipe := s.rdb.Pipeline()
	if err := s.Queue(c.UserContext(), pipe, sess, renew); err != nil {
		return err
	}
	if _, err := pipe.Exec(c.UserContext()); err != nil {
		return tenant.Errorf(tenant.Unavailable, "error.unavailable").Wrap(err)
	}
	s.Issue(c, sess)
	return nil
}

// Queue queues in pipe what Save (renew false) or Renew (renew true) writes, for a caller that
// sends it to Redis with commands of its own in one round trip: the citizen login sends the new
// session with the login guard's give-back of the right guess. After pipe has run without an
// error, the caller calls Issue, which gives a new session its cookie. It fails only when the
// session cannot be encoded.
func (s *Store[T, P]) Queue(ctx context.Context, pipe redis.Pipeliner, sess P, renew bool) error {
	base := sess.Base()
	if renew {
		if base.ID != "" {
			pipe.Del(ctx, s.key(base.ID))
		}
		base.ID, base.CSRF = "", ""
	}
	if base.ID == "" {
		base.ID = RandomID(32)
		base.Created = s.now()
		base.issued = false
		if base.CSRF == "" {
			base.CSRF = RandomID(32)
		}
	}
	b, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	pipe.Set(ctx, s.key(base.ID), b, s.Idle)
	return nil
}

// Issue gives a session written through Queue its cookie, once, when it is new (unless the
// client authenticates by bearer token).
func (s *Store[T, P]) Issue(c *fiber.Ctx, sess P) {
	base := sess.Base()
	if base.issued || base.ID == "" {
		return
	}
	base.issued = true
	if s.Bearer && Bearer(c) != "" {
		return
	}
	c.Cookie(&fiber.Cookie{Name: s.CookieName(), Value: base.ID, Path: "/", HTTPOnly: true,
		Secure: s.secure, SameSite: fiber.CookieSameSiteLaxMode, SessionOnly: true})
}

// Destroy deletes the session and its cookie.
func (s *Store[T, P]) Destroy(c *fiber.Ctx, sess P) error {
	if sess != nil && sess.Base().ID != "" {
		if err := s.rdb.Del(context.WithoutCancel(c.UserContext()), s.key(sess.Base().ID)).Err(); err != nil {
			return tenant.Errorf(tenant.Unavailable, "error.unavailable").Wrap(err)
		}
	}
	c.Cookie(&fiber.Cookie{Name: s.CookieName(), Value: "", Path: "/", HTTPOnly: true, Secure: s.secure,
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Unix(1, 0)})
	return nil
}

// SetSession records the session the route's guard loaded; the handler reads it back with the
// console's typed accessor, and Page and CSRF with SessionOf.
func SetSession(c *fiber.Ctx, s interface{ Base() *Session }) { c.Locals(localSession, s) }

// Loaded is the session the route's guard loaded, as its console's type; nil when there is none
// or it is of another type.
func Loaded[P any](c *fiber.Ctx) P {
	s, _ := c.Locals(localSession).(P)
	return s
}

// SessionOf is the shared part of the session the route's guard loaded, or nil.
func SessionOf(c *fiber.Ctx) *Session {
	if s, ok := c.Locals(localSession).(interface{ Base() *Session }); ok {
		return s.Base()
	}
	return nil
}

// CSRF refuses every state-changing browser request that another site sent (its Origin, or
// without one its Referer, names another host) or whose token (form field _csrf or header
// X-CSRF-Token) does not match the session's that the guard loaded before it (synchronizer
// token). API requests with a bearer token carry no ambient credential and pass.
func (w *Core) CSRF(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if Bearer(c) != "" && IsAPI(c) {
		return c.Next()
	}
	if !sameOrigin(c) {
		w.Log.Warn("cross-origin post refused", "request_id", RequestIDOf(c), "tenant", TenantSlug(c), "ip", c.IP())
		return tenant.Errorf(tenant.Forbidden, "error.csrf")
	}
	sess := SessionOf(c)
	token := c.FormValue("_csrf")
	if token == "" {
		token = c.Get("X-CSRF-Token")
	}
	if sess == nil || sess.ID == "" || token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRF)) != 1 {
		w.Log.Warn("csrf rejected", "request_id", RequestIDOf(c), "tenant", TenantSlug(c), "ip", c.IP())
		return tenant.Errorf(tenant.Forbidden, "error.csrf")
	}
	return c.Next()
}

// EndWhere deletes every live session of this kind that match selects (all sessions of one
// account, when it is disabled, demoted or its password reset) and reports how many it ended.
//
// The store keeps no per-account index, so this SCANs the store's keys and reads each session. A
// city has tens to hundreds of staff and Redis holds only live sessions, so a scan is cheap at
// this scale; SCAN does not block Redis. On a Redis Cluster every master is scanned.
func (s *Store[T, P]) EndWhere(ctx context.Context, match func(P) bool) (int, error) {
	pattern := s.key("*")
	var ended atomic.Int64 // ForEachMaster scans the masters concurrently
	scan := func(ctx context.Context, rdb redis.Cmdable) error {
		iter := rdb.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			key := iter.Val()
			b, err := rdb.Get(ctx, key).Bytes()
			if errors.Is(err, redis.Nil) {
				continue // expired meanwhile
			}
			if err != nil {
				return err
			}
			sess := P(new(T))
			if json.Unmarshal(b, sess) != nil || !match(sess) {
				continue
			}
			if err := rdb.Del(ctx, key).Err(); err != nil {
				return err
			}
			ended.Add(1)
		}
		return iter.Err()
	}
	var err error
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, s.rdb)
	}
	return int(ended.Load()), err
}

// Exists reports whether the session with this id still stands (not ended, not expired); it
// does not renew its idle timeout. A live screen's stream asks it to end with its session.
func (s *Store[T, P]) Exists(ctx context.Context, id string) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.key(id)).Result()
	return n == 1, err
}

// Touch renews the session's idle timeout without rewriting it.
func (s *Store[T, P]) Touch(c *fiber.Ctx, sess P) error {
	if sess.Base().renewed {
		return nil
	}
	if err := s.rdb.Expire(c.UserContext(), s.key(sess.Base().ID), s.Idle).Err(); err != nil {
		return tenant.Errorf(tenant.Unavailable, "error.unavailable").Wrap(err)
	}
	return nil
}

// sameOrigin reports whether a state-changing request comes from a page of its own host: the
// Origin header when the browser sent one (every current browser does on a POST), else the
// Referer (kept on same-origin posts by the Referrer-Policy); a request with neither (an old
// browser, a privacy setting) is left to the token. "null" (a sandboxed or privacy-stripped
// origin) is refused.
func sameOrigin(c *fiber.Ctx) bool {
	from := c.Get(fiber.HeaderOrigin)
	if from == "" {
		from = c.Get(fiber.HeaderReferer)
		if from == "" {
			return true
		}
	}
	u, err := url.Parse(from)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, string(c.Request().Host()))
}

// NextThenKeep runs the rest of the chain and then stores sess if it is a new anonymous session
// (never saved) and the request was a GET that served a page (200): the page's forms carry its
// CSRF token. A cookieless GET that is redirected (to a login page), refused or fails leaves
// nothing in Redis and sets no cookie, so crawlers and probes do not fill the store.
func NextThenKeep(c *fiber.Ctx, sess interface{ Base() *Session }, save func() error) error {
	if err := c.Next(); err != nil {
		return err
	}
	if sess.Base().ID == "" && c.Method() == fiber.MethodGet && c.Response().StatusCode() == fiber.StatusOK {
		return save()
	}
	return nil
}
