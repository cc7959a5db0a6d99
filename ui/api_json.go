package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// apiDecode reads the request body into v: exactly one JSON value, sent as application/json,
// with no field v does not declare. Errors are invalid (422) with a stable key:
// error.content_type, error.bad_json, error.unknown_field, or a field-level api.field.type or
// api.field.null.
func apiDecode(c *fiber.Ctx, v any) error {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return tenant.Errorf(tenant.Invalid, "error.content_type")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apiJSONError(err, "")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return tenant.Errorf(tenant.Invalid, "error.bad_json") // a second value or trailing garbage
	}
	return nil
}

// apiJSONError maps a decoding error to a domain error; prefix names the enclosing array element
// ("family[0]") when the error came from decoding one. The decoder's own text never reaches the
// client; only an unknown field's name is named (clipped), so the client can find it.
func apiJSONError(err error, prefix string) error {
	var me *apiElementError
	if errors.As(err, &me) {
		return apiJSONError(me.err, me.name)
	}
	name := func(field string) string {
		switch {
		case prefix == "":
			return apiClip(field, 64)
		case field == "":
			return prefix
		}
		return prefix + "." + apiClip(field, 64)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && (te.Field != "" || prefix != "") {
		key := "api.field.type"
		if te.Value == "null" {
			key = "api.field.null"
		}
		return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{name(te.Field): key}, Err: err}
	}
	if field, ok := strings.CutPrefix(err.Error(), `json: unknown field "`); ok {
		field = name(strings.TrimSuffix(field, `"`))
		return &tenant.Error{Code: tenant.Invalid, Key: "error.unknown_field", Args: map[string]any{"field": field},
			Fields: map[string]string{field: "error.unknown_field"}, Err: err}
	}
	if prefix != "" {
		return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{prefix: "api.field.type"}, Err: err}
	}
	return tenant.Errorf(tenant.Invalid, "error.bad_json").Wrap(err)
}

// apiElementError is a decoding error inside one element of a JSON array, named like
// "family[0]": encoding/json names the field of a nested error ("family.day") but not the index.
type apiElementError struct {
	name string
	err  error
}

func (e *apiElementError) Error() string { return e.name + ": " + e.err.Error() }
func (e *apiElementError) Unwrap() error { return e.err }

// apiUUID parses an id in the one form openapi.json documents (format uuid: 36 characters with
// hyphens); uuid.Parse alone also takes braces, a urn: prefix and 32 bare hex digits.
func apiUUID(s string) (uuid.UUID, error) {
	if len(s) != 36 {
		return uuid.Nil, errors.New("not a uuid")
	}
	return uuid.Parse(s)
}

func apiClip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// apiNull is the decoding error of a JSON null where a value belongs: a field is either left out
// or given (openapi.json has no nullable field). encoding/json adds the field's name.
func apiNull() error {
	return &json.UnmarshalTypeError{Value: "null", Type: reflect.TypeFor[string]()}
}

// apiString is a JSON string field that refuses null and any other type.
type apiString string

func (s *apiString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return apiNull()
	}
	var v string
	if len(b) == 0 || b[0] != '"' || json.Unmarshal(b, &v) != nil {
		return &json.UnmarshalTypeError{Value: "value", Type: reflect.TypeFor[string]()}
	}
	*s = apiString(v)
	return nil
}

// apiOptional is an apiString that remembers whether it was given at all: {"birth": ""} gives
// it, {} does not.
type apiOptional struct {
	v   string
	set bool
}

func (o *apiOptional) UnmarshalJSON(b []byte) error {
	var s apiString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	o.v, o.set = string(s), true
	return nil
}

// apiPart is a month or a day: a JSON string ("3", "０３") or an integer (3), so {"month": 3}
// and {"month": "3"} mean the same. An integer of any size is the right type; its range is
// checked by value (value).
type apiPart struct {
	v        string
	n        int // the integer given, or -1 when it is outside 0..9999
	set, num bool
}

func (p *apiPart) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		return apiNull()
	case len(b) > 0 && b[0] == '"':
		var s apiString
		if err := s.UnmarshalJSON(b); err != nil {
			return err
		}
		p.v, p.set = string(s), true
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f != math.Trunc(f) { // not a number, or 1.5 (JSON Schema's integer allows 3.0)
		return &json.UnmarshalTypeError{Value: "number", Type: reflect.TypeFor[int]()}
	}
	p.n, p.set, p.num = -1, true, true
	if f >= 0 && f <= 9999 {
		p.n = int(f)
	}
	return nil
}

// value is the part as a number in 1..max, or the message key of what is wrong with it:
// login.birth.invalid when it is missing or not a number, rangeKey when it is out of range.
func (p apiPart) value(max int, rangeKey string) (int, string) {
	if !p.set {
		return 0, "login.birth.invalid"
	}
	n := p.n
	if !p.num {
		s := booking.NormalizeCardNo(p.v)
		if s == "" || strings.Trim(s, "0123456789") != "" {
			return 0, "login.birth.invalid"
		}
		if n = -1; len(s) <= 4 {
			n, _ = strconv.Atoi(s)
		}
	}
	if n < 1 || n > max {
		return 0, rangeKey
	}
	return n, ""
}

// The longest proof-of-work token and nonce a credential may carry (openapi.json says the same).
const maxPowToken, maxPowNonce = 200, 20

// apiCredentials is a card number with its birthday, either as "birth" ("0312", "3/12") or as
// separate "month" and "day" (exactly one of the two forms, as the schema's oneOf says).
type apiCredentials struct {
	CardNo apiString   `json:"card_no"`
	Birth  apiOptional `json:"birth"`
	Month  apiPart     `json:"month"`
	Day    apiPart     `json:"day"`
	// PowToken and PowNonce answer a "login.step_up" refusal: the error's pow_token and a nonce
	// that solves it (SHA-256 of token ":" nonce starting with pow_bits zero bits).
	PowToken apiString `json:"pow_token"`
	PowNonce apiString `json:"pow_nonce"`
}

// loginInput turns the credentials into a booking.LoginInput; prefix names the object in field
// errors ("" or "family[0]."). A month or day out of range is named as such on its own field;
// a date that does not exist (2/30) is login.birth.invalid on the day.
func (cr apiCredentials) loginInput(c *fiber.Ctx, prefix string) (booking.LoginInput, error) {
	birth := cr.Birth.v
	if len(cr.PowToken) > maxPowToken {
		return booking.LoginInput{}, apiFieldError(prefix+"pow_token", "api.pow.invalid")
	}
	if len(cr.PowNonce) > maxPowNonce {
		return booking.LoginInput{}, apiFieldError(prefix+"pow_nonce", "api.pow.invalid")
	}
	if cr.Birth.set && (cr.Month.set || cr.Day.set) {
		return booking.LoginInput{}, apiFieldError(prefix+"birth", "api.birth.ambiguous")
	}
	if cr.Month.set || cr.Day.set {
		fields := map[string]string{}
		m, mk := cr.Month.value(12, "api.month.range")
		d, dk := cr.Day.value(31, "api.day.range")
		if mk != "" {
			fields[prefix+"month"] = mk
		}
		if dk != "" {
			fields[prefix+"day"] = dk
		}
		if len(fields) == 0 {
			mmdd, err := booking.ParseMMDD(fmt.Sprintf("%02d%02d", m, d))
			if err != nil {
				fields[prefix+"day"] = "login.birth.invalid"
			}
			birth = mmdd
		}
		if len(fields) > 0 {
			return booking.LoginInput{}, &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: fields}
		}
	}
	return booking.LoginInput{CardNo: string(cr.CardNo), Birth: birth, IP: c.IP(),
		PowToken: string(cr.PowToken), PowNonce: string(cr.PowNonce)}, nil
}

// apiFamily is the family members of a booking. It decodes each member on its own, so that an
// error inside one is named with its index ("family[0].day").
type apiFamily []apiCredentials

func (f *apiFamily) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return apiNull()
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(b, &raws); err != nil {
		return &json.UnmarshalTypeError{Value: "value", Type: reflect.TypeFor[[]apiCredentials]()}
	}
	out := make(apiFamily, len(raws))
	for i, raw := range raws {
		name := fmt.Sprintf("family[%d]", i)
		if string(raw) == "null" {
			return &apiElementError{name: name, err: apiNull()}
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&out[i]); err != nil {
			return &apiElementError{name: name, err: err}
		}
	}
	*f = out
	return nil
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
		Changeable:     v.Status == booking.Booked && !day.Before(booking.FirstBookableDay(t, u.now())),
		ChangeDeadline: booking.DeadlineDay(t, day).String()}
	for i := range v.Cards {
		r.Cards = append(r.Cards, apiCard{MaskedNo: v.Cards[i].MaskedNo()})
	}
	return r
}

// apiTime formats an instant as RFC 3339 in Japan time ("2026-06-03T10:00:00+09:00").
func apiTime(t time.Time) string { return t.In(booking.JST).Format(time.RFC3339) }
