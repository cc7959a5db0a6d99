package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
	"github.com/madoguchi/madoguchi/ui/web"
)

// apiResult is one API response, with the body decoded when it is a JSON object.
type apiResult struct {
	status       int
	header       http.Header
	body         string
	obj          map[string]any
	requestValid bool // openapi.json accepts the request (checkContract)
}

func (r apiResult) str(key string) string { s, _ := r.obj[key].(string); return s }

// api sends one request to the env's app. body is sent as is, with Content-Type
// application/json unless hdr sets another; token, when set, goes in Authorization. Request and
// answer are held to openapi.json (checkContract): an answer that drifts from it fails t.
func (e *env) api(t *testing.T, method, host, path, token, body string, hdr ...string) apiResult {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Host = host
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	sent := contractRequest(method, path, body, req.Header)
	resp, err := e.app.Test(req, 10000)
	if err != nil {
		t.Fatalf("%s %s%s: %v", method, host, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := apiResult{status: resp.StatusCode, header: resp.Header, body: string(b)}
	_ = json.Unmarshal(b, &r.obj)
	r.requestValid = checkContract(t, sent, resp.StatusCode, resp.Header, b)
	return r
}

// mustToken logs a card in through the API and returns the bearer token.
func (e *env) mustToken(t *testing.T, host, cardNo, birth string) string {
	t.Helper()
	r := e.api(t, "POST", host, "/api/v1/session", "", fmt.Sprintf(`{"card_no":%q,"birth":%q}`, cardNo, birth))
	if r.status != 201 || len(r.str("token")) != 43 {
		t.Fatalf("POST /api/v1/session = %d %s, want 201 with a token", r.status, r.body)
	}
	return r.str("token")
}

// openAPIDoc is the parts of ui/openapi.json the tests read.
type openAPIDoc struct {
	OpenAPI    string                          `json:"openapi"`
	Paths      map[string]map[string]openAPIOp `json:"paths"`
	Security   []map[string][]string           `json:"security"`
	Components struct {
		SecuritySchemes map[string]struct{ Type, Scheme string } `json:"securitySchemes"`
		Schemas         map[string]json.RawMessage               `json:"schemas"`
	} `json:"components"`
}

type openAPIOp struct {
	Security  *[]map[string][]string     `json:"security"`
	Responses map[string]json.RawMessage `json:"responses"`
}

func loadOpenAPI(t *testing.T) (*openAPIDoc, map[string]any) {
	t.Helper()
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	var raw map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	return &doc, raw
}

// errorCodes returns the enum of the Error schema's code: every code the API may answer.
func errorCodes(t *testing.T) []string {
	t.Helper()
	doc, _ := loadOpenAPI(t)
	var s struct {
		Properties struct {
			Code struct {
				Enum []string `json:"enum"`
			} `json:"code"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(doc.Components.Schemas["Error"], &s); err != nil || len(s.Properties.Code.Enum) == 0 {
		t.Fatalf("openapi.json: Error.code has no enum (%v)", err)
	}
	return s.Properties.Code.Enum
}

var messageKeyRE = regexp.MustCompile(`^[a-z_]+(\.[a-z_0-9]+)+$`)

// checkAPIError asserts the shape every API error shares: its code is documented, both messages
// are translated (not a bare key), and a request id is given.
func checkAPIError(t *testing.T, r apiResult, codes []string) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type = %q, want application/json", ct)
	}
	if !slices.Contains(codes, r.str("code")) {
		t.Errorf("code %q is not in openapi.json's Error.code enum", r.str("code"))
	}
	for _, k := range []string{"message_ja", "message_en"} {
		if m := r.str(k); m == "" || messageKeyRE.MatchString(m) {
			t.Errorf("%s = %q, want a translated message", k, m)
		}
	}
	if r.str("request_id") == "" {
		t.Error("error has no request_id")
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("error Cache-Control = %q, want no-store", cc)
	}
}

func TestAPIScenarios(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	codes := errorCodes(t)
	host := e.city.Slug + ".localhost"
	now := e.clock.Now()

	loc := bookingtest.MustLocation(t, e.svc, e.city, "嬉野地域振興局", 1)
	slotA := bookingtest.FirstSlot(t, e.svc, e.city, loc, now)
	day, err := e.svc.SlotsOn(ctx, e.city, loc.ID, booking.DateFromDB(slotA.Day), bookingtest.Citizen)
	if err != nil || len(day) < 2 {
		t.Fatalf("SlotsOn = %d slots, %v; want at least 2", len(day), err)
	}
	slotB := day[1]
	closed, err := e.svc.AddLocation(ctx, e.city, booking.Location{Name: "閉鎖した出張所", Active: false}, bookingtest.Admin)
	if err != nil {
		t.Fatal(err)
	}
	me := bookingtest.MustCard(t, e.svc, e.city, "0312")
	kid := bookingtest.MustCard(t, e.svc, e.city, "1105")
	booked := bookingtest.MustCard(t, e.svc, e.city, "0101")
	if _, err := e.svc.Reserve(ctx, e.city, booking.ReserveInput{SlotID: slotA.ID, CardIDs: []uuid.UUID{booked.ID},
		Actor: tenant.Citizen("")}); err != nil { // slot A is now full (capacity 1)
		t.Fatal(err)
	}
	meTok := e.mustToken(t, host, me.CardNo, "0312")
	bookedTok := e.mustToken(t, host, booked.CardNo, "0101")

	// Another city, with its own location and slot.
	other := tenanttest.MustCreateTenant(t, e.db.App)
	otherLoc := bookingtest.MustLocation(t, e.svc, other, "他市役所", 1)
	otherSlot := bookingtest.FirstSlot(t, e.svc, other, otherLoc, now)

	// A city whose deadline is 3 days before the visit, with a booking for tomorrow made by staff:
	// too late for the citizen to change or cancel online.
	late := tenanttest.MustCreateTenant(t, e.db.App)
	three := 3
	late.Settings.BookingDeadlineDays = &three
	if err := tenant.NewService(e.db.App).UpdateSettings(ctx, late.ID, late.Settings); err != nil {
		t.Fatal(err)
	}
	lateHost := late.Slug + ".localhost"
	lateLoc := bookingtest.MustLocation(t, e.svc, late, "支所", 2)
	tomorrow := booking.DateOf(now).AddDays(1)
	// An evening counter tomorrow gives it times even on a public holiday or in the year-end closure.
	if err := e.svc.AddOverride(ctx, late, lateLoc.ID, tomorrow, booking.OverrideOpen,
		&booking.Window{Start: 17*60 + 15, End: 19 * 60, SlotMinutes: 15, Capacity: 2}, "夜間窓口", bookingtest.Admin); err != nil {
		t.Fatal(err)
	}
	soon, err := e.svc.SlotsBetween(ctx, late, lateLoc.ID, tomorrow, tomorrow)
	if err != nil || len(soon) == 0 {
		t.Fatalf("SlotsBetween(tomorrow) = %d slots, %v", len(soon), err)
	}
	lateCard := bookingtest.MustCard(t, e.svc, late, "0505")
	if _, err := e.svc.Reserve(ctx, late, booking.ReserveInput{SlotID: soon[0].ID, CardIDs: []uuid.UUID{lateCard.ID},
		Actor: tenant.Actor{Channel: tenant.ChannelStaff, Login: "test"}}); err != nil {
		t.Fatal(err)
	}
	lateTok := e.mustToken(t, lateHost, lateCard.CardNo, "0505")
	lateNew := bookingtest.FirstSlot(t, e.svc, late, lateLoc, now)

	dayStr := booking.DateFromDB(slotA.Day).String()
	avail := func(q string) string { return "/api/v1/availability?" + q }
	inDays := func(n int) string { return booking.DateFromDB(slotA.Day).AddDays(n).String() }
	reserve := func(slot string, extra string) string { return fmt.Sprintf(`{"slot_id":%q%s}`, slot, extra) }
	ws := []string{"WWW-Authenticate", `Bearer realm="madoguchi"`}

	tests := []struct {
		name     string
		method   string
		host     string // default: the city's host
		path     string
		token    string
		body     string
		hdr      []string
		status   int
		code     string   // the error code; "" for a success
		contains []string // in the body
		absent   []string
		header   []string // name, value pairs
	}{
		{name: "openapi document", method: "GET", path: "/api/v1/openapi.json", status: 200, contains: []string{`"openapi": "3.1.0"`}},

		// POST /api/v1/session
		{name: "login: text/plain", method: "POST", path: "/api/v1/session", body: `{"card_no":"123456789","birth":"0312"}`,
			hdr: []string{"Content-Type", "text/plain"}, status: 422, code: "content_type"},
		{name: "login: form post", method: "POST", path: "/api/v1/session", body: "card_no=123456789&birth=0312",
			hdr: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 422, code: "content_type"},
		{name: "login: bad JSON", method: "POST", path: "/api/v1/session", body: `{"card_no":`, status: 422, code: "bad_json"},
		{name: "login: two JSON values", method: "POST", path: "/api/v1/session", body: `{"card_no":"1","birth":"0312"} {}`, status: 422, code: "bad_json"},
		{name: "login: empty body", method: "POST", path: "/api/v1/session", hdr: []string{"Content-Type", "application/json"}, status: 422, code: "bad_json"},
		{name: "login: unknown field", method: "POST", path: "/api/v1/session", body: `{"card_no":"123456789","birth":"0312","password":"x"}`,
			status: 422, code: "unknown_field", contains: []string{`"password"`, "password"}},
		{name: "login: number where a string belongs", method: "POST", path: "/api/v1/session", body: `{"card_no":123456789,"birth":"0312"}`,
			status: 422, code: "api.field.type", contains: []string{`"card_no":"api.field.type"`}},
		{name: "login: 12-digit 個人番号", method: "POST", path: "/api/v1/session", body: `{"card_no":"1234-5678-9012","birth":"0312"}`,
			status: 422, code: "login.card_no.my_number", contains: []string{"12桁の個人番号", "My Number", `"card_no":"login.card_no.my_number"`}},
		{name: "login: 個人番号 and a bad birthday", method: "POST", path: "/api/v1/session", body: `{"card_no":"123456789012","birth":"9999"}`,
			status: 422, code: "login.card_no.my_number", contains: []string{`"birth":"login.birth.invalid"`}},
		{name: "login: birth and month both", method: "POST", path: "/api/v1/session", body: fmt.Sprintf(`{"card_no":%q,"birth":"0312","month":3}`, me.CardNo),
			status: 422, code: "api.birth.ambiguous"},
		{name: "login: month 13", method: "POST", path: "/api/v1/session", body: fmt.Sprintf(`{"card_no":%q,"month":13,"day":1}`, me.CardNo),
			status: 422, code: "api.month.range", contains: []string{`"month":"api.month.range"`}},
		{name: "login: day 32 is out of range, not a wrong type", method: "POST", path: "/api/v1/session", body: fmt.Sprintf(`{"card_no":%q,"month":3,"day":32}`, me.CardNo),
			status: 422, code: "api.day.range", contains: []string{`"day":"api.day.range"`}},
		{name: "login: a huge day", method: "POST", path: "/api/v1/session", body: fmt.Sprintf(`{"card_no":%q,"month":3,"day":123456789}`, me.CardNo),
			status: 422, code: "api.day.range"},
		{name: "login: a negative month", method: "POST", path: "/api/v1/session", body: fmt.Sprintf(`{"card_no":%q,"month":-3,"day":1}`, me.CardNo),
			status: 422, code: "api.month.range"},
		{name: "login: a fractional day", method: "POST", path: "/api/v1/session", body: fmt.Sprintf(`{"card_no":%q,"month":3,"day":1.5}`, me.CardNo),
			status: 422, code: "api.field.type", contains: []string{`"day":"api.field.type"`}},
		{name: "login: February 30", method: "POST", path: "/api/v1/session", body: fmt.Sprintf(`{"card_no":%q,"month":2,"day":30}`, me.CardNo),
			status: 422, code: "login.birth.invalid", contains: []string{`"day":"login.birth.invalid"`}},
		{name: "login: month without day", method: "POST", path: "/api/v1/session", body: fmt.Sprintf(`{"card_no":%q,"month":3}`, me.CardNo),
			status: 422, code: "login.birth.invalid", contains: []string{`"day":"login.birth.invalid"`}},
		{name: "login: an empty birth with month and day", method: "POST", path: "/api/v1/session", body: fmt.Sprintf(`{"card_no":%q,"birth":"","month":3,"day":12}`, me.CardNo),
			status: 422, code: "api.birth.ambiguous"},
		{name: "login: no birthday at all", method: "POST", path: "/api/v1/session", body: fmt.Sprintf(`{"card_no":%q}`, me.CardNo),
			status: 422, code: "login.birth.invalid"},
		{name: "login: birth null", method: "POST", path: "/api/v1/session", body: fmt.Sprintf(`{"card_no":%q,"birth":null}`, me.CardNo),
			status: 422, code: "api.field.null", contains: []string{`"birth":"api.field.null"`, "null"}},
		{name: "login: card_no null", method: "POST", path: "/api/v1/session", body: `{"card_no":null,"birth":"0312"}`,
			status: 422, code: "api.field.null", contains: []string{`"card_no":"api.field.null"`}},
		{name: "login: day null", method: "POST", path: "/api/v1/session", body: fmt.Sprintf(`{"card_no":%q,"month":3,"day":null}`, me.CardNo),
			status: 422, code: "api.field.null", contains: []string{`"day":"api.field.null"`}},
		{name: "login: wrong birthday", method: "POST", path: "/api/v1/session", body: fmt.Sprintf(`{"card_no":%q,"birth":"0313"}`, me.CardNo),
			status: 401, code: "login.failed", header: ws, absent: []string{"token"}},
		{name: "login: unknown card", method: "POST", path: "/api/v1/session", body: `{"card_no":"000000001","birth":"0313"}`,
			status: 401, code: "login.failed"},
		{name: "login: month and day as numbers", method: "POST", path: "/api/v1/session", body: fmt.Sprintf(`{"card_no":%q,"month":3,"day":"12"}`, toFullWidth(me.CardNo)),
			status: 201, contains: []string{`"token_type":"Bearer"`, `"expires_in":1800`, me.CardNo[6:]}, absent: []string{me.CardNo},
			header: []string{"Cache-Control", "no-store", "Set-Cookie", ""}},
		{name: "wrong method", method: "PUT", path: "/api/v1/session", body: `{}`, status: 405, code: "method_not_allowed"},
		{name: "unknown API path", method: "GET", path: "/api/v1/nope", status: 404, code: "not_found"},

		// Tokens
		{name: "logout without a token", method: "DELETE", path: "/api/v1/session", status: 401, code: "unauthorized", header: ws},
		{name: "no token", method: "GET", path: "/api/v1/reservations/current", status: 401, code: "unauthorized", header: ws},
		{name: "garbage token", method: "GET", path: "/api/v1/reservations/current", token: "abc", status: 401, code: "unauthorized"},
		{name: "unknown token", method: "GET", path: "/api/v1/reservations/current", token: strings.Repeat("A", 43), status: 401, code: "unauthorized"},
		{name: "token replayed on another city's host", method: "GET", host: other.Slug + ".localhost", path: "/api/v1/reservations/current",
			token: bookedTok, status: 401, code: "unauthorized"},
		{name: "session cookie is not accepted (read)", method: "GET", path: "/api/v1/reservations/current",
			hdr: []string{"Cookie", "mdg_sid=" + bookedTok}, status: 401, code: "unauthorized"},
		{name: "session cookie is not accepted (write)", method: "POST", path: "/api/v1/reservations", body: reserve(slotB.ID.String(), ""),
			hdr: []string{"Cookie", "mdg_sid=" + meTok, "X-CSRF-Token", "x"}, status: 401, code: "unauthorized"},
		{name: "the bearer token wins over a cookie", method: "GET", path: "/api/v1/reservations/current", token: meTok,
			hdr: []string{"Cookie", "mdg_sid=" + bookedTok}, status: 404, code: "reservation.none"},

		// GET /api/v1/locations
		{name: "locations", method: "GET", path: "/api/v1/locations", status: 200,
			contains: []string{"嬉野地域振興局", loc.ID.String(), `"guidance"`}, absent: []string{"他市役所", otherLoc.ID.String(), "閉鎖した出張所", "<script>"}},

		// GET /api/v1/availability
		{name: "availability: nothing given", method: "GET", path: avail(""), status: 422, code: "api.date.invalid",
			contains: []string{`"location":"api.location.invalid"`, `"to":"api.date.invalid"`}},
		{name: "availability: another city's location", method: "GET", path: avail("location=" + otherLoc.ID.String() + "&from=" + dayStr + "&to=" + dayStr),
			status: 404, code: "location.not_found"},
		{name: "availability: inactive location", method: "GET", path: avail("location=" + closed.ID.String() + "&from=" + dayStr + "&to=" + dayStr),
			status: 404, code: "location.not_found"},
		{name: "availability: unknown location", method: "GET", path: avail("location=" + uuid.NewString() + "&from=" + dayStr + "&to=" + dayStr),
			status: 404, code: "location.not_found"},
		{name: "availability: 93 days", method: "GET", path: avail("location=" + loc.ID.String() + "&from=" + dayStr + "&to=" + inDays(92)),
			status: 422, code: "api.range.too_long"},
		{name: "availability: to before from", method: "GET", path: avail("location=" + loc.ID.String() + "&from=" + dayStr + "&to=" + inDays(-1)),
			status: 422, code: "api.range.invalid"},
		{name: "availability: slots over 40 days", method: "GET", path: avail("location=" + loc.ID.String() + "&from=" + dayStr + "&to=" + inDays(39) + "&slots=1"),
			status: 422, code: "api.slots.too_long"},
		{name: "availability: slots outside its enum", method: "GET", path: avail("location=" + loc.ID.String() + "&from=" + dayStr + "&to=" + dayStr + "&slots=AAA"),
			status: 422, code: "api.slots.invalid", contains: []string{`"slots":"api.slots.invalid"`}},
		{name: "availability: slots given empty", method: "GET", path: avail("location=" + loc.ID.String() + "&from=" + dayStr + "&to=" + dayStr + "&slots="),
			status: 422, code: "api.slots.invalid"},
		{name: "availability: party given empty", method: "GET", path: avail("location=" + loc.ID.String() + "&from=" + dayStr + "&to=" + dayStr + "&party="),
			status: 422, code: "reserve.party.invalid"},
		{name: "availability: a location id in braces", method: "GET", path: avail("location={" + loc.ID.String() + "}&from=" + dayStr + "&to=" + dayStr),
			status: 422, code: "api.location.invalid"},
		{name: "availability: slots=true", method: "GET", path: avail("location=" + loc.ID.String() + "&from=" + dayStr + "&to=" + inDays(1) + "&slots=true"),
			status: 200, contains: []string{`"slots":[`}},
		{name: "availability: party of 7", method: "GET", path: avail("location=" + loc.ID.String() + "&from=" + dayStr + "&to=" + dayStr + "&party=7"),
			status: 422, code: "reserve.party.invalid"},
		{name: "availability: 92 days", method: "GET", path: avail("location=" + loc.ID.String() + "&from=" + dayStr + "&to=" + inDays(91)),
			status: 200, contains: []string{`"mark":"open"`}, absent: []string{`"slots"`}, header: []string{"Cache-Control", "no-cache"}},
		{name: "availability: one day lists its slots", method: "GET", path: avail("location=" + loc.ID.String() + "&from=" + dayStr + "&to=" + dayStr),
			status: 200, contains: []string{`"slots":[`, slotA.ID.String(), slotB.ID.String(), `"remaining":0`, "+09:00"}},

		// POST /api/v1/reservations
		{name: "reserve: no token", method: "POST", path: "/api/v1/reservations", body: reserve(slotB.ID.String(), ""), status: 401, code: "unauthorized"},
		{name: "reserve: text/plain", method: "POST", path: "/api/v1/reservations", token: meTok, body: reserve(slotB.ID.String(), ""),
			hdr: []string{"Content-Type", "text/plain"}, status: 422, code: "content_type"},
		{name: "reserve: unknown field", method: "POST", path: "/api/v1/reservations", token: meTok, body: reserve(slotB.ID.String(), `,"party":2`),
			status: 422, code: "unknown_field"},
		{name: "reserve: unknown field in a family member", method: "POST", path: "/api/v1/reservations", token: meTok,
			body: reserve(slotB.ID.String(), `,"family":[{"card_no":"1","birth":"0101","name":"x"}]`), status: 422, code: "unknown_field",
			contains: []string{`"family[0].name":"error.unknown_field"`}},
		{name: "reserve: bad slot id", method: "POST", path: "/api/v1/reservations", token: meTok, body: reserve("x", ""),
			status: 422, code: "api.slot_id.invalid"},
		{name: "reserve: bad e-mail", method: "POST", path: "/api/v1/reservations", token: meTok,
			body: reserve(slotB.ID.String(), `,"email":"a@example.jp\r\nBcc: x@evil.example"`), status: 422, code: "reserve.email.invalid"},
		{name: "reserve: e-mail null", method: "POST", path: "/api/v1/reservations", token: meTok, body: reserve(slotB.ID.String(), `,"email":null`),
			status: 422, code: "api.field.null", contains: []string{`"email":"api.field.null"`}},
		{name: "reserve: lang null", method: "POST", path: "/api/v1/reservations", token: meTok, body: reserve(slotB.ID.String(), `,"lang":null`),
			status: 422, code: "api.field.null", contains: []string{`"lang":"api.field.null"`}},
		{name: "reserve: slot_id null", method: "POST", path: "/api/v1/reservations", token: meTok, body: `{"slot_id":null}`,
			status: 422, code: "api.field.null", contains: []string{`"slot_id":"api.field.null"`}},
		{name: "reserve: family null", method: "POST", path: "/api/v1/reservations", token: meTok, body: reserve(slotB.ID.String(), `,"family":null`),
			status: 422, code: "api.field.null", contains: []string{`"family":"api.field.null"`}},
		{name: "reserve: a family member null", method: "POST", path: "/api/v1/reservations", token: meTok, body: reserve(slotB.ID.String(), `,"family":[null]`),
			status: 422, code: "api.field.null", contains: []string{`"family[0]":"api.field.null"`}},
		{name: "reserve: a family member's birth null", method: "POST", path: "/api/v1/reservations", token: meTok,
			body:   reserve(slotB.ID.String(), `,"family":[{"card_no":"123456789","birth":"0101"},{"card_no":"123456789","birth":null}]`),
			status: 422, code: "api.field.null", contains: []string{`"family[1].birth":"api.field.null"`}},
		{name: "reserve: a family member's day of the wrong type keeps its index", method: "POST", path: "/api/v1/reservations", token: meTok,
			body:   reserve(slotB.ID.String(), `,"family":[{"card_no":"123456789","month":1,"day":true}]`),
			status: 422, code: "api.field.type", contains: []string{`"family[0].day":"api.field.type"`}, absent: []string{`"family.day"`}},
		{name: "reserve: a family member's day out of range", method: "POST", path: "/api/v1/reservations", token: meTok,
			body:   reserve(slotB.ID.String(), fmt.Sprintf(`,"family":[{"card_no":%q,"month":11,"day":40}]`, kid.CardNo)),
			status: 422, code: "api.day.range", contains: []string{`"family[0].day":"api.day.range"`}},
		{name: "reserve: a family member that is not an object", method: "POST", path: "/api/v1/reservations", token: meTok,
			body: reserve(slotB.ID.String(), `,"family":["x"]`), status: 422, code: "api.field.type", contains: []string{`"family[0]":"api.field.type"`}},
		{name: "reserve: family that is not an array", method: "POST", path: "/api/v1/reservations", token: meTok,
			body: reserve(slotB.ID.String(), `,"family":{}`), status: 422, code: "api.field.type", contains: []string{`"family":"api.field.type"`}},
		{name: "reserve: a slot id without hyphens", method: "POST", path: "/api/v1/reservations", token: meTok,
			body: reserve(strings.ReplaceAll(slotB.ID.String(), "-", ""), ""), status: 422, code: "api.slot_id.invalid"},
		{name: "reserve: bad lang", method: "POST", path: "/api/v1/reservations", token: meTok, body: reserve(slotB.ID.String(), `,"lang":"fr"`),
			status: 422, code: "api.lang.invalid"},
		{name: "reserve: too many family members", method: "POST", path: "/api/v1/reservations", token: meTok,
			body: reserve(slotB.ID.String(), `,"family":[{},{},{},{},{},{}]`), status: 422, code: "family.too_many"},
		{name: "reserve: 個人番号 for a family member", method: "POST", path: "/api/v1/reservations", token: meTok,
			body:   reserve(slotB.ID.String(), `,"family":[{"card_no":"123456789012","birth":"0101"}]`),
			status: 422, code: "login.card_no.my_number", contains: []string{`"family[0].card_no":"login.card_no.my_number"`}},
		{name: "reserve: wrong family birthday books nothing", method: "POST", path: "/api/v1/reservations", token: meTok,
			body:   reserve(slotB.ID.String(), fmt.Sprintf(`,"family":[{"card_no":%q,"birth":"1106"}]`, kid.CardNo)),
			status: 401, code: "login.failed", contains: []string{`"family[0]":"login.failed"`}},
		{name: "reserve: self as a family member", method: "POST", path: "/api/v1/reservations", token: meTok,
			body:   reserve(slotB.ID.String(), fmt.Sprintf(`,"family":[{"card_no":%q,"birth":"0312"}]`, me.CardNo)),
			status: 422, code: "family.duplicate", contains: []string{`"family[0].card_no"`}},
		{name: "reserve: another city's slot", method: "POST", path: "/api/v1/reservations", token: meTok, body: reserve(otherSlot.ID.String(), ""),
			status: 404, code: "slot.not_found"},
		{name: "reserve: slot full", method: "POST", path: "/api/v1/reservations", token: meTok, body: reserve(slotA.ID.String(), ""),
			status: 409, code: "slot.full"},
		{name: "reserve: card already booked", method: "POST", path: "/api/v1/reservations", token: bookedTok, body: reserve(slotB.ID.String(), ""),
			status: 409, code: "card.already_booked"},
		{name: "nothing was booked for me", method: "GET", path: "/api/v1/reservations/current", token: meTok, status: 404, code: "reservation.none"},

		// /api/v1/reservations/current
		{name: "current", method: "GET", path: "/api/v1/reservations/current", token: bookedTok, status: 200,
			contains: []string{`"status":"booked"`, `"party_size":1`, `"changeable":true`, "嬉野地域振興局", booked.CardNo[6:]},
			absent:   []string{booked.CardNo, "email"}, header: []string{"Cache-Control", "no-store"}},
		{name: "change: no reservation", method: "PATCH", path: "/api/v1/reservations/current", token: meTok, body: reserve(slotB.ID.String(), ""),
			status: 404, code: "reservation.none"},
		{name: "cancel: no reservation", method: "DELETE", path: "/api/v1/reservations/current", token: meTok, status: 404, code: "reservation.none"},
		{name: "change: bad slot id", method: "PATCH", path: "/api/v1/reservations/current", token: bookedTok, body: `{"slot_id":""}`,
			status: 422, code: "api.slot_id.invalid"},
		{name: "change: unknown field", method: "PATCH", path: "/api/v1/reservations/current", token: bookedTok, body: reserve(slotB.ID.String(), `,"email":"a@b.jp"`),
			status: 422, code: "unknown_field"},
		{name: "change: same slot", method: "PATCH", path: "/api/v1/reservations/current", token: bookedTok, body: reserve(slotA.ID.String(), ""),
			status: 422, code: "reserve.same_slot"},
		{name: "change: another city's slot", method: "PATCH", path: "/api/v1/reservations/current", token: bookedTok, body: reserve(otherSlot.ID.String(), ""),
			status: 404, code: "slot.not_found"},
		{name: "deadline: current says not changeable", method: "GET", host: lateHost, path: "/api/v1/reservations/current", token: lateTok,
			status: 200, contains: []string{`"changeable":false`, `"change_deadline":"` + tomorrow.AddDays(-3).String() + `"`}},
		{name: "deadline: change refused", method: "PATCH", host: lateHost, path: "/api/v1/reservations/current", token: lateTok,
			body: reserve(lateNew.ID.String(), ""), status: 409, code: "deadline.passed"},
		{name: "deadline: cancel refused", method: "DELETE", host: lateHost, path: "/api/v1/reservations/current", token: lateTok,
			status: 409, code: "deadline.passed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.host
			if h == "" {
				h = host
			}
			r := e.api(t, tc.method, h, tc.path, tc.token, tc.body, tc.hdr...)
			if r.status != tc.status {
				t.Fatalf("%s %s = %d, want %d; body: %.500s", tc.method, tc.path, r.status, tc.status, r.body)
			}
			if tc.code != "" {
				if got := r.str("code"); got != tc.code {
					t.Errorf("%s %s: code = %q, want %q; body: %.500s", tc.method, tc.path, got, tc.code, r.body)
				}
				checkAPIError(t, r, codes)
			} else if _, ok := r.obj["message_ja"]; ok {
				t.Errorf("success body looks like an error: %.300s", r.body)
			}
			for _, s := range tc.contains {
				if !strings.Contains(r.body, s) {
					t.Errorf("body lacks %q: %.800s", s, r.body)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(r.body, s) {
					t.Errorf("body contains %q: %.800s", s, r.body)
				}
			}
			for i := 0; i+1 < len(tc.header); i += 2 {
				if got := r.header.Get(tc.header[i]); got != tc.header[i+1] {
					t.Errorf("%s = %q, want %q", tc.header[i], got, tc.header[i+1])
				}
			}
			if tc.token != "" && r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("authenticated response Cache-Control = %q, want no-store", r.header.Get("Cache-Control"))
			}
		})
	}

	// An unknown card and a wrong birthday get the same answer, so a caller cannot learn which
	// card numbers exist.
	strip := func(r apiResult) string { delete(r.obj, "request_id"); b, _ := json.Marshal(r.obj); return string(b) }
	wrong := e.api(t, "POST", host, "/api/v1/session", "", fmt.Sprintf(`{"card_no":%q,"birth":"1231"}`, kid.CardNo))
	unknown := e.api(t, "POST", host, "/api/v1/session", "", `{"card_no":"000000002","birth":"1231"}`)
	if wrong.status != unknown.status || strip(wrong) != strip(unknown) {
		t.Errorf("wrong birthday %d %s\nunknown card %d %s\nwant the same", wrong.status, strip(wrong), unknown.status, strip(unknown))
	}
}

func TestAPIHappyPath(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	host := e.city.Slug + ".localhost"
	loc := bookingtest.MustLocation(t, e.svc, e.city, "三雲地域振興局", 4)
	me := bookingtest.MustCard(t, e.svc, e.city, "0312")
	kid := bookingtest.MustCard(t, e.svc, e.city, "1105")
	first := booking.DateFromDB(bookingtest.FirstSlot(t, e.svc, e.city, loc, e.clock.Now()).Day)

	want := func(r apiResult, status int, what string) {
		t.Helper()
		if r.status != status {
			t.Fatalf("%s = %d, want %d; body: %.600s", what, r.status, status, r.body)
		}
	}

	// Log in with the month and day as numbers.
	r := e.api(t, "POST", host, "/api/v1/session", "", fmt.Sprintf(`{"card_no":%q,"month":3,"day":12}`, me.CardNo))
	want(r, 201, "POST /api/v1/session")
	token := r.str("token")
	if masked := r.obj["card"].(map[string]any)["masked_no"]; masked != me.MaskedNo() {
		t.Errorf("masked_no = %v, want %s", masked, me.MaskedNo())
	}

	// Locations: the seeded one and ours.
	r = e.api(t, "GET", host, "/api/v1/locations", "", "")
	want(r, 200, "GET /api/v1/locations")
	var locs []struct{ ID, Name, Address, Guidance string }
	if err := json.Unmarshal([]byte(r.body), &locs); err != nil || !slices.ContainsFunc(locs, func(l struct{ ID, Name, Address, Guidance string }) bool {
		return l.ID == loc.ID.String() && l.Name == "三雲地域振興局"
	}) {
		t.Fatalf("locations = %s (%v)", r.body, err)
	}

	// A week of marks for two people, then one day's slots.
	var av struct {
		Party int
		Days  []struct {
			Date, Mark string
			Remaining  int
			Slots      []struct {
				ID        string
				StartsAt  string `json:"starts_at"`
				Remaining int
			}
		}
	}
	r = e.api(t, "GET", host, "/api/v1/availability?location="+loc.ID.String()+"&from="+first.String()+"&to="+first.AddDays(6).String()+"&party=2", "", "")
	want(r, 200, "GET /api/v1/availability (week)")
	if err := json.Unmarshal([]byte(r.body), &av); err != nil || av.Party != 2 || len(av.Days) != 7 || av.Days[0].Mark != "open" || av.Days[0].Remaining != 24 {
		t.Fatalf("week availability = %.600s (%v)", r.body, err)
	}
	r = e.api(t, "GET", host, "/api/v1/availability?location="+loc.ID.String()+"&from="+first.String()+"&to="+first.String(), "", "")
	want(r, 200, "GET /api/v1/availability (day)")
	av.Days = nil
	if err := json.Unmarshal([]byte(r.body), &av); err != nil || len(av.Days) != 1 || len(av.Days[0].Slots) < 2 {
		t.Fatalf("day availability = %.600s (%v)", r.body, err)
	}
	slot1, slot2 := av.Days[0].Slots[0], av.Days[0].Slots[1]

	// Book for me and my child; the answer is lost and the client sends the request again with
	// the same Idempotency-Key: the same booking comes back, marked as a replay.
	bookBody := fmt.Sprintf(`{"slot_id":%q,"email":"taro@example.jp","lang":"en","family":[{"card_no":%q,"birth":"1105"}]}`, slot1.ID, kid.CardNo)
	r = e.api(t, "POST", host, "/api/v1/reservations", token, bookBody, "Idempotency-Key", "c0ffee-1")
	want(r, 201, "POST /api/v1/reservations")
	if r.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("the first request is marked as a replay")
	}
	again := e.api(t, "POST", host, "/api/v1/reservations", token, bookBody, "Idempotency-Key", "c0ffee-1")
	want(again, 201, "POST /api/v1/reservations (repeated)")
	if again.str("id") != r.str("id") || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("repeated request = %s (replayed %q), want booking %s again", again.body, again.header.Get("Idempotent-Replayed"), r.str("id"))
	}
	reused := e.api(t, "POST", host, "/api/v1/reservations", token,
		fmt.Sprintf(`{"slot_id":%q,"family":[{"card_no":%q,"birth":"1105"}]}`, slot2.ID, kid.CardNo), "Idempotency-Key", "c0ffee-1")
	if reused.status != 422 || reused.str("code") != "request.key_reused" {
		t.Errorf("same key, other slot = %d %s; want 422 request.key_reused", reused.status, reused.body)
	}
	if bad := e.api(t, "POST", host, "/api/v1/reservations", token, bookBody, "Idempotency-Key", "two words"); bad.status != 422 || bad.str("code") != "request.key_invalid" {
		t.Errorf("a key with a space = %d %s; want 422 request.key_invalid", bad.status, bad.body)
	}
	if r.header.Get("Location") != "/api/v1/reservations/current" || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("reserve headers: Location %q, Cache-Control %q", r.header.Get("Location"), r.header.Get("Cache-Control"))
	}
	id, code := r.str("id"), r.str("code")
	if len(code) != 8 || r.str("starts_at") != slot1.StartsAt || r.obj["party_size"] != 2.0 || r.str("status") != "booked" ||
		r.obj["location"].(map[string]any)["name"] != "三雲地域振興局" || len(r.obj["cards"].([]any)) != 2 {
		t.Fatalf("reservation = %s", r.body)
	}
	if v, err := e.svc.CurrentReservation(ctx, e.city, kid.ID); err != nil || v.ID.String() != id || v.Lang != "en" {
		t.Fatalf("the child's reservation = %+v, %v; want %s in English", v, err, id)
	}

	// The child's own login sees the same booking.
	r = e.api(t, "GET", host, "/api/v1/reservations/current", e.mustToken(t, host, kid.CardNo, "1105"), "")
	want(r, 200, "GET current (child)")
	if r.str("id") != id {
		t.Errorf("child's current = %s, want %s", r.str("id"), id)
	}

	r = e.api(t, "GET", host, "/api/v1/reservations/current", token, "")
	want(r, 200, "GET /api/v1/reservations/current")
	if r.str("id") != id || r.str("code") != code || r.obj["changeable"] != true {
		t.Fatalf("current = %s", r.body)
	}

	// Move it: same reservation and code, new time; the old slot's places come back.
	r = e.api(t, "PATCH", host, "/api/v1/reservations/current", token, fmt.Sprintf(`{"slot_id":%q}`, slot2.ID))
	want(r, 200, "PATCH /api/v1/reservations/current")
	if r.str("id") != id || r.str("code") != code || r.str("starts_at") != slot2.StartsAt {
		t.Fatalf("after change = %s, want slot %s", r.body, slot2.StartsAt)
	}
	s1, _ := e.svc.SlotByID(ctx, e.city, uuid.MustParse(slot1.ID))
	s2, _ := e.svc.SlotByID(ctx, e.city, uuid.MustParse(slot2.ID))
	if s1.Booked != 0 || s2.Booked != 2 {
		t.Errorf("booked places: old slot %d, new slot %d; want 0 and 2", s1.Booked, s2.Booked)
	}

	// Cancel, then log out.
	r = e.api(t, "DELETE", host, "/api/v1/reservations/current", token, "")
	want(r, 204, "DELETE /api/v1/reservations/current")
	r = e.api(t, "GET", host, "/api/v1/reservations/current", token, "")
	want(r, 404, "GET current after cancel")
	if _, err := e.svc.CurrentReservation(ctx, e.city, kid.ID); tenant.ErrorCode(err) != tenant.NotFound {
		t.Errorf("the child's reservation after cancel: %v, want not_found", err)
	}
	r = e.api(t, "DELETE", host, "/api/v1/session", token, "")
	want(r, 204, "DELETE /api/v1/session")
	if sc := r.header.Get("Set-Cookie"); sc != "" {
		t.Errorf("logout sets a cookie: %s", sc)
	}
	r = e.api(t, "GET", host, "/api/v1/reservations/current", token, "")
	want(r, 401, "GET current after logout")
}

// TestAPILockout checks that the API shares the web login's lockout counters, both for the
// session and for family members given to a reservation.
func TestAPILockout(t *testing.T) {
	e := newEnv(t, nil)
	host := e.city.Slug + ".localhost"
	loc := bookingtest.MustLocation(t, e.svc, e.city, "飯南地域振興局", 3)
	slot := bookingtest.FirstSlot(t, e.svc, e.city, loc, e.clock.Now())
	card := bookingtest.MustCard(t, e.svc, e.city, "0312")
	codes := errorCodes(t)

	login := func(birth string) apiResult {
		return e.api(t, "POST", host, "/api/v1/session", "", fmt.Sprintf(`{"card_no":%q,"birth":%q}`, card.CardNo, birth))
	}
	for i := 1; i <= 4; i++ {
		if r := login("0101"); r.status != 401 || r.str("code") != "login.failed" {
			t.Fatalf("failure %d = %d %s, want 401 login.failed", i, r.status, r.body)
		}
	}
	for i, birth := range []string{"0101", "0312"} { // the 5th failure locks; then even the right birthday is refused
		r := login(birth)
		if r.status != 429 || r.str("code") != "login.locked" {
			t.Fatalf("attempt %d after 4 failures = %d %s, want 429 login.locked", i+5, r.status, r.body)
		}
		checkAPIError(t, r, codes)
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 25*60 || s > 31*60 {
			t.Errorf("Retry-After = %q, want about 30 minutes", r.header.Get("Retry-After"))
		}
	}

	// The web login sees the same lock.
	b := newBrowser(t, serve(t, e), host)
	b.get("/login")
	b.post("/login", url.Values{"card_no": {card.CardNo}, "month": {"3"}, "day": {"12"}})
	b.want(429)

	// A family member's failures in POST /api/v1/reservations count too, and lock its number
	// for every login path.
	me := bookingtest.MustCard(t, e.svc, e.city, "0707")
	kid := bookingtest.MustCard(t, e.svc, e.city, "1105")
	token := e.mustToken(t, host, me.CardNo, "0707")
	body := fmt.Sprintf(`{"slot_id":%q,"family":[{"card_no":%q,"birth":"1106"}]}`, slot.ID, kid.CardNo)
	for i := 1; i <= 5; i++ {
		r := e.api(t, "POST", host, "/api/v1/reservations", token, body)
		wantStatus, wantCode := 401, "login.failed"
		if i == 5 {
			wantStatus, wantCode = 429, "login.locked"
		}
		if r.status != wantStatus || r.str("code") != wantCode || !strings.Contains(r.body, `"family[0]"`) {
			t.Fatalf("family failure %d = %d %s, want %d %s naming family[0]", i, r.status, r.body, wantStatus, wantCode)
		}
	}
	if r := e.api(t, "POST", host, "/api/v1/session", "", fmt.Sprintf(`{"card_no":%q,"birth":"1105"}`, kid.CardNo)); r.status != 429 {
		t.Errorf("the family member's own login after the lock = %d %s, want 429", r.status, r.body)
	}
	if r := e.api(t, "GET", host, "/api/v1/reservations/current", token, ""); r.status != 404 {
		t.Errorf("after refused family logins, current = %d %s, want 404 (nothing booked)", r.status, r.body)
	}
}

// TestAPILoginFlood checks the per-IP request limit of POST /api/v1/session, which counts every
// request whatever its result, and the same limit, counted apart, of POST /api/v1/reservations
// when it carries family members (each one a card check).
func TestAPILoginFlood(t *testing.T) {
	e := newEnv(t, nil)
	host := e.city.Slug + ".localhost"
	own := bookingtest.MustCard(t, e.svc, e.city, "0312")
	login := e.api(t, "POST", host, "/api/v1/session", "", fmt.Sprintf(`{"card_no":%q,"birth":"0312"}`, own.CardNo))
	if login.status != 201 {
		t.Fatalf("login = %d %s", login.status, login.body)
	}
	token := login.str("token")
	for i := 2; i <= 30; i++ {
		if r := e.api(t, "POST", host, "/api/v1/session", "", `{"card_no":"x","birth":"0312"}`); r.status != 422 {
			t.Fatalf("request %d = %d, want 422", i, r.status)
		}
	}
	r := e.api(t, "POST", host, "/api/v1/session", "", `{"card_no":"x","birth":"0312"}`)
	if r.status != 429 || r.str("code") != "throttled" {
		t.Fatalf("request 31 = %d %s, want 429 throttled", r.status, r.body)
	}
	checkAPIError(t, r, errorCodes(t))
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 61 {
		t.Errorf("Retry-After = %q, want 1..61 seconds", r.header.Get("Retry-After"))
	}
	if r := e.api(t, "GET", host, "/api/v1/locations", "", ""); r.status != 200 {
		t.Errorf("public reads have their own budget: GET /api/v1/locations = %d", r.status)
	}
	const slot = `"slot_id":"00000000-0000-0000-0000-000000000000","email":"a@example.jp"`
	for i := 1; i <= 30; i++ {
		r := e.api(t, "POST", host, "/api/v1/reservations", token, `{`+slot+`,"family":[{"card_no":"x","birth":"0101"}]}`)
		if r.status != 422 {
			t.Fatalf("reservation with a family member %d = %d %s, want 422", i, r.status, r.body)
		}
	}
	r = e.api(t, "POST", host, "/api/v1/reservations", token, `{`+slot+`,"family":[{"card_no":"x","birth":"0101"}]}`)
	if r.status != 429 || r.str("code") != "throttled" {
		t.Errorf("reservation with a family member 31 = %d %s, want 429 throttled", r.status, r.body)
	}
	if r := e.api(t, "POST", host, "/api/v1/reservations", token, `{`+slot+`}`); r.status == 429 {
		t.Errorf("a reservation without family members = 429, want it outside the limit")
	}
}

// TestAPIRedisDown: logins fail closed and tokens cannot be checked, but the public reads work.
func TestAPIRedisDown(t *testing.T) {
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer dead.Close()
	e := newEnv(t, dead)
	host := e.city.Slug + ".localhost"
	codes := errorCodes(t)
	card := bookingtest.MustCard(t, e.svc, e.city, "0312")
	r := e.api(t, "POST", host, "/api/v1/session", "", fmt.Sprintf(`{"card_no":%q,"birth":"0312"}`, card.CardNo))
	if r.status != 503 || r.str("code") != "login.unavailable" || r.header.Get("Retry-After") == "" {
		t.Fatalf("login with Redis down = %d %s (Retry-After %q), want 503 login.unavailable", r.status, r.body, r.header.Get("Retry-After"))
	}
	checkAPIError(t, r, codes)
	r = e.api(t, "GET", host, "/api/v1/reservations/current", strings.Repeat("A", 43), "")
	if r.status != 503 || r.str("code") != "unavailable" {
		t.Fatalf("token check with Redis down = %d %s, want 503 unavailable", r.status, r.body)
	}
	checkAPIError(t, r, codes)
	if r := e.api(t, "GET", host, "/api/v1/locations", "", ""); r.status != 200 {
		t.Errorf("GET /api/v1/locations with Redis down = %d, want 200", r.status)
	}
}

// TestAPIWebRace books one card from the web (holding a slot, then confirming) and from the API
// at the same moment, through the same booking.Service.Reserve: exactly one wins, the other gets
// 409, and the card's reservation is the winner's.
func TestAPIWebRace(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	host := e.city.Slug + ".localhost"
	loc := bookingtest.MustLocation(t, e.svc, e.city, "飯高地域振興局", 10)
	first := bookingtest.FirstSlot(t, e.svc, e.city, loc, e.clock.Now())
	day, err := e.svc.SlotsOn(ctx, e.city, loc.ID, booking.DateFromDB(first.Day), bookingtest.Citizen)
	if err != nil || len(day) < 2 {
		t.Fatalf("SlotsOn = %d, %v", len(day), err)
	}
	webSlot, apiSlot := day[0], day[1]
	addr := serve(t, e)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	apiDo := func(method, path, token, body string) (int, string, error) {
		req, err := http.NewRequest(method, "http://"+host+path, strings.NewReader(body))
		if err != nil {
			return 0, "", err
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}

	for round := range 3 {
		card := bookingtest.MustCard(t, e.svc, e.city, "0312")
		b := newBrowser(t, addr, host)
		b.get("/login")
		b.post("/login", url.Values{"card_no": {card.CardNo}, "month": {"3"}, "day": {"12"}})
		b.want(200)
		b.get("/times?location=" + loc.ID.String() + "&day=" + booking.DateFromDB(first.Day).String())
		b.post("/hold", url.Values{"slot": {webSlot.ID.String()}, "location": {loc.ID.String()}})
		b.want(200, "予約内容を確認してください")
		csrf := csrfOf(b.last)
		status, body, err := apiDo("POST", "/api/v1/session", "", fmt.Sprintf(`{"card_no":%q,"birth":"0312"}`, card.CardNo))
		var sess struct{ Token string }
		if err != nil || status != 201 || json.Unmarshal([]byte(body), &sess) != nil {
			t.Fatalf("round %d: API login = %d %s %v", round, status, body, err)
		}

		start := make(chan struct{})
		var wg sync.WaitGroup
		var webStatus, apiStatus int
		var webBody, apiBody string
		var webErr, apiErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			resp, err := b.c.PostForm(b.base+"/reserve", url.Values{"_csrf": {csrf}, "email": {""}, "email2": {""}})
			if err != nil {
				webErr = err
				return
			}
			defer resp.Body.Close()
			bb, _ := io.ReadAll(resp.Body)
			webStatus, webBody = resp.StatusCode, string(bb)
		}()
		go func() {
			defer wg.Done()
			<-start
			// The web handler does more work before booking; later rounds give it a head start
			// so that both outcomes occur.
			time.Sleep(time.Duration(round) * 10 * time.Millisecond)
			apiStatus, apiBody, apiErr = apiDo("POST", "/api/v1/reservations", sess.Token, fmt.Sprintf(`{"slot_id":%q}`, apiSlot.ID))
		}()
		close(start)
		wg.Wait()
		if webErr != nil || apiErr != nil {
			t.Fatalf("round %d: web %v, API %v", round, webErr, apiErr)
		}
		webWon := webStatus == 200 && strings.Contains(webBody, "予約が完了しました")
		apiWon := apiStatus == 201
		if webWon == apiWon {
			t.Fatalf("round %d: web %d, API %d %s; want exactly one winner", round, webStatus, apiStatus, apiBody)
		}
		if !webWon && webStatus != 409 {
			t.Errorf("round %d: losing web request = %d, want 409", round, webStatus)
		}
		if !apiWon && (apiStatus != 409 || !strings.Contains(apiBody, `"code":"card.already_booked"`)) {
			t.Errorf("round %d: losing API request = %d %s, want 409 card.already_booked", round, apiStatus, apiBody)
		}
		v, err := e.svc.CurrentReservation(ctx, e.city, card.ID)
		if err != nil {
			t.Fatalf("round %d: CurrentReservation: %v", round, err)
		}
		wantSlot := webSlot.ID
		if apiWon {
			wantSlot = apiSlot.ID
		}
		if v.SlotID != wantSlot {
			t.Errorf("round %d: reservation in slot %s, want the winner's %s", round, v.SlotID, wantSlot)
		}
		t.Logf("round %d: web %d, API %d", round, webStatus, apiStatus)
	}
}

// TestOpenAPI checks that ui/openapi.json describes every route registered under /api/v1 (and
// nothing else), that its references resolve, that every authenticated operation documents its
// 401, and that every error code it lists has a message in both languages.
func TestOpenAPI(t *testing.T) {
	e := newEnv(t, nil)
	doc, raw := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	if s := doc.Components.SecuritySchemes["bearer"]; s.Type != "http" || s.Scheme != "bearer" {
		t.Errorf("securitySchemes.bearer = %+v, want http bearer", s)
	}
	if len(doc.Security) == 0 {
		t.Error("no default security requirement")
	}

	registered := map[string]bool{}
	for _, r := range e.app.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/") || r.Method == "HEAD" {
			continue
		}
		key := strings.ToLower(r.Method) + " " + r.Path
		registered[key] = true
		if _, ok := doc.Paths[r.Path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("route %s %s is not in openapi.json", r.Method, r.Path)
		}
	}
	if len(registered) < 9 {
		t.Errorf("only %d API routes registered: %v", len(registered), registered)
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if !registered[method+" "+path] {
				t.Errorf("openapi.json documents %s %s, which is not registered", method, path)
			}
			if op.Security == nil || len(*op.Security) > 0 { // authenticated
				if _, ok := op.Responses["401"]; !ok {
					t.Errorf("%s %s needs a token but documents no 401", method, path)
				}
			}
			if _, ok := op.Responses["default"]; !ok {
				t.Errorf("%s %s documents no default (error) response", method, path)
			}
		}
	}

	// Every $ref points at something.
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				var cur any = raw
				for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, _ := cur.(map[string]any)
					cur = m[part]
				}
				if cur == nil {
					t.Errorf("$ref %s does not resolve", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(raw)

	// Every documented code has a translation in both languages.
	locs, err := web.LoadLocales()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"ja", "en"} {
		msgs := locs[lang]
		for _, code := range errorCodes(t) {
			if strings.TrimSpace(msgs[code]) == "" && strings.TrimSpace(msgs["error."+code]) == "" {
				t.Errorf("error code %q has no %s message (key %q or %q)", code, lang, code, "error."+code)
			}
		}
	}

	// The served document is the file.
	r := e.api(t, "GET", e.city.Slug+".localhost", "/api/v1/openapi.json", "", "")
	if b, _ := os.ReadFile("openapi.json"); r.status != 200 || r.body != string(b) || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("GET /api/v1/openapi.json = %d %q", r.status, r.header.Get("Content-Type"))
	}
}
