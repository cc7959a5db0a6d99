package ops

import (
	"context"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/jobs/paging"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/vendor"
)

// Paging is the escalation chain as the console uses it (jobs/paging.Service).
type Paging interface {
	Pages(ctx context.Context, limit int) ([]paging.Page, error)
	Get(ctx context.Context, id uuid.UUID) (*paging.Page, error)
	Timeline(ctx context.Context, id uuid.UUID) ([]paging.Event, error)
	Acknowledge(ctx context.Context, id uuid.UUID, generation int, by, via string) (bool, error)
	Resolve(ctx context.Context, id uuid.UUID, by string) error
}

// pagesShown is how many pages the list shows, newest first.
const pagesShown = 100

// PageRow is one page of the escalation chain as the console shows it.
type PageRow struct {
	paging.Page
	Opened string // JST
}

// StateKey is the message key of the page's state.
func (r PageRow) StateKey() string {
	switch r.State {
	case paging.Triggered:
		return "ops.pages.state.triggered"
	case paging.Acknowledged:
		return "ops.pages.state.acknowledged"
	}
	return "ops.pages.state.resolved"
}

func pageRow(p paging.Page) PageRow {
	return PageRow{Page: p, Opened: p.CreatedAt.In(booking.JST).Format("2006-01-02 15:04:05")}
}

// PagesPage is the data of pages.html.
type PagesPage struct {
	Page
	Pages []PageRow
}

// EventRow is one line of a page's timeline.
type EventRow struct {
	At, Kind, Actor string
	Detail          map[string]any
}

// PageDetail is the data of page.html.
type PageDetail struct {
	Page
	P      PageRow
	Events []EventRow
}

func (u *UI) pagingOrNotFound() error {
	if u.deps.Paging == nil {
		return tenant.Errorf(tenant.NotFound, "error.not_found")
	}
	return nil
}

// pagesList lists the escalation chain's pages, newest first (paging.Service.Pages).
func (u *UI) pagesList(c *fiber.Ctx) error {
	if err := u.pagingOrNotFound(); err != nil {
		return err
	}
	list, err := u.deps.Paging.Pages(c.UserContext(), pagesShown)
	if err != nil {
		return err
	}
	p := &PagesPage{Page: u.Page(c)}
	for _, pg := range list {
		p.Pages = append(p.Pages, pageRow(pg))
	}
	if err := u.TakeFlash(c, &p.Page); err != nil {
		return err
	}
	return u.Render(c, "pages", p)
}

// pageShow shows one page with its timeline and, while it is open, the acknowledge and resolve
// forms (paging.Service.Get, Timeline).
func (u *UI) pageShow(c *fiber.Ctx) error {
	if err := u.pagingOrNotFound(); err != nil {
		return err
	}
	id, err := idOf(c)
	if err != nil {
		return err
	}
	pg, err := u.deps.Paging.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	evs, err := u.deps.Paging.Timeline(c.UserContext(), id)
	if err != nil {
		return err
	}
	p := &PageDetail{Page: u.Page(c), P: pageRow(*pg)}
	for _, e := range evs {
		p.Events = append(p.Events, EventRow{At: e.At.In(booking.JST).Format("2006-01-02 15:04:05"), Kind: e.Kind, Actor: e.Actor, Detail: e.Detail})
	}
	if err := u.TakeFlash(c, &p.Page); err != nil {
		return err
	}
	return u.Render(c, "page", p)
}

// pageAck acknowledges the page from the console (paging.Service.Acknowledge): the calls stop.
func (u *UI) pageAck(c *fiber.Ctx) error {
	if err := u.pagingOrNotFound(); err != nil {
		return err
	}
	id, err := idOf(c)
	if err != nil {
		return err
	}
	ok, err := u.deps.Paging.Acknowledge(c.UserContext(), id, 0, "vendor:"+vendor.AccountOf(c).LoginID, paging.ViaConsole)
	if err != nil {
		return err
	}
	flash := "ops.pages.acked"
	if !ok {
		flash = "ops.pages.ack_ignored"
	}
	return u.FlashRedirect(c, flash, "/pages/"+id.String())
}

// pageResolve resolves the page by hand (paging.Service.Resolve): notifications stop and the
// contacts notified get the all-clear.
func (u *UI) pageResolve(c *fiber.Ctx) error {
	if err := u.pagingOrNotFound(); err != nil {
		return err
	}
	id, err := idOf(c)
	if err != nil {
		return err
	}
	if err := u.deps.Paging.Resolve(c.UserContext(), id, "vendor:"+vendor.AccountOf(c).LoginID); err != nil {
		return err
	}
	return u.FlashRedirect(c, "ops.pages.resolved", "/pages/"+id.String())
}
