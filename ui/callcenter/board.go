package callcenter

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/vendor"
)

// boardDays is how many days the board shows at once, from its first day.
const boardDays = 14

// Board is the board's data: every active place with its times in [From, To].
type Board struct {
	Lang     string
	Slug     string
	From, To booking.Date
	FirstDay booking.Date // citizens' first day: times before it need a reason
	Places   []booking.BoardPlace
}

// BoardPage is the data of board.html.
type BoardPage struct {
	CityPage
	Board
	Prev, Next *booking.Date // the neighbouring fortnights, when within the booking horizon
	Live       string        // the updates' address ("": none, reload to refresh)
}

// boardFrom reads ?from= (default and minimum today, maximum the last day of the horizon).
func (u *UI) boardFrom(c *fiber.Ctx, t *tenant.Tenant) (from, last booking.Date) {
	today := booking.DateOf(u.now())
	last = today.AddDays(booking.HorizonDays(t))
	from = today
	if d, err := booking.ParseDate(c.Query("from")); err == nil && today.Before(d) && !last.Before(d) {
		from = d
	}
	return from, last
}

// readBoard reads the board of t for the fortnight from from.
func (u *UI) readBoard(ctx context.Context, t *tenant.Tenant, from booking.Date) (*Board, error) {
	b := &Board{Lang: "ja", Slug: t.Slug, From: from, To: from.AddDays(boardDays - 1), FirstDay: booking.CitizensFirstDay(t, u.now())}
	var err error
	b.Places, err = u.deps.Booking.Board(ctx, t, b.From, b.To)
	return b, err
}

// board shows every place's times for two weeks with the places left, and updates them as any
// channel books, changes or cancels (Server-Sent Events; without JavaScript, reloading does).
func (u *UI) board(c *fiber.Ctx) error {
	t := cityOf(c)
	from, last := u.boardFrom(c, t)
	b, err := u.readBoard(ctx(c), t, from)
	if err != nil {
		return err
	}
	p := &BoardPage{CityPage: *u.cityPage(c), Board: *b}
	if today := booking.DateOf(u.now()); today.Before(from) {
		prev := laterOf(from.AddDays(-boardDays), today)
		p.Prev = &prev
	}
	if next := from.AddDays(boardDays); !last.Before(next) {
		p.Next = &next
	}
	if u.live != nil {
		p.Live = "/c/" + t.Slug + "/board/live?from=" + from.String()
	}
	return u.Render(c, "board", p)
}

func laterOf(a, b booking.Date) booking.Date {
	if b.Before(a) {
		return a
	}
	return b
}

// boardLive streams the board's fortnight to the page: the same table, drawn once per change for
// every screen that shows it, without a query per screen.
func (u *UI) boardLive(c *fiber.Ctx) error {
	if u.live == nil {
		return tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	t := cityOf(c)
	from, _ := u.boardFrom(c, t)
	// The stream ends with the operator's session (logout, idle timeout, account disabled).
	id := strings.Clone(vendor.SessionOf(c).ID)
	return u.live.StreamWhile(c, t.ID, from.String(), func(ctx context.Context) bool {
		ok, err := u.Sess.Exists(ctx, id)
		return ok || err != nil
	})
}

// renderBoard draws the board table of one city and fortnight (the live feed's render).
func (u *UI) renderBoard(ctx context.Context, tenantID uuid.UUID, key string) ([]byte, error) {
	t, err := u.deps.Dir.Get(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	from, err := booking.ParseDate(key)
	if err != nil {
		return nil, err
	}
	b, err := u.readBoard(ctx, t, from)
	if err != nil {
		return nil, err
	}
	return u.Views.Fragment("board", "cc-board", b)
}
