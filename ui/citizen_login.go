package ui

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// LoginPage is the data of citizen/login.html (also used to add a family member).
type LoginPage struct {
	BasePage
	CardNo, Month, Day string
	Family             bool
	ErrorKey           string
	ErrorArgs          map[string]any
	// PowToken is the proof-of-work challenge the form carries (PowBits its work): the app's
	// script solves it in the background; without scripts the token alone counts once a few
	// seconds have passed. It is checked only while the guard requires the step-up.
	PowToken string
	PowBits  int
	// PowSolve asks the page's script to solve the challenge: the step-up is required now.
	PowSolve bool
}

// loginPage returns a login (or add-a-family-member) page with a fresh proof-of-work challenge.
func (u *UI) loginPage(c *fiber.Ctx, family bool) *LoginPage {
	p := &LoginPage{BasePage: u.base(c), Family: family}
	t := web.TenantOf(c)
	p.PowToken, p.PowBits = u.deps.Booking.LoginChallenge(t, c.IP())
	p.PowSolve = u.deps.Booking.LoginStepUp(c.UserContext(), t, c.IP())
	return p
}

func (u *UI) citizenLoginShow(c *fiber.Ctx) error {
	sess := citizenOf(c)
	if sess.LoggedIn() {
		return c.Redirect("/menu", fiber.StatusSeeOther)
	}
	return u.render(c, "citizen/login", u.loginPage(c, false))
}

// loginForm copies the login fields out of Fiber's buffers.
type loginForm struct{ CardNo, Month, Day, PowToken, PowNonce string }

func parseLoginForm(c *fiber.Ctx) loginForm {
	return loginForm{CardNo: strings.Clone(c.FormValue("card_no")), Month: strings.Clone(c.FormValue("month")), Day: strings.Clone(c.FormValue("day")),
		PowToken: strings.Clone(c.FormValue("pow_token")), PowNonce: strings.Clone(c.FormValue("pow_nonce"))}
}

func (f loginForm) input(c *fiber.Ctx) booking.LoginInput {
	return booking.LoginInput{CardNo: f.CardNo, Birth: booking.MMDDFromParts(f.Month, f.Day), IP: c.IP(),
		PowToken: f.PowToken, PowNonce: f.PowNonce}
}

// citizenLoginSubmit logs a card in. A new session id is issued on success.
func (u *UI) citizenLoginSubmit(c *fiber.Ctx) error {
	form := parseLoginForm(c)
	sess, err := u.session(c)
	if err != nil {
		return err
	}
	in, before := form.input(c), *sess
	// The session gets a new id and its card in the same Redis round trip as the login guard's
	// give-back of the right guess (booking.LoginInput.Session).
	in.Session = func(pipe redis.Pipeliner, card *booking.Card) error {
		*sess = CitizenSession{Session: web.Session{ID: sess.ID, Scope: sess.Scope}, CardID: card.ID, AuthAt: u.now()}
		return u.sess.Queue(c.UserContext(), pipe, sess, true)
	}
	if _, err := u.deps.Booking.Login(c.UserContext(), web.TenantOf(c), in); err != nil {
		*sess = before // the round trip failed: the page goes on with the session the client has
		return u.loginFailed(c, "citizen/login", form, false, err)
	}
	u.sess.Issue(c, sess)
	return c.Redirect("/menu", fiber.StatusSeeOther)
}

// loginFailed re-renders a login form: field errors inline (422); a refused login as one generic
// message (401); a lock or an outage on the form with its own explanation (429/503).
func (u *UI) loginFailed(c *fiber.Ctx, page string, form loginForm, family bool, err error) error {
	e := tenant.AsError(err)
	if e == nil || (e.Code != tenant.Invalid && e.Code != tenant.Unauthorized && e.Code != tenant.Throttled && e.Code != tenant.Unavailable) {
		return err
	}
	p := u.loginPage(c, family)
	p.CardNo, p.Month, p.Day = form.CardNo, form.Month, form.Day
	status := web.StatusOf(e.Code)
	if e.Code == tenant.Invalid {
		p.Errors = e.Fields
	} else {
		p.ErrorKey, p.ErrorArgs = e.Key, e.Args
		p.CardNo = form.CardNo
		p.PowSolve = p.PowSolve || e.Key == "login.step_up"
	}
	if e.Code == tenant.Throttled || e.Code == tenant.Unavailable {
		c.Set(fiber.HeaderRetryAfter, "60")
	}
	c.Status(status)
	return u.render(c, page, p)
}

// citizenLogout ends the session and releases any held places.
func (u *UI) citizenLogout(c *fiber.Ctx) error {
	sess, err := u.session(c)
	if err != nil {
		return err
	}
	u.releaseSessionHold(c, sess)
	if err := u.sess.Destroy(c, sess); err != nil {
		return err
	}
	return c.Redirect("/?logged_out=1", fiber.StatusSeeOther)
}
