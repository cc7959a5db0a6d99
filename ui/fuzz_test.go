package ui

import (
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// Fuzz targets for the decoding of citizens' requests: the API's JSON bodies and the web forms.
// `go test` runs the seeds and testdata/fuzz; `make fuzz` fuzzes each for a few seconds.

// fuzzCtx is a Fiber context over a request with this content type and body.
func fuzzCtx(app *fiber.App, contentType string, body []byte) (*fiber.Ctx, func()) {
	fc := &fasthttp.RequestCtx{}
	fc.Request.Header.SetMethod(fiber.MethodPost)
	fc.Request.Header.SetContentType(contentType)
	fc.Request.SetBody(body)
	c := app.AcquireCtx(fc)
	return c, func() { app.ReleaseCtx(c) }
}

// FuzzAPIDecode: any body gives a decoded request or an invalid-input error (422), never a
// panic or another error, for each request type of the API.
func FuzzAPIDecode(f *testing.F) {
	for _, s := range []string{`{"card_no":"900000001","birth":"0312"}`, `{"slot_id":"00000000-0000-0000-0000-000000000000","email":"a@b.jp","family":[{"card_no":"1","birth":"0101"}]}`,
		`{"card_no":1}`, `{"x":1}`, `{} {}`, `[`, `{"family":[{"card_no":null}]}`, "\x00", ""} {
		f.Add(s)
	}
	app := fiber.New()
	f.Fuzz(func(t *testing.T, body string) {
		for _, v := range []any{&apiCredentials{}, &apiReservationCreate{}, &apiReservationChange{}} {
			c, done := fuzzCtx(app, fiber.MIMEApplicationJSON, []byte(body))
			err := apiDecode(c, v)
			done()
			if err != nil && tenant.ErrorCode(err) != tenant.Invalid {
				t.Fatalf("apiDecode(%q) into %T: %v, want an invalid-input error", body, v, err)
			}
		}
	})
}

// FuzzFormDecode: the citizen login form and the staff forms that parse several fields
// (location, weekly schedule, mail wording) take any urlencoded body without panicking.
func FuzzFormDecode(f *testing.F) {
	for _, s := range []string{"card_no=900000001&month=3&day=12", "card_no=%EF%BC%99&month=&day=", "name=%00&active=on", "mon_open=on&mon_from=09:00&mon_to=17:00", "%zz=1&&=", ""} {
		f.Add(s)
	}
	app := fiber.New()
	f.Fuzz(func(t *testing.T, body string) {
		c, done := fuzzCtx(app, fiber.MIMEApplicationForm, []byte(body))
		defer done()
		in := parseLoginForm(c).input(c)
		_, _ = booking.ValidateCardNo(nil, in.CardNo)
		_, _ = booking.ParseMMDD(in.Birth)
		_ = parseLocationForm(c)
		_ = parseWeekForm(c)
		_ = parseMailTemplateForm(c)
	})
}
