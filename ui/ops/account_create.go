package ops

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/vendor"
)

// AccountNewPage is the data of account_new.html.
type AccountNewPage struct {
	Page
	LoginID, Name, Role string
}

func (u *UI) accountNew(c *fiber.Ctx) error {
	return u.Render(c, "account_new", &AccountNewPage{Page: u.Page(c), Role: string(tenant.OpsRoleOperator)})
}

// AccountIssuedPage is the data of account_issued.html: an issued password, shown this once.
type AccountIssuedPage struct {
	Page
	Acc      AccountRow
	Password string
	Created  bool // created rather than reset
	TOTP     bool // reset with its TOTP: enrolled again at the next login
}

// accountCreate adds a vendor account (tenant.OpsAccounts.Create) and shows its issued password
// once.
func (u *UI) accountCreate(c *fiber.Ctx) error {
	p := &AccountNewPage{Page: u.Page(c), LoginID: strings.Clone(c.FormValue("login_id")),
		Name: strings.Clone(c.FormValue("display_name")), Role: strings.Clone(c.FormValue("role"))}
	acc, initial, err := u.deps.Ops.Create(c.UserContext(), p.LoginID, p.Name, tenant.OpsRole(p.Role), actorOf(c))
	if f := vendor.FormError(err); f != nil {
		p.Fail(f, "login_id", "display_name", "role")
		return u.RenderForm(c, "account_new", p)
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return u.Render(c, "account_issued", &AccountIssuedPage{Page: u.Page(c), Acc: u.row(acc), Password: initial, Created: true})
}
