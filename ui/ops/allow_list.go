package ops

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/vendor"
)

// consoles are the vendor's consoles whose allow-lists this page keeps, in the page's order.
var consoles = []tenant.Console{tenant.ConsoleOps, tenant.ConsoleCallCenter}

// consoleOf parses a console name from a form or query; any other value is 404.
func consoleOf(s string) (tenant.Console, error) {
	for _, k := range consoles {
		if string(k) == s {
			return k, nil
		}
	}
	return "", tenant.Errorf(tenant.NotFound, "ops.allow.not_found")
}

// AllowList is one console's allow-list.
type AllowList struct {
	Console tenant.Console
	Entries []tenant.AllowEntry
}

// AllowPage is the data of allow_list.html and allow_remove.html.
type AllowPage struct {
	Page
	Lists    []AllowList // allow_list: both consoles' lists
	ClientIP string      // the address this member's requests come from
	// The add form as typed (allow_list), or the entry to remove (allow_remove).
	Console, CIDR, Note string
	Covers              bool // allow_remove: the entry covers ClientIP
}

func (u *UI) allowPageData(c *fiber.Ctx) (*AllowPage, error) {
	p := &AllowPage{Page: u.Page(c), ClientIP: c.IP(), Console: string(tenant.ConsoleOps)}
	for _, k := range consoles {
		list, err := u.deps.Ops.AllowList(c.UserContext(), k)
		if err != nil {
			return nil, err
		}
		p.Lists = append(p.Lists, AllowList{Console: k, Entries: list})
	}
	return p, nil
}

// allowPage shows both consoles' allow-lists (tenant.OpsAccounts.AllowList) and the add form.
func (u *UI) allowPage(c *fiber.Ctx) error {
	p, err := u.allowPageData(c)
	if err != nil {
		return err
	}
	if err := u.TakeFlash(c, &p.Page); err != nil {
		return err
	}
	return u.Render(c, "allow_list", p)
}

// allowAdd adds a network to a console's list (tenant.OpsAccounts.Allow).
func (u *UI) allowAdd(c *fiber.Ctx) error {
	k, cidr, note := strings.Clone(c.FormValue("console")), strings.Clone(c.FormValue("cidr")), strings.Clone(c.FormValue("note"))
	_, err := u.deps.Ops.Allow(c.UserContext(), tenant.Console(k), cidr, note, actorOf(c))
	if f := vendor.FormError(err); f != nil {
		p, perr := u.allowPageData(c)
		if perr != nil {
			return perr
		}
		p.Console, p.CIDR, p.Note = k, cidr, note
		p.Fail(f, "console", "cidr", "note")
		return u.RenderForm(c, "allow_list", p)
	}
	if err != nil {
		return err
	}
	return u.FlashRedirect(c, "ops.allow.added", "/allow-list")
}

// allowRemovePage is the check page's data: the entry must be on the console's list (else 404).
func (u *UI) allowRemovePage(c *fiber.Ctx, console, cidr string) (*AllowPage, error) {
	k, err := consoleOf(console)
	if err != nil {
		return nil, err
	}
	list, err := u.deps.Ops.AllowList(c.UserContext(), k)
	if err != nil {
		return nil, err
	}
	for _, e := range list {
		if e.CIDR == cidr {
			return &AllowPage{Page: u.Page(c), ClientIP: c.IP(), Console: string(k), CIDR: e.CIDR, Note: e.Note,
				Covers: tenant.AllowListContains([]string{e.CIDR}, c.IP())}, nil
		}
	}
	return nil, tenant.Errorf(tenant.NotFound, "ops.allow.not_found")
}

func (u *UI) allowRemoveShow(c *fiber.Ctx) error {
	p, err := u.allowRemovePage(c, strings.Clone(c.Query("console")), strings.Clone(c.Query("cidr")))
	if err != nil {
		return err
	}
	return u.Render(c, "allow_remove", p)
}

// allowRemove removes the entry (tenant.OpsAccounts.Disallow), which refuses to remove the last
// entry of this console's list that covers the member's own address.
func (u *UI) allowRemove(c *fiber.Ctx) error {
	console, cidr := strings.Clone(c.FormValue("console")), strings.Clone(c.FormValue("cidr"))
	k, err := consoleOf(console)
	if err != nil {
		return err
	}
	err = u.deps.Ops.Disallow(c.UserContext(), k, cidr, actorOf(c))
	if f := vendor.FormError(err); f != nil {
		p, perr := u.allowRemovePage(c, console, cidr)
		if perr != nil {
			return perr
		}
		p.Fail(f, "cidr")
		return u.RenderForm(c, "allow_remove", p)
	}
	if err != nil {
		return err
	}
	return u.FlashRedirect(c, "ops.allow.removed", "/allow-list")
}
