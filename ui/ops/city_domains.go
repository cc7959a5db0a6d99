package ops

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/vendor"
)

// cityDomains lists the city's custom domains with the add form and, for each, a link to the
// check page that removes it.
func (u *UI) cityDomains(c *fiber.Ctx) error { return u.showCity(c, "city_domains") }

// cityDomainAdd maps a custom host name to the city (tenant.Service.AddDomain). The ingress host
// and TLS certificate stay a deployment step, which the page says.
func (u *UI) cityDomainAdd(c *fiber.Ctx) error {
	host := strings.Clone(c.FormValue("domain"))
	if _, err := u.deps.Cities.AddDomain(c.UserContext(), slugOf(c), host, actorOf(c)); err != nil {
		if f := vendor.FormError(err); f != nil {
			return u.refuseCity(c, "city_domains", host, f)
		}
		return err
	}
	return u.doneCity(c, "ops.domains.added", "/domains")
}

// cityDomainRemoveShow is the check page before unmapping a custom domain; a host name the city
// does not have is 404.
func (u *UI) cityDomainRemoveShow(c *fiber.Ctx) error {
	p, err := u.cityPage(c)
	if err != nil {
		return err
	}
	p.Value = strings.Clone(c.Query("domain"))
	if !slices.Contains(p.City.Domains, p.Value) {
		return tenant.Errorf(tenant.NotFound, "tenant.domain.not_found")
	}
	return u.Render(c, "city_domain_remove", p)
}

// cityDomainRemove unmaps it (tenant.Service.RemoveDomain); one already gone is 404.
func (u *UI) cityDomainRemove(c *fiber.Ctx) error {
	err := u.deps.Cities.RemoveDomain(c.UserContext(), slugOf(c), strings.Clone(c.FormValue("domain")), actorOf(c))
	if e := tenant.AsError(err); e != nil && e.Key == "tenant.domain.not_found" {
		return tenant.Errorf(tenant.NotFound, e.Key) // the button named it: not a field to correct
	}
	if err != nil {
		return err
	}
	return u.doneCity(c, "ops.domains.removed", "/domains")
}
