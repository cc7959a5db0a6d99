package ui

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/ui/web"
)

// CitizenSession is a citizen's booking session on a city host (a browser's cookie, or an API
// bearer token): the logged-in card, the family members added, the held time and the booking
// being changed. Its scope is the city's tenant id.
type CitizenSession struct {
	web.Session
	AuthAt   time.Time   `json:"auth_at,omitzero"`
	CardID   uuid.UUID   `json:"card_id,omitzero"`
	Family   []uuid.UUID `json:"family,omitempty"`
	HoldID   uuid.UUID   `json:"hold_id,omitzero"`
	HoldSlot uuid.UUID   `json:"hold_slot,omitzero"`
	Changing uuid.UUID   `json:"changing,omitzero"` // reservation being moved, if any
	DoneID   uuid.UUID   `json:"done_id,omitzero"`  // reservation shown on the done page
	Email    string      `json:"email,omitempty"`
}

// LoggedIn reports whether a citizen card is authenticated in this session.
func (s *CitizenSession) LoggedIn() bool { return s.CardID != uuid.Nil }

// Cards returns the logged-in card followed by the family members added.
func (s *CitizenSession) Cards() []uuid.UUID { return append([]uuid.UUID{s.CardID}, s.Family...) }

// StaffSession is a clerk's session under /admin of a city host: its own cookie, so a citizen
// and a clerk never share one. Its scope is the city's tenant id.
type StaffSession struct {
	web.Session
	AuthAt     time.Time `json:"auth_at,omitzero"`
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

// LoggedIn reports whether a staff account is authenticated in this session.
func (s *StaffSession) LoggedIn() bool { return s.StaffID != uuid.Nil }

const (
	sessionIdle     = 30 * time.Minute
	sessionAbsolute = 2 * time.Hour
	staffIdle       = 30 * time.Minute
	staffAbsolute   = 10 * time.Hour
)

type (
	citizenStore = web.Store[CitizenSession, *CitizenSession]
	staffStore   = web.Store[StaffSession, *StaffSession]
)

// citizenOf is the citizen session the route's guard loaded (visitor, citizen, apiCitizen).
func citizenOf(c *fiber.Ctx) *CitizenSession { return web.Loaded[*CitizenSession](c) }

// staffOf is the staff session the route's guard loaded (open, staff, admin).
func staffOf(c *fiber.Ctx) *StaffSession { return web.Loaded[*StaffSession](c) }

// session returns the request's citizen session, creating an anonymous one (not yet saved) if
// needed, and records it for the handler, the page data and the CSRF check.
func (u *UI) session(c *fiber.Ctx) (*CitizenSession, error) {
	if s := citizenOf(c); s != nil {
		return s, nil
	}
	scope := web.TenantOf(c).ID.String()
	s, err := u.sess.Load(c, scope)
	if err != nil {
		return nil, err
	}
	if s == nil {
		s = u.sess.New(scope)
	}
	web.SetSession(c, s)
	return s, nil
}
