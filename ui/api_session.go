package ui

import (
	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/ui/web"
)

type apiSessionResponse struct {
	Token     string  `json:"token"`
	TokenType string  `json:"token_type"`
	ExpiresIn int     `json:"expires_in"`
	Card      apiCard `json:"card"`
}

// apiSessionCreate logs a card in through booking.Service.Login, the same path and lockout
// counters as the web login, and returns a new session id as the bearer token.
func (u *UI) apiSessionCreate(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store") // the body carries a credential
	var in apiCredentials
	if err := apiDecode(c, &in); err != nil {
		return err
	}
	li, err := in.loginInput(c, "")
	if err != nil {
		return err
	}
	t := web.TenantOf(c)
	sess := u.sess.New(t.ID.String())
	// The new session goes to Redis with the login guard's give-back of the right guess, in one
	// round trip (booking.LoginInput.Session).
	li.Session = func(pipe redis.Pipeliner, card *booking.Card) error {
		sess.CardID, sess.AuthAt = card.ID, u.now()
		return u.sess.Queue(c.UserContext(), pipe, sess, false)
	}
	card, err := u.deps.Booking.Login(c.UserContext(), t, li)
	if err != nil {
		return err
	}
	u.sess.Issue(c, sess)
	u.apiNoCookie(c)
	return c.Status(fiber.StatusCreated).JSON(apiSessionResponse{Token: sess.ID, TokenType: "Bearer",
		ExpiresIn: int(sessionIdle.Seconds()), Card: apiCard{MaskedNo: card.MaskedNo()}})
}

// apiSessionDelete ends the session (the token stops working) and gives back any held places.
func (u *UI) apiSessionDelete(c *fiber.Ctx) error {
	sess, err := u.session(c)
	if err != nil {
		return err
	}
	u.releaseSessionHold(c, sess)
	if err := u.sess.Destroy(c, sess); err != nil {
		return err
	}
	u.apiNoCookie(c)
	return c.SendStatus(fiber.StatusNoContent)
}
