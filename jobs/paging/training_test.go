package paging

import (
	"context"
	"strings"
	"testing"

	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
)

// TestTrainingCityNeverPages: an alert whose tenant label names a training city (研修用) is
// recorded and pages nobody, alone or in a group with a real city's alert (whose page then
// resolves with it, the training alert still firing); the same alert for the real city pages.
func TestTrainingCityNeverPages(t *testing.T) {
	w := newWorld(t, Config{})
	w.policy(t)
	ctx := context.Background()
	tsu, _, err := tenant.NewService(w.db.App).Onboard(ctx, tenant.OnboardInput{Slug: "tsu", Name: "津市", Code: "242012", AdminLogin: "tsu.admin"}, tenant.VendorCLI())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bookingtest.Service(w.db.App, w.clock.Now).OpenTraining(ctx, tsu, tenant.VendorCLI()); err != nil {
		t.Fatal(err)
	}
	// payload is the fixture for the cities' alerts (one alert per city), in group key.
	payload := func(status, key string, cities ...string) string {
		base := fixture(status)
		one := base[strings.Index(base, `    {`):strings.LastIndex(base, `}`)]
		one = one[:strings.LastIndex(one, `}`)+1]
		var alerts []string
		for _, c := range cities {
			a := strings.Replace(one, `"instance": "web-1"`, `"tenant": "`+c+`"`, 1)
			alerts = append(alerts, strings.Replace(a, `"1a30ba71cca2921f"`, `"fp-`+c+`"`, 1))
		}
		base = strings.Replace(base, one, strings.Join(alerts, ",\n"), 1)
		return strings.Replace(base, `"groupKey": "{}/{severity=\"critical\"}:{alertname=\"ProbeFailure\"}"`, `"groupKey": "`+key+`"`, 1)
	}
	post := func(body string) {
		t.Helper()
		if st, resp := w.post(t, amToken, body); st != 200 {
			t.Fatalf("receiver = %d %s", st, resp)
		}
		w.tick(t)
	}
	pages := func() []Page {
		t.Helper()
		ps, err := w.svc.Pages(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}

	post(payload("firing", "training-only", "tsu-kensyu"))
	if ps := pages(); len(ps) != 0 || w.sink.Count() != 0 || len(w.phone.Calls()) != 0 {
		t.Fatalf("a training city's alert paged: %d pages, %d mails, %d calls", len(ps), w.sink.Count(), len(w.phone.Calls()))
	}
	var recorded int
	if err := w.db.App.NewSelect().Table("alerts").ColumnExpr("count(*)").Where("fingerprint = 'fp-tsu-kensyu' AND page_id IS NULL").Scan(ctx, &recorded); err != nil || recorded != 1 {
		t.Errorf("the training city's alert recorded %d times (%v); want once, with no page", recorded, err)
	}

	post(payload("firing", "mixed", "tsu-kensyu", "tsu"))
	p := w.onlyPage(t)
	if p.State != Triggered || w.sink.Count() != 1 {
		t.Fatalf("the real city's alert: page %s, %d mails; want a triggered page and A's mail", p.State, w.sink.Count())
	}
	body := payload("firing", "mixed", "tsu-kensyu", "tsu")
	body = strings.Replace(body, `"status": "firing",
      "labels": {"alertname": "ProbeFailure", "tenant": "tsu"`, `"status": "resolved",
      "labels": {"alertname": "ProbeFailure", "tenant": "tsu"`, 1)
	post(body)
	if p := w.onlyPage(t); p.State != Resolved {
		t.Errorf("with the real city's alert resolved the page is %s; the training city's alert keeps it open", p.State)
	}
}
