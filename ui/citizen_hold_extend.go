package ui

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// HoldExtended is the JSON answer of POST /hold/extend to the confirm page's script.
type HoldExtended struct {
	Expires int64  `json:"expires"` // Unix seconds
	Text    string `json:"text"`    // the notice's new sentence, in the page's language
}

// citizenHoldExtend gives the held time its full length again (WCAG 2.2.1 Timing Adjustable). The
// button sits in the booking form, so the e-mail address typed so far survives the round trip
// when scripts are off; with scripts on, the page asks for JSON and stays as it is.
func (u *UI) citizenHoldExtend(c *fiber.Ctx) error {
	sess := citizenOf(c)
	if sess.HoldID == uuid.Nil {
		return u.holdExpired(c, sess)
	}
	h, err := u.deps.Booking.ExtendHold(c.UserContext(), web.TenantOf(c), sess.HoldID)
	if tenant.ErrorCode(err) == tenant.NotFound {
		return u.holdExpired(c, sess)
	}
	if err != nil {
		return err
	}
	if email := strings.TrimSpace(c.FormValue("email")); len(email) <= booking.MaxEmailLen {
		sess.Email = email // shown again in the form; validated when the booking is made
	}
	if err := u.sess.Save(c, sess); err != nil {
		return err
	}
	if c.Accepts(fiber.MIMETextHTML, fiber.MIMEApplicationJSON) == fiber.MIMEApplicationJSON {
		clock := h.ExpiresAt.In(booking.JST).Format("15:04")
		return c.JSON(HoldExtended{Expires: h.ExpiresAt.Unix(), Text: u.locales.T(web.LangOf(c), "confirm.hold", map[string]any{"time": clock})})
	}
	return c.Redirect("/confirm", fiber.StatusSeeOther)
}
