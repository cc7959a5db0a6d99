package ui

import (
	"encoding/base64"
	"html/template"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// ReservationPage is the data of citizen/done.html, reservation.html and cancel.html.
type ReservationPage struct {
	BasePage
	R           *booking.ReservationView
	QR          template.URL
	CallCenter  string
	DeadlineDay booking.Date
	CanChange   bool
}

func (u *UI) reservationPage(c *fiber.Ctx, v *booking.ReservationView) (*ReservationPage, error) {
	t := web.TenantOf(c)
	png, err := qrcode.Encode(v.Code, qrcode.Medium, 256)
	if err != nil {
		return nil, err
	}
	p := &ReservationPage{BasePage: u.base(c), R: v, CallCenter: t.Settings.CallCenterPhone,
		QR:          template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
		DeadlineDay: booking.DeadlineDay(t, booking.DateOf(v.StartsAt))}
	p.CanChange = v.Status == booking.Booked && !booking.DateOf(v.StartsAt).Before(booking.FirstBookableDay(t, u.now()))
	return p, nil
}

// citizenDone shows the booking code first, its QR code, and what happens next.
func (u *UI) citizenDone(c *fiber.Ctx) error {
	sess := citizenOf(c)
	if sess.DoneID == uuid.Nil {
		return c.Redirect("/menu", fiber.StatusSeeOther)
	}
	v, err := u.deps.Booking.ReservationByID(c.UserContext(), web.TenantOf(c), sess.DoneID)
	if err != nil {
		return err
	}
	p, err := u.reservationPage(c, v)
	if err != nil {
		return err
	}
	return u.render(c, "citizen/done", p)
}

// citizenReservation shows the current reservation with change and cancel actions.
func (u *UI) citizenReservation(c *fiber.Ctx) error {
	sess := citizenOf(c)
	v, err := u.deps.Booking.CurrentReservation(c.UserContext(), web.TenantOf(c), sess.CardID)
	if tenant.ErrorCode(err) == tenant.NotFound {
		return c.Redirect("/menu", fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	p, err := u.reservationPage(c, v)
	if err != nil {
		return err
	}
	if p.Flash, err = u.takeFlash(c, sess); err != nil {
		return err
	}
	page := "citizen/reservation"
	if c.Path() == "/reservation/cancel" {
		page = "citizen/cancel"
	}
	return u.render(c, page, p)
}

// citizenCancel cancels the current reservation after the check page.
func (u *UI) citizenCancel(c *fiber.Ctx) error {
	sess := citizenOf(c)
	t := web.TenantOf(c)
	v, err := u.deps.Booking.CurrentReservation(c.UserContext(), t, sess.CardID)
	if err != nil {
		return err
	}
	if err := u.deps.Booking.Cancel(c.UserContext(), t, v.ID, tenant.Citizen("")); err != nil {
		if e := tenant.AsError(err); e != nil && e.Key == "deadline.passed" {
			return u.deadlinePassed(c, v)
		}
		return err
	}
	if err := u.flash(c, sess, "cancel.done"); err != nil {
		return err
	}
	return c.Redirect("/menu", fiber.StatusSeeOther)
}

// citizenChangeStart begins moving the current reservation: choose a new place and time.
func (u *UI) citizenChangeStart(c *fiber.Ctx) error {
	sess := citizenOf(c)
	t := web.TenantOf(c)
	v, err := u.deps.Booking.CurrentReservation(c.UserContext(), t, sess.CardID)
	if err != nil {
		return err
	}
	p, err := u.reservationPage(c, v)
	if err != nil {
		return err
	}
	if !p.CanChange {
		return u.deadlinePassed(c, v)
	}
	u.releaseSessionHold(c, sess)
	sess.Changing = v.ID
	// The party of a change is the reservation's cards.
	sess.Family = nil
	for _, card := range v.Cards {
		if card.ID != sess.CardID {
			sess.Family = append(sess.Family, card.ID)
		}
	}
	if err := u.sess.Save(c, sess); err != nil {
		return err
	}
	return c.Redirect("/locations", fiber.StatusSeeOther)
}

// citizenChangeAbort leaves change mode.
func (u *UI) citizenChangeAbort(c *fiber.Ctx) error {
	sess := citizenOf(c)
	u.releaseSessionHold(c, sess)
	sess.Changing = uuid.Nil
	if err := u.sess.Save(c, sess); err != nil {
		return err
	}
	return c.Redirect("/reservation", fiber.StatusSeeOther)
}

func (u *UI) deadlinePassed(c *fiber.Ctx, v *booking.ReservationView) error {
	p, err := u.reservationPage(c, v)
	if err != nil {
		return err
	}
	c.Status(fiber.StatusConflict)
	return u.render(c, "citizen/deadline", p)
}

// citizenLang switches the language (cookie) and returns to a local page.
func (u *UI) citizenLang(c *fiber.Ctx) error {
	lang := "ja"
	if c.Query("to") == "en" {
		lang = "en"
	}
	c.Cookie(&fiber.Cookie{Name: "lang", Value: lang, Path: "/", SameSite: fiber.CookieSameSiteLaxMode, MaxAge: 365 * 24 * 3600,
		Secure: u.deps.SecureCookies, HTTPOnly: true})
	return c.Redirect(localPath(c.Query("next")), fiber.StatusSeeOther)
}

// localPath returns next if it is a path on this site, else "/": no open redirect via "//host",
// "/\host", schemes or control characters.
func localPath(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n\t\\") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}
