package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// apiDecode reads the request body into v: exactly one JSON value, sent as application/json,
// with no field v does not declare. Errors are invalid (422) with a stable key:
// error.content_type, error.bad_json, error.unknown_field, or a field-level api.field.type.
func apiDecode(c *fiber.Ctx, v any) error {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return tenant.Errorf(tenant.Invalid, "error.content_type")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apiJSONError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return tenant.Errorf(tenant.Invalid, "error.bad_json") // a second value or trailing garbage
	}
	return nil
}

// apiJSONError maps a decoding error to a domain error. The decoder's own text never reaches the
// client; only an unknown field's name is named (clipped), so the client can find it.
func apiJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{apiClip(te.Field, 64): "api.field.type"}, Err: err}
	}
	if name, ok := strings.CutPrefix(err.Error(), `json: unknown field "`); ok {
		name = apiClip(strings.TrimSuffix(name, `"`), 64)
		return &tenant.Error{Code: tenant.Invalid, Key: "error.unknown_field", Args: map[string]any{"field": name},
			Fields: map[string]string{name: "error.unknown_field"}, Err: err}
	}
	return tenant.Errorf(tenant.Invalid, "error.bad_json").Wrap(err)
}

func apiClip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// apiText is a string field that also accepts a JSON integer, so {"month": 3} and
// {"month": "3"} mean the same.
type apiText string

func (s *apiText) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = apiText(v)
		return nil
	case len(b) > 0 && len(b) <= 4 && strings.Trim(string(b), "0123456789") == "":
		*s = apiText(b)
		return nil
	}
	return &json.UnmarshalTypeError{Value: "value", Type: reflect.TypeFor[string]()}
}

// apiCredentials is a card number with its birthday, either as "birth" ("0312", "3/12") or as
// separate "month" and "day".
type apiCredentials struct {
	CardNo string  `json:"card_no"`
	Birth  string  `json:"birth"`
	Month  apiText `json:"month"`
	Day    apiText `json:"day"`
}

// loginInput turns the credentials into a booking.LoginInput; prefix names the object in field
// errors ("" or "family[0].").
func (cr apiCredentials) loginInput(c *fiber.Ctx, prefix string) (booking.LoginInput, error) {
	birth := strings.TrimSpace(cr.Birth)
	if birth != "" && (cr.Month != "" || cr.Day != "") {
		return booking.LoginInput{}, apiFieldError(prefix+"birth", "api.birth.ambiguous")
	}
	if birth == "" && (cr.Month != "" || cr.Day != "") {
		birth = booking.MMDDFromParts(string(cr.Month), string(cr.Day))
	}
	return booking.LoginInput{CardNo: cr.CardNo, Birth: birth, IP: c.IP()}, nil
}

func apiFieldError(field, key string) *tenant.Error {
	return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{field: key}}
}

// apiPrefixFields returns err with its field names prefixed (a family member's "card_no" becomes
// "family[1].card_no"); other errors pass through unchanged.
func apiPrefixFields(err error, prefix string) error {
	e := tenant.AsError(err)
	if e == nil || prefix == "" || (e.Code != tenant.Invalid && e.Code != tenant.Unauthorized && e.Code != tenant.Throttled) {
		return err
	}
	out := *e
	out.Fields = map[string]string{}
	for k, v := range e.Fields {
		out.Fields[prefix+k] = v
	}
	if len(e.Fields) == 0 {
		out.Fields[strings.TrimSuffix(prefix, ".")] = e.Key
	}
	return &out
}

// apiPromoteField gives a field-level validation error the message of its most important field, so
// an API client gets a specific code and message ("login.card_no.my_number") rather than only
// "invalid"; fields still lists every field.
func apiPromoteField(e *tenant.Error) *tenant.Error {
	if e.Code != tenant.Invalid || e.Key != "error.invalid" || len(e.Fields) == 0 {
		return e
	}
	names := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		// A 12-digit 個人番号 is the one mistake we must always name: My Numbers are never
		// accepted or stored, and the caller must learn not to send one.
		mi, mj := e.Fields[names[i]] == "login.card_no.my_number", e.Fields[names[j]] == "login.card_no.my_number"
		if mi != mj {
			return mi
		}
		return names[i] < names[j]
	})
	out := *e
	out.Key = e.Fields[names[0]]
	return &out
}

// JSON shapes of the API (documented in openapi.json).

type apiLocation struct {
	ID       uuid.UUID `json:"id"`
	Name     string    `json:"name"`
	Address  string    `json:"address"`
	Guidance string    `json:"guidance"`
}

func toAPILocation(l *booking.Location) apiLocation {
	return apiLocation{ID: l.ID, Name: l.Name, Address: l.Address, Guidance: l.Guidance}
}

type apiSlot struct {
	ID        uuid.UUID `json:"id"`
	StartsAt  string    `json:"starts_at"`
	EndsAt    string    `json:"ends_at"`
	Remaining int       `json:"remaining"`
}

func toAPISlot(s *booking.Slot) apiSlot {
	return apiSlot{ID: s.ID, StartsAt: apiTime(s.StartsAt), EndsAt: apiTime(s.EndsAt), Remaining: s.Remaining()}
}

type apiCard struct {
	MaskedNo string `json:"masked_no"`
}

type apiReservation struct {
	ID             uuid.UUID   `json:"id"`
	Code           string      `json:"code"`
	StartsAt       string      `json:"starts_at"`
	EndsAt         string      `json:"ends_at"`
	Location       apiLocation `json:"location"`
	PartySize      int         `json:"party_size"`
	Status         string      `json:"status"`
	Cards          []apiCard   `json:"cards"`
	Changeable     bool        `json:"changeable"`
	ChangeDeadline string      `json:"change_deadline"`
}

// toAPIReservation shapes a reservation for the citizen: no name, birth date or e-mail address
// (someone who guessed a login must learn nothing more), card numbers masked. Changeable and
// ChangeDeadline follow the same rule as the web page (reservationPage).
func (u *UI) toAPIReservation(t *tenant.Tenant, v *booking.ReservationView) apiReservation {
	day := booking.DateOf(v.StartsAt)
	r := apiReservation{ID: v.ID, Code: v.Code, StartsAt: apiTime(v.StartsAt), EndsAt: apiTime(v.Slot.EndsAt),
		Location: toAPILocation(&v.Location), PartySize: v.PartySize, Status: string(v.Status), Cards: []apiCard{},
		Changeable:     v.Status == booking.Booked && !day.Before(booking.DateOf(u.now()).AddDays(booking.DeadlineDays(t))),
		ChangeDeadline: day.AddDays(-booking.DeadlineDays(t)).String()}
	for i := range v.Cards {
		r.Cards = append(r.Cards, apiCard{MaskedNo: v.Cards[i].MaskedNo()})
	}
	return r
}

// apiTime formats an instant as RFC 3339 in Japan time ("2026-06-03T10:00:00+09:00").
func apiTime(t time.Time) string { return t.In(booking.JST).Format(time.RFC3339) }
