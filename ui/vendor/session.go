package vendor

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// Session is a vendor member's session on one console's host: the console's own cookie and scope
// (the host name), so neither a city's citizen or staff cookie nor the other console's is ever
// read there, and this one is never read on a city's host.
type Session struct {
	web.Session
	// Logged in: the password and the TOTP code (or, at the first login, the enrolment code) were
	// accepted in this session.
	AccountID uuid.UUID `json:"account_id,omitzero"`
	Login     string    `json:"login,omitempty"`
	AuthAt    time.Time `json:"auth_at,omitzero"`

	// Between a correct password and the end of the login — the code, or at a first login the new
	// password and the TOTP enrolment — the session is not logged in; Pending names the account.
	Pending   uuid.UUID `json:"pending,omitzero"`
	PendingAt time.Time `json:"pending_at,omitzero"`
	// MFASecret is the secret shown on the enrolment page until a code confirms it.
	MFASecret string `json:"mfa_secret,omitempty"`

	// The call center's: the cities the operator served last (slugs, the latest first) and the
	// call in progress.
	Recent []string `json:"recent,omitempty"`
	Call   *Call    `json:"call,omitempty"`
}

// Call is the call an operator is serving: the city, and the cards whose number and birthday
// were checked in it (the caller's first, then family members'). It belongs to one city: a page
// of another city never reads it.
type Call struct {
	Slug    string      `json:"slug"`
	Cards   []uuid.UUID `json:"cards"`
	Started time.Time   `json:"started"`
}

// LoggedIn reports whether a vendor account finished its login in this session.
func (s *Session) LoggedIn() bool { return s.AccountID != uuid.Nil }

// account is the account the session acts for: the logged-in one, or the one finishing its login.
func (s *Session) account() uuid.UUID {
	if s.LoggedIn() {
		return s.AccountID
	}
	return s.Pending
}

// Store keeps a console's sessions in Redis.
type Store = web.Store[Session, *Session]

// The session cookie and its lifetimes: 30 minutes idle, one working day in all.
const (
	sessionIdle     = 30 * time.Minute
	sessionAbsolute = 10 * time.Hour
	// codeLife is how long the code page waits after a correct password; enrolLife how long a
	// first login may take for the new password and the TOTP enrolment (the phone app included),
	// counted again from the new password.
	codeLife  = 5 * time.Minute
	enrolLife = 15 * time.Minute
)

// SessionOf is the session the route's guard loaded.
func SessionOf(c *fiber.Ctx) *Session { return web.Loaded[*Session](c) }

// SetFlash stores a one-time message for the member's next page.
func (u *Base) SetFlash(c *fiber.Ctx, key string) error {
	s := SessionOf(c)
	s.Flash = key
	return u.Sess.Save(c, s)
}

// FlashRedirect stores a one-time message and redirects (POST/redirect/GET).
func (u *Base) FlashRedirect(c *fiber.Ctx, key, to string) error {
	if err := u.SetFlash(c, key); err != nil {
		return err
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}

// TakeFlash moves the session's one-time message into the page.
func (u *Base) TakeFlash(c *fiber.Ctx, p *Page) error {
	s := SessionOf(c)
	if s == nil || s.Flash == "" {
		return nil
	}
	p.Flash, s.Flash = s.Flash, ""
	return u.Sess.Save(c, s)
}

// EndSessions ends every session on this console of a vendor account (reset, disabled) but the
// acting member's own, which the domain never lets them reset or disable.
func (u *Base) EndSessions(c *fiber.Ctx, id uuid.UUID) error {
	n, err := u.Sess.EndWhere(c.UserContext(), func(s *Session) bool { return s.Scope == u.cfg.Host && s.account() == id })
	if err != nil {
		return tenant.Errorf(tenant.Unavailable, "error.unavailable").Wrap(err)
	}
	if n > 0 {
		u.Log.Info("vendor sessions ended", "console", u.cfg.Console, "request_id", web.RequestIDOf(c), "account", id, "sessions", n)
	}
	return nil
}
