package ops

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/vendor"
)

// Training opens and resets a city's training copy (研修用; booking.Service).
type Training interface {
	OpenTraining(ctx context.Context, src *tenant.Tenant, by tenant.Actor) (*tenant.Tenant, string, error)
	ResetTraining(ctx context.Context, t *tenant.Tenant, by tenant.Actor) error
}

// CityTrainingPage is the data of city_training.html (the check page before opening the copy)
// and city_training_reset.html: the city, and the host label its copy gets.
type CityTrainingPage struct {
	CityPage
	Slug     string // tenant.TrainingSlug of the city
	Cards    int    // fictitious cards, bookings and their birthday (MMDD) in a fresh copy
	Bookings int
	Birth    string
}

func (u *UI) cityTrainingPage(c *fiber.Ctx) (*CityTrainingPage, error) {
	cp, err := u.cityPage(c)
	if err != nil {
		return nil, err
	}
	return &CityTrainingPage{CityPage: *cp, Slug: tenant.TrainingSlug(cp.City.Slug), Cards: booking.TrainingCards,
		Bookings: booking.TrainingBookings, Birth: booking.TrainingBirth}, nil
}

// cityTrainingShow is the check page before opening the city's training copy (or, when it has
// one, a link to it).
func (u *UI) cityTrainingShow(c *fiber.Ctx) error {
	p, err := u.cityTrainingPage(c)
	if err != nil {
		return err
	}
	return u.Render(c, "city_training", p)
}

// CityTrainingCreatedPage is the data of city_training_created.html: the training city, its
// addresses, and its administrator's initial password, shown this once.
type CityTrainingCreatedPage struct {
	CityTrainingPage
	Copy       *tenant.Tenant
	CopyURL    string // the training city's citizens' site and staff pages
	CopyAdmin  string
	AdminLogin string
	Password   string
}

// cityTrainingCreate opens the city's training copy (booking.Service.OpenTraining: one
// transaction) and shows its administrator's initial password once; a refusal comes back on the
// check page.
func (u *UI) cityTrainingCreate(c *fiber.Ctx) error {
	p, err := u.cityTrainingPage(c)
	if err != nil {
		return err
	}
	t, initial, err := u.deps.Training.OpenTraining(c.UserContext(), &p.City.Tenant, actorOf(c))
	if f := vendor.FormError(err); f != nil {
		p.Fail(f)
		return u.RenderForm(c, "city_training", p)
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return u.Render(c, "city_training_created", &CityTrainingCreatedPage{CityTrainingPage: *p, Copy: t,
		CopyURL: u.cityURL(c, t.Slug, "/"), CopyAdmin: u.cityURL(c, t.Slug, "/admin"), AdminLogin: tenant.TrainingAdminLogin, Password: initial})
}

// cityTrainingResetShow is the check page before putting a training city back to its fresh state.
func (u *UI) cityTrainingResetShow(c *fiber.Ctx) error {
	p, err := u.cityTrainingPage(c)
	if err != nil {
		return err
	}
	return u.Render(c, "city_training_reset", p)
}

// cityTrainingReset puts the training city back to its fresh state now
// (booking.Service.ResetTraining), as the nightly job does.
func (u *UI) cityTrainingReset(c *fiber.Ctx) error {
	p, err := u.cityTrainingPage(c)
	if err != nil {
		return err
	}
	err = u.deps.Training.ResetTraining(c.UserContext(), &p.City.Tenant, actorOf(c))
	if f := vendor.FormError(err); f != nil {
		p.Fail(f)
		return u.RenderForm(c, "city_training_reset", p)
	}
	if err != nil {
		return err
	}
	return u.doneCity(c, "ops.training.reset.done", "")
}
