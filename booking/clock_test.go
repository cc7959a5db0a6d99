package booking_test

import (
	"testing"

	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// TestClockCanary fails when MADOGUCHI_TEST_NOW is set and the clocks this package's fixtures
// hand to the booking service stand elsewhere (`make test-dates` sets it).
func TestClockCanary(t *testing.T) {
	d := tenanttest.NewDB(t)
	tenanttest.CheckClock(t, "bookingtest.Service", bookingtest.Service(d.App, nil).Now)
	tenanttest.CheckClock(t, "booking fixture", newFixture(t, d, 1).svc.Now)
}
