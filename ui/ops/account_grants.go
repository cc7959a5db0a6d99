package ops

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/vendor"
)

// GrantsPage is the data of account_grants.html: the cities an operator may serve.
type GrantsPage struct {
	Page
	Acc    AccountRow
	Grants []tenant.Grant
	Slug   string // the grant form's city as typed
}

// grantsPage loads the account (an unknown id is 404) and, for an operator, their grants.
func (u *UI) grantsPage(c *fiber.Ctx, id uuid.UUID) (*GrantsPage, error) {
	acc, err := u.deps.Ops.ByID(c.UserContext(), id)
	if err != nil {
		return nil, err
	}
	p := &GrantsPage{Page: u.Page(c), Acc: u.row(acc)}
	if acc.Role.Serves() {
		if p.Grants, err = u.deps.Ops.Grants(c.UserContext(), id); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (u *UI) accountGrants(c *fiber.Ctx) error {
	id, err := idOf(c)
	if err != nil {
		return err
	}
	p, err := u.grantsPage(c, id)
	if err != nil {
		return err
	}
	if err := u.TakeFlash(c, &p.Page); err != nil {
		return err
	}
	return u.Render(c, "account_grants", p)
}

// accountGrant lets the operator serve a city (tenant.OpsAccounts.Grant), written to the city's
// audit log; a city that does not exist is said beside the field.
func (u *UI) accountGrant(c *fiber.Ctx) error {
	id, err := idOf(c)
	if err != nil {
		return err
	}
	slug := strings.Clone(c.FormValue("slug"))
	err = u.deps.Ops.Grant(c.UserContext(), id, slug, actorOf(c))
	// The form has one field, the city: every refusal is said there, an unknown city included
	// (typed here, it is a field to correct, not a missing page).
	var f map[string]string
	if e := tenant.AsError(err); e != nil && e.Key == "tenant.not_found" {
		f = map[string]string{"slug": "ops.grants.no_city"}
	} else if fields := vendor.FormError(err); fields != nil {
		f = map[string]string{"slug": tenant.AsError(err).Key}
	}
	if f != nil {
		p, perr := u.grantsPage(c, id)
		if perr != nil {
			return perr
		}
		p.Slug = slug
		p.Fail(f, "slug")
		return u.RenderForm(c, "account_grants", p)
	}
	if err != nil {
		return err
	}
	return u.FlashRedirect(c, "ops.grants.granted", "/accounts/"+id.String()+"/grants")
}

// accountRevoke ends the operator's grant of a city (tenant.OpsAccounts.Revoke); one that is not
// there is 404.
func (u *UI) accountRevoke(c *fiber.Ctx) error {
	id, err := idOf(c)
	if err != nil {
		return err
	}
	if err := u.deps.Ops.Revoke(c.UserContext(), id, strings.Clone(c.FormValue("slug")), actorOf(c)); err != nil {
		return err
	}
	return u.FlashRedirect(c, "ops.grants.revoked", "/accounts/"+id.String()+"/grants")
}
