package ui

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/madoguchi/madoguchi/tenant"
)

// Session is the server-side state of one browser (or API client), kept in Redis. The cookie
// holds only a random 256-bit id. A session belongs to the tenant whose host created it.
type Session struct {
	ID       string      `json:"-"`
	TenantID uuid.UUID   `json:"tenant_id"`
	CSRF     string      `json:"csrf"`
	Created  time.Time   `json:"created"`
	AuthAt   time.Time   `json:"auth_at,omitzero"`
	CardID   uuid.UUID   `json:"card_id,omitzero"`
	Family   []uuid.UUID `json:"family,omitempty"`
	HoldID   uuid.UUID   `json:"hold_id,omitzero"`
	HoldSlot uuid.UUID   `json:"hold_slot,omitzero"`
	Changing uuid.UUID   `json:"changing,omitzero"` // reservation being moved, if any
	DoneID   uuid.UUID   `json:"done_id,omitzero"`  // reservation shown on the done page
	Email    string      `json:"email,omitempty"`
	Flash    string      `json:"flash,omitempty"`

	StaffID    uuid.UUID `json:"staff_id,omitzero"`
	StaffLogin string    `json:"staff_login,omitempty"`
	StaffRole  string    `json:"staff_role,omitempty"`
	MustChange bool      `json:"must_change,omitempty"`

	// Between a correct password and the TOTP code (ui/staff_login_code.go): not logged in.
	MFAPending   uuid.UUID `json:"mfa_pending,omitzero"`
	MFAPendingAt time.Time `json:"mfa_pending_at,omitzero"`
	// MFASecret is the secret shown on the enrolment page until a code confirms it.
	MFASecret string `json:"mfa_secret,omitempty"`
}

// LoggedIn reports whether a citizen card is authenticated in this session.
func (s *Session) LoggedIn() bool { return s.CardID != uuid.Nil }

// Cards returns the logged-in card followed by the family members added.
func (s *Session) Cards() []uuid.UUID { return append([]uuid.UUID{s.CardID}, s.Family...) }

const (
	sessionIdle     = 30 * time.Minute
	sessionAbsolute = 2 * time.Hour
	staffIdle       = 60 * time.Minute
	staffAbsolute   = 10 * time.Hour
)

// sessions stores Session values in Redis under mdg:sess:{id}, with an idle TTL that every save
// renews and an absolute lifetime checked on load.
type sessions struct {
	rdb    redis.UniversalClient
	secure bool
	name   string // cookie name without prefix: "mdg_sid" (citizens), "mdg_staff" (staff)
}

func (s *sessions) cookieName() string {
	if s.secure {
		return "__Host-" + s.name
	}
	return s.name
}

func (s *sessions) key(id string) string { return "mdg:sess:" + s.name + ":" + id }

// load returns the request's session, or nil when there is none, it expired, or it belongs to
// another tenant (a cookie replayed on another city's host). Redis errors are unavailable.
func (s *sessions) load(c *fiber.Ctx, t *tenant.Tenant) (*Session, error) {
	id := c.Cookies(s.cookieName())
	if id == "" {
		id = bearer(c)
	}
	if len(id) != 43 {
		return nil, nil
	}
	b, err := s.rdb.Get(c.UserContext(), s.key(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, tenant.Errorf(tenant.Unavailable, "error.unavailable").Wrap(err)
	}
	var sess Session
	if err := json.Unmarshal(b, &sess); err != nil {
		return nil, nil
	}
	limit := sessionAbsolute
	if sess.StaffID != uuid.Nil {
		limit = staffAbsolute
	}
	if t == nil || sess.TenantID != t.ID || time.Since(sess.Created) > limit {
		return nil, nil
	}
	sess.ID = id
	return &sess, nil
}

// save writes the session and renews its idle timeout; a new session also gets its cookie.
func (s *sessions) save(c *fiber.Ctx, sess *Session) error {
	isNew := sess.ID == ""
	if isNew {
		sess.ID = randomID(32)
		sess.Created = time.Now()
		if sess.CSRF == "" {
			sess.CSRF = randomID(32)
		}
	}
	b, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	idle := sessionIdle
	if sess.StaffID != uuid.Nil {
		idle = staffIdle
	}
	if err := s.rdb.Set(c.UserContext(), s.key(sess.ID), b, idle).Err(); err != nil {
		return tenant.Errorf(tenant.Unavailable, "error.unavailable").Wrap(err)
	}
	if isNew && bearer(c) == "" {
		c.Cookie(&fiber.Cookie{Name: s.cookieName(), Value: sess.ID, Path: "/", HTTPOnly: true,
			Secure: s.secure, SameSite: fiber.CookieSameSiteLaxMode, SessionOnly: true})
	}
	return nil
}

// renew replaces the session id (at login) so an id planted before login is worthless; the CSRF
// token is renewed too.
func (s *sessions) renew(c *fiber.Ctx, sess *Session) error {
	if sess.ID != "" {
		if err := s.rdb.Del(c.UserContext(), s.key(sess.ID)).Err(); err != nil {
			return tenant.Errorf(tenant.Unavailable, "error.unavailable").Wrap(err)
		}
	}
	sess.ID, sess.CSRF = "", ""
	return s.save(c, sess)
}

// destroy deletes the session and its cookie.
func (s *sessions) destroy(c *fiber.Ctx, sess *Session) error {
	if sess != nil && sess.ID != "" {
		if err := s.rdb.Del(context.WithoutCancel(c.UserContext()), s.key(sess.ID)).Err(); err != nil {
			return tenant.Errorf(tenant.Unavailable, "error.unavailable").Wrap(err)
		}
	}
	c.Cookie(&fiber.Cookie{Name: s.cookieName(), Value: "", Path: "/", HTTPOnly: true, Secure: s.secure,
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Unix(1, 0)})
	return nil
}

// session returns the request's session, creating an anonymous one (not yet saved) if needed.
func (u *UI) session(c *fiber.Ctx) (*Session, error) {
	if s, ok := c.Locals(localSession).(*Session); ok {
		return s, nil
	}
	t := tenantOf(c)
	s, err := u.sess.load(c, t)
	if err != nil {
		return nil, err
	}
	if s == nil {
		s = &Session{TenantID: t.ID, CSRF: randomID(32)}
	}
	c.Locals(localSession, s)
	return s, nil
}

// csrfProtect refuses every state-changing browser request whose token does not match the
// session's (synchronizer token; API requests with a bearer token carry no ambient credential).
func (u *UI) csrfProtect(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if bearer(c) != "" && isAPI(c) {
		return c.Next()
	}
	sess, err := u.session(c)
	if err != nil {
		return err
	}
	token := c.FormValue("_csrf")
	if token == "" {
		token = c.Get("X-CSRF-Token")
	}
	if sess.ID == "" || token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRF)) != 1 {
		u.log.Warn("csrf rejected", "request_id", requestIDOf(c), "tenant", tenantSlug(c), "ip", c.IP())
		return tenant.Errorf(tenant.Forbidden, "error.csrf")
	}
	return c.Next()
}
