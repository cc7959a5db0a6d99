package ui_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
)

// TestSessionIdleRenewedByActivity: a clerk's and a citizen's session time out after 30 minutes
// without a request, counted from the last request, not from the last change to the session:
// with a session about to expire, one page view gives it 30 minutes again.
func TestSessionIdleRenewedByActivity(t *testing.T) {
	opt, err := redis.ParseURL(redisURL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	e := newEnv(t, rdb)
	ctx := context.Background()
	admAccount(t, e, e.city, "tanaka", tenant.RoleStaff, "counter password one")
	card := bookingtest.MustCard(t, e.svc, e.city, "0312")
	addr := serve(t, e)
	host := e.city.Slug + ".localhost"

	renewed := func(b *browser, cookie, path string) {
		t.Helper()
		key := "mdg:sess:" + cookie + ":" + cookieOf(b, cookie)
		if err := rdb.Expire(ctx, key, 5*time.Second).Err(); err != nil {
			t.Fatal(err)
		}
		b.get(path)
		b.want(200)
		ttl, err := rdb.TTL(ctx, key).Result()
		if err != nil || ttl < 29*time.Minute || ttl > 30*time.Minute {
			t.Errorf("%s: idle time left after a request = %s, %v; want 30 minutes", cookie, ttl, err)
		}
	}

	clerk := newBrowser(t, addr, host)
	admLogin(t, clerk, "tanaka", "counter password one")
	renewed(clerk, "mdg_staff", "/admin")

	citizen := newBrowser(t, addr, host)
	citizen.get("/login")
	citizen.post("/login", url.Values{"card_no": {card.CardNo}, "month": {"3"}, "day": {"12"}})
	citizen.want(200, "受け取る人")
	renewed(citizen, "mdg_sid", "/menu")
}
