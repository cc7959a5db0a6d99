package ui

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// The waiting room in front of the citizens' booking paths (web.WaitingRoom: a set number of
// requests per city and process, the others queued first come first served). Staff, the home
// page, static files and probes never pass through it.
const (
	waitTicketCookie = "mdg_wait" // a queued citizen's ticket (web.WaitingRoom)
	waitPassCookie   = "mdg_pass" // a citizen let in: their next requests do not queue again
	waitManualParam  = "wait"     // "?wait=manual": the queue page without automatic refresh
)

// queued puts the waiting room in front of a citizen chain (web pages and the JSON API).
func (u *UI) queued(chain []fiber.Handler) []fiber.Handler {
	return append([]fiber.Handler{u.waitingRoom}, chain...)
}

// waitingRoom lets the request into the city's booking paths, or answers for it: a browser gets
// the queue page with its ticket, an API client 429 with Retry-After.
//
// The queue page answers 200, not 503: the request did what a browser asked (it took a place in
// line), a 5xx would count as a failure on the ingress and in the rush measurements and may be
// replaced by a proxy's own error page, and browsers show and refresh either the same way. It
// is never stored (no-store) nor indexed.
func (u *UI) waitingRoom(c *fiber.Ctx) error {
	if u.room.Limit() <= 0 {
		return c.Next()
	}
	city := web.TenantOf(c).Slug
	api := web.IsAPI(c)
	pass, ticket := "", ""
	if !api { // the API honours no cookie
		pass, ticket = c.Cookies(waitPassCookie), c.Cookies(waitTicketCookie)
	}
	adm, q := u.room.Enter(city, pass, ticket, !api)
	if q != nil {
		wait := max(1, int(math.Ceil(q.Wait.Seconds())))
		if api {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(wait))
			return tenant.Errorf(tenant.Throttled, "waiting.busy")
		}
		u.waitCookie(c, waitTicketCookie, q.Ticket)
		return u.renderWaiting(c, q)
	}
	defer adm.Release()
	if !api {
		u.waitCookie(c, waitPassCookie, adm.Pass)
		if ticket != "" {
			u.waitCookie(c, waitTicketCookie, "")
		}
	}
	if u.deps.admitted != nil {
		u.deps.admitted(c)
	}
	return c.Next()
}

// waitCookie sets (or, with value "", removes) one of the waiting room's cookies. Both last as
// long as the browser session: the pass carries its own expiry, the ticket none.
func (u *UI) waitCookie(c *fiber.Ctx, name, value string) {
	ck := &fiber.Cookie{Name: name, Value: value, Path: "/", HTTPOnly: true, Secure: u.deps.SecureCookies,
		SameSite: fiber.CookieSameSiteLaxMode}
	if value == "" {
		ck.Expires = time.Unix(1, 0)
		ck.MaxAge = -1
	}
	c.Cookie(ck)
}

// WaitingPage is the data of citizen/waiting.html.
type WaitingPage struct {
	BasePage
	Position    int
	WaitMinutes int    // expected wait, rounded up; 0: under a minute
	Refresh     int    // seconds until the page asks again; 0: the citizen turned it off
	Next        string // where the page comes back to (the page asked for, or the form's page)
	Manual      string // Next without automatic refresh
	Auto        string // Next with automatic refresh
	Posted      bool   // the request was a form: it was not processed
}

// renderWaiting shows the queue page. Its refresh (the Refresh header) asks for the same address
// again (a GET), so a citizen let in lands where they were going; a form post cannot be repeated
// that way, so it comes back to the form's page, and the page says the form was not sent.
func (u *UI) renderWaiting(c *fiber.Ctx, q *web.Queued) error {
	p := &WaitingPage{BasePage: u.base(c), Position: q.Position, Refresh: q.Refresh,
		WaitMinutes: int(math.Ceil(q.Wait.Minutes()))}
	if q.Wait < time.Minute {
		p.WaitMinutes = 0
	}
	next := localPath(c.OriginalURL())
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		p.Posted, next = true, formPage(c.Path())
	}
	base, query, _ := strings.Cut(next, "?")
	args, _ := url.ParseQuery(query)
	manual := args.Get(waitManualParam) == "manual"
	args.Del(waitManualParam)
	p.Auto, p.Manual = withQuery(base, args, ""), withQuery(base, args, "manual")
	p.Next = p.Auto
	if manual {
		p.Refresh, p.Next = 0, p.Manual
	}
	p.Path = p.Next // the language switch comes back here
	if p.Refresh > 0 {
		// The refresh is an HTTP header, not a <meta http-equiv="refresh"> in the page: browsers
		// follow both alike, and the page states the refresh and offers to turn it off.
		c.Set("Refresh", strconv.Itoa(p.Refresh)+"; url="+p.Next)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Robots-Tag", "noindex")
	return u.render(c, "citizen/waiting", p)
}

// withQuery is path with args, and "wait=manual" when wait is set.
func withQuery(path string, args url.Values, wait string) string {
	q := args.Encode()
	if wait != "" {
		if q != "" {
			q += "&"
		}
		q += waitManualParam + "=" + wait
	}
	if q == "" {
		return path
	}
	return path + "?" + q
}

// formPage is the page whose form posts to path: where a queued post comes back to.
func formPage(path string) string {
	switch {
	case path == "/login":
		return "/login"
	case path == "/family" || strings.HasPrefix(path, "/family/"):
		return "/family"
	case path == "/reserve" || strings.HasPrefix(path, "/hold"):
		return "/confirm"
	case strings.HasPrefix(path, "/reservation"):
		return "/reservation"
	}
	return "/menu"
}
