package ui_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
)

// The API's contract is ui/openapi.json: the shared API test client (env.api) holds every
// request it sends and every answer it gets to the document (checkContract), so an answer that
// drifts from the document — an undocumented status, a body or header that breaks its schema —
// fails the test that got it, and so does a request the server accepted (2xx) that the document
// refuses.

var contract struct {
	once  sync.Once
	v     validator.Validator
	paths map[string]map[string]json.RawMessage
	err   error
}

// openAPIValidator builds the validator of ui/openapi.json once per test binary.
func openAPIValidator(t testing.TB) validator.Validator {
	t.Helper()
	contract.once.Do(func() {
		b, err := os.ReadFile("openapi.json")
		if err != nil {
			contract.err = err
			return
		}
		var raw struct {
			Paths map[string]map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			contract.err = err
			return
		}
		contract.paths = raw.Paths
		doc, err := libopenapi.NewDocument(b)
		if err != nil {
			contract.err = err
			return
		}
		v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
		if len(errs) > 0 {
			contract.err = fmt.Errorf("%v", errs)
			return
		}
		if ok, verrs := v.ValidateDocument(); !ok {
			contract.err = fmt.Errorf("openapi.json is not a valid OpenAPI document: %s", describe(verrs))
			return
		}
		contract.v = v
	})
	if contract.err != nil {
		t.Fatalf("openapi.json: %v", contract.err)
	}
	return contract.v
}

// documented reports whether openapi.json has the operation method path (path without query).
func documented(t testing.TB, method, path string) bool {
	t.Helper()
	openAPIValidator(t)
	_, ok := contract.paths[path][strings.ToLower(method)]
	return ok
}

// contractRequest rebuilds the request env.api sent, for the validator (which reads its body).
func contractRequest(method, path, body string, header http.Header) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header = header.Clone()
	return req
}

// checkContract holds one exchange to openapi.json: the answer must be documented for the
// operation with a body and headers that fit their schemas; a request the document refuses must
// not succeed. An undocumented path or method must get the documented error shape with 404 or
// 405. It returns whether the document accepts the request.
func checkContract(t *testing.T, req *http.Request, status int, header http.Header, body []byte) (requestValid bool) {
	t.Helper()
	v := openAPIValidator(t)
	path := req.URL.Path
	if !documented(t, req.Method, path) {
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			t.Errorf("contract: %s %s is not in openapi.json but answered %d", req.Method, path, status)
		}
		checkErrorShape(t, req.Method+" "+path, status, body)
		return false
	}
	reqOK, reqErrs := v.ValidateHttpRequestSync(req)
	if status/100 == 2 && !reqOK {
		t.Errorf("contract: %s %s answered %d to a request openapi.json refuses: %s", req.Method, req.URL, status, describe(reqErrs))
	}
	resp := &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)), Request: req}
	if ok, errs := v.ValidateHttpResponse(req, resp); !ok {
		t.Errorf("contract: the answer %d to %s %s drifts from openapi.json: %s\nbody: %.400s", status, req.Method, req.URL, describe(errs), body)
	}
	if status >= 400 {
		checkErrorShape(t, req.Method+" "+path, status, body)
	}
	return reqOK
}

// checkErrorShape checks an error answer against the Error schema by hand, for answers the
// validator cannot place (an undocumented path) and as a second look at the others: JSON with a
// documented code, both messages, and a request id.
func checkErrorShape(t *testing.T, what string, status int, body []byte) {
	t.Helper()
	r := apiResult{status: status, body: string(body)}
	if err := json.Unmarshal(body, &r.obj); err != nil {
		t.Errorf("contract: %s answered %d without a JSON error body: %.200s", what, status, body)
		return
	}
	if !slices.Contains(errorCodes(t), r.str("code")) || r.str("message_ja") == "" || r.str("message_en") == "" || r.str("request_id") == "" {
		t.Errorf("contract: %s answered %d with an error that is not the documented shape: %.300s", what, status, body)
	}
}

func describe(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for i, e := range errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Message)
		if e.Reason != "" {
			b.WriteString(" (" + e.Reason + ")")
		}
		for _, f := range e.SchemaValidationErrors {
			b.WriteString(" [" + f.Reason + " at " + f.FieldPath + " " + f.KeywordLocation + "]")
		}
	}
	return b.String()
}

// TestContractCatchesDrift proves the contract check is not vacuous: answers that drift from
// openapi.json in status, body or header are reported, and a request it refuses is seen.
func TestContractCatchesDrift(t *testing.T) {
	v := openAPIValidator(t)
	get := httptest.NewRequest("GET", "/api/v1/locations", nil)
	json200 := http.Header{"Content-Type": {"application/json"}}
	for _, tc := range []struct {
		name   string
		req    *http.Request
		status int
		header http.Header
		body   string
	}{
		{"undocumented status", get, http.StatusTeapot, json200, `{}`},
		{"location without its name", get, 200, json200, `[{"id":"` + "6f1c1f6e-6e4a-4a8e-9d7e-1f0c2b3a4d5e" + `","address":"","guidance":""}]`},
		{"error code outside the enum", get, 429, json200, `{"code":"slow_down","message_ja":"x","message_en":"x","request_id":"r"}`},
		{"Retry-After that is no number", get, 429, http.Header{"Content-Type": {"application/json"}, "Retry-After": {"soon"}},
			`{"code":"throttled","message_ja":"x","message_en":"x","request_id":"r"}`},
	} {
		resp := &http.Response{StatusCode: tc.status, Header: tc.header, Body: io.NopCloser(strings.NewReader(tc.body)), Request: tc.req}
		if ok, _ := v.ValidateHttpResponse(tc.req, resp); ok {
			t.Errorf("%s: the validator accepted a drifting answer", tc.name)
		}
	}
	for name, body := range map[string]string{
		"birth and month":        `{"card_no":"123456789","birth":"0312","month":3}`,
		"neither birth nor date": `{"card_no":"123456789"}`,
		"birth null":             `{"card_no":"123456789","birth":null}`,
	} {
		req := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if ok, _ := v.ValidateHttpRequestSync(req); ok {
			t.Errorf("credentials with %s: openapi.json accepts them", name)
		}
	}
	req := httptest.NewRequest("GET", "/api/v1/availability?location=6f1c1f6e-6e4a-4a8e-9d7e-1f0c2b3a4d5e&from=2026-06-03&to=2026-06-03&slots=AAA", nil)
	if ok, _ := v.ValidateHttpRequestSync(req); ok {
		t.Error("slots=AAA: openapi.json accepts it")
	}
}
