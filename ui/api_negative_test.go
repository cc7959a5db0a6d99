package ui_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/ui"
)

// negCase is one generated bad request.
type negCase struct {
	name   string
	body   string // JSON, or "" for none
	query  string
	ctype  string // Content-Type; application/json when empty and a body is sent
	token  string
	hdr    []string
	noAuth bool // send no token even if the operation needs one
}

// TestAPINegative generates bad input for every operation of openapi.json from the document
// itself — values outside an enum, wrong JSON types, null, missing required and extra fields,
// over-long strings, numbers out of range, ids and dates in the wrong format, bodies that are no
// object, a wrong content type, and missing or broken tokens — and sends each through the
// contract-checking client. Every answer must be a 4xx in the documented error shape: never a
// success, never a 5xx. Each operation logs its case count.
func TestAPINegative(t *testing.T) {
	// Every request comes from its own address (X-Real-IP, believed from the test's proxy), so
	// the per-IP flood limits do not turn validation errors into 429s.
	e := newEnv(t, nil, func(d *ui.Deps) { d.TrustedProxies = []string{"0.0.0.0"} })
	host := e.city.Slug + ".localhost"
	loc := bookingtest.MustLocation(t, e.svc, e.city, "嬉野地域振興局", 3)
	slot := bookingtest.FirstSlot(t, e.svc, e.city, loc, e.clock.Now())
	me := bookingtest.MustCard(t, e.svc, e.city, "0312")
	kid := bookingtest.MustCard(t, e.svc, e.city, "1105")
	token := e.mustToken(t, host, me.CardNo, "0312")
	day := booking.DateFromDB(slot.Day).String()

	var doc map[string]any
	b, err := os.ReadFile("openapi.json")
	if err != nil || json.Unmarshal(b, &doc) != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	// A valid request per operation, which the mutations below break one thing at a time.
	validBody := map[string]any{
		"createSession":            map[string]any{"card_no": me.CardNo, "birth": "0312"},
		"createReservation":        map[string]any{"slot_id": slot.ID.String(), "email": "taro@example.jp", "lang": "ja", "family": []any{map[string]any{"card_no": kid.CardNo, "birth": "1105"}}},
		"changeCurrentReservation": map[string]any{"slot_id": slot.ID.String()},
	}
	validQuery := map[string]string{"location": loc.ID.String(), "from": day, "to": day, "party": "1", "slots": "1"}

	ip := 0
	total := 0
	paths := make([]string, 0)
	for p := range doc["paths"].(map[string]any) {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, path := range paths {
		ops := doc["paths"].(map[string]any)[path].(map[string]any)
		methods := make([]string, 0)
		for m := range ops {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		for _, method := range methods {
			op := ops[method].(map[string]any)
			id, _ := op["operationId"].(string)
			var cases []negCase
			secured := true
			if sec, ok := op["security"].([]any); ok && len(sec) == 0 {
				secured = false
			}
			if secured {
				cases = append(cases,
					negCase{name: "no token", noAuth: true},
					negCase{name: "unknown token", token: strings.Repeat("A", 43)},
					negCase{name: "over-long token", token: strings.Repeat("A", 5000)},
					negCase{name: "another scheme", noAuth: true, hdr: []string{"Authorization", "Basic " + token}})
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				schema := resolve(doc, rb["content"].(map[string]any)["application/json"].(map[string]any)["schema"])
				base := validBody[id]
				if base == nil {
					t.Fatalf("%s: no valid body to start from; add one to validBody", id)
				}
				for _, raw := range []string{`null`, `[]`, `"x"`, `1`, `{`, ``} {
					cases = append(cases, negCase{name: "body " + raw, body: raw, ctype: "application/json"})
				}
				cases = append(cases, negCase{name: "text/plain", body: mustJSON(base), ctype: "text/plain"})
				mutateObject(doc, schema, base, "", func(name string, v any) {
					cases = append(cases, negCase{name: name, body: mustJSON(v)})
				})
			}
			for _, p := range asSlice(op["parameters"]) {
				prm := p.(map[string]any)
				name, in := prm["name"].(string), prm["in"].(string)
				ps := resolve(doc, prm["schema"])
				switch in {
				case "query":
					for _, bad := range badScalars(ps) {
						q := url.Values{}
						for k, v := range validQuery {
							q.Set(k, v)
						}
						if bad.missing {
							if req, _ := prm["required"].(bool); !req {
								continue
							}
							q.Del(name)
						} else {
							q.Set(name, bad.value)
						}
						cases = append(cases, negCase{name: name + ": " + bad.name, query: q.Encode()})
					}
				case "header":
					for _, bad := range badScalars(ps) {
						if bad.missing || bad.value == "" { // an absent or empty header is no key
							continue
						}
						// A valid body: the key alone must be refused (a request that books is a failure).
						cases = append(cases, negCase{name: name + ": " + bad.name, body: mustJSON(validBody[id]), hdr: []string{name, bad.value}})
					}
				}
			}
			for _, c := range cases {
				ip++
				tok := token
				if c.token != "" {
					tok = c.token
				}
				if c.noAuth || !secured {
					tok = ""
				}
				hdr := append([]string{"X-Real-IP", fmt.Sprintf("10.%d.%d.%d", ip>>16&255, ip>>8&255, ip&255)}, c.hdr...)
				if c.ctype != "" {
					hdr = append(hdr, "Content-Type", c.ctype)
				}
				target := path
				if c.query != "" {
					target += "?" + c.query
				}
				r := e.api(t, strings.ToUpper(method), host, target, tok, c.body, hdr...)
				if r.status < 400 || r.status >= 500 {
					t.Errorf("%s %s: %s = %d %.300s; want a 4xx", id, c.name, strings.ToUpper(method), r.status, r.body)
				}
			}
			total += len(cases)
			t.Logf("%s (%s %s): %d generated cases", id, strings.ToUpper(method), path, len(cases))
		}
	}
	t.Logf("%d generated cases in all", total)
	if v, err := e.svc.CurrentReservation(t.Context(), e.city, me.ID); err == nil {
		t.Errorf("a bad request booked %s", v.Code)
	}
}

// badValue is one bad value for a parameter; missing means leaving it out.
type badValue struct {
	name, value string
	missing     bool
}

// badScalars lists bad values for a query or header parameter of schema s.
func badScalars(s map[string]any) []badValue {
	out := []badValue{{name: "missing", missing: true}, {name: "empty", value: ""}, {name: "over-long", value: strings.Repeat("9", 3000)}}
	if enum := asSlice(s["enum"]); len(enum) > 0 {
		out = append(out, badValue{name: "outside the enum", value: "AAA"})
	}
	switch s["type"] {
	case "integer":
		out = append(out, badValue{name: "not a number", value: "abc"}, badValue{name: "a fraction", value: "1.5"})
		if max, ok := s["maximum"].(float64); ok {
			out = append(out, badValue{name: "above the maximum", value: fmt.Sprint(int(max) + 1)})
		}
		if min, ok := s["minimum"].(float64); ok {
			out = append(out, badValue{name: "below the minimum", value: fmt.Sprint(int(min) - 1)})
		}
	case "string":
		switch s["format"] {
		case "uuid":
			out = append(out, badValue{name: "not a uuid", value: "not-a-uuid"})
		case "date":
			out = append(out, badValue{name: "not a date", value: "2026-13-01"}, badValue{name: "not a date (words)", value: "tomorrow"})
		}
		if p, ok := s["pattern"].(string); ok && strings.Contains(p, "!-~") {
			out = append(out, badValue{name: "outside its pattern", value: "a b"})
		}
		if max, ok := s["maxLength"].(float64); ok {
			out = append(out, badValue{name: "one over maxLength", value: strings.Repeat("k", int(max)+1)})
		}
	}
	return out
}

// mutateObject emits copies of base (an object valid for schema s) with one thing broken each:
// a required field missing, an extra field, and per property null, values of a wrong type, a
// value outside its enum, range or format, and an over-long string; arrays get one item too
// many, and their object items are broken the same way. A oneOf of required sets is broken by
// giving all of them and none.
func mutateObject(doc map[string]any, s map[string]any, base any, at string, emit func(string, any)) {
	obj := base.(map[string]any)
	set := func(name string, key string, v any, remove bool) {
		c := deepCopy(base).(map[string]any)
		if remove {
			delete(c, key)
		} else {
			c[key] = v
		}
		emit(at+name, c)
	}
	for _, r := range asSlice(s["required"]) {
		set("missing "+r.(string), r.(string), nil, true)
	}
	set("extra field", "zz_extra", "x", false)
	if alts := asSlice(s["oneOf"]); len(alts) > 0 {
		all := deepCopy(base).(map[string]any)
		none := deepCopy(base).(map[string]any)
		props, _ := s["properties"].(map[string]any)
		for _, a := range alts {
			for _, r := range asSlice(resolve(doc, a)["required"]) {
				all[r.(string)] = example(resolve(doc, props[r.(string)]))
				delete(none, r.(string))
			}
		}
		emit(at+"every oneOf alternative at once", all)
		emit(at+"no oneOf alternative", none)
	}
	props, _ := s["properties"].(map[string]any)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ps := resolve(doc, props[k])
		types := typesOf(ps)
		set(k+": null", k, nil, false)
		for _, w := range []struct {
			typ string
			v   any
		}{{"integer", 123456}, {"boolean", true}, {"array", []any{}}, {"object", map[string]any{}}, {"string", "x"}} {
			if !slices.Contains(types, w.typ) && !(w.typ == "integer" && slices.Contains(types, "number")) {
				set(fmt.Sprintf("%s: %s instead of %s", k, w.typ, strings.Join(types, "|")), k, w.v, false)
			}
		}
		if len(asSlice(ps["enum"])) > 0 {
			set(k+": outside the enum", k, "zz", false)
		}
		if slices.Contains(types, "string") {
			n := 5000
			if max, ok := ps["maxLength"].(float64); ok {
				n = int(max) + 1
			}
			set(k+": over-long string", k, strings.Repeat("9", n), false)
			switch ps["format"] {
			case "uuid":
				set(k+": not a uuid", k, "not-a-uuid", false)
			case "email":
				set(k+": not an e-mail address", k, "not an address", false)
			}
		}
		if slices.Contains(types, "integer") {
			if max, ok := ps["maximum"].(float64); ok {
				set(k+": above the maximum", k, int(max)+1, false)
			}
			if min, ok := ps["minimum"].(float64); ok {
				set(k+": below the minimum", k, int(min)-1, false)
			}
		}
		if slices.Contains(types, "array") {
			items := asSlice(obj[k])
			if max, ok := ps["maxItems"].(float64); ok && len(items) > 0 {
				many := make([]any, int(max)+1)
				for i := range many {
					many[i] = deepCopy(items[0])
				}
				set(k+": one over maxItems", k, many, false)
			}
			is := resolve(doc, ps["items"])
			if len(items) > 0 && slices.Contains(typesOf(is), "object") {
				set(k+": an item null", k, []any{nil}, false)
				mutateObject(doc, is, items[0], at+k+"[0].", func(name string, v any) {
					c := deepCopy(base).(map[string]any)
					c[k] = []any{v}
					emit(name, c)
				})
			}
		}
	}
}

// resolve follows a local $ref.
func resolve(doc map[string]any, s any) map[string]any {
	m, _ := s.(map[string]any)
	for m != nil {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var cur any = doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = cur.(map[string]any)[part]
		}
		m, _ = cur.(map[string]any)
	}
	return map[string]any{}
}

func typesOf(s map[string]any) []string {
	switch t := s["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			out = append(out, x.(string))
		}
		return out
	}
	return []string{"object"}
}

func example(s map[string]any) any {
	if ex := asSlice(s["examples"]); len(ex) > 0 {
		return ex[0]
	}
	return "1"
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func deepCopy(v any) any {
	var out any
	if err := json.Unmarshal([]byte(mustJSON(v)), &out); err != nil {
		panic(err)
	}
	return out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
