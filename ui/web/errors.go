package web

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/tenant"
)

// ErrUnknownHost answers a host that is no city and no console (a 404 naming no tenant).
var ErrUnknownHost = tenant.Errorf(tenant.NotFound, "error.unknown_host")

// StatusOf is the HTTP status of a domain error code (a form re-rendered with its errors answers
// with the status the error handler would have used).
func StatusOf(code tenant.Code) int { return statusByCode[code] }

var statusByCode = map[tenant.Code]int{
	tenant.Invalid:      fiber.StatusUnprocessableEntity,
	tenant.NotFound:     fiber.StatusNotFound,
	tenant.Conflict:     fiber.StatusConflict,
	tenant.Unauthorized: fiber.StatusUnauthorized,
	tenant.Forbidden:    fiber.StatusForbidden,
	tenant.Throttled:    fiber.StatusTooManyRequests,
	tenant.Unavailable:  fiber.StatusServiceUnavailable,
	tenant.Internal:     fiber.StatusInternalServerError,
}

// errorBody is the JSON shape of every API error.
type errorBody struct {
	Code      string            `json:"code"`
	MessageJA string            `json:"message_ja"`
	MessageEN string            `json:"message_en"`
	Fields    map[string]string `json:"fields,omitempty"`
	RequestID string            `json:"request_id"`
	// PowToken and PowBits are the proof-of-work challenge of a login refused with
	// "login.step_up": send the token back with a nonce that solves it (pow_token, pow_nonce).
	PowToken string `json:"pow_token,omitempty"`
	PowBits  int    `json:"pow_bits,omitempty"`
}

// ErrorPage is what a console's error page shows: the status, the message key with its
// arguments, and the request id to quote when calling the help desk.
type ErrorPage struct {
	Status     int
	MessageKey string
	Args       map[string]any
	RequestID  string
}

// ErrorPages renders a console's error page (in its own layout, with its own page data).
type ErrorPages interface {
	RenderError(c *fiber.Ctx, p ErrorPage) error
}

// UseErrorPages is middleware that makes the console's error pages answer the request's errors.
func UseErrorPages(p ErrorPages) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Locals(localErrorPages, p)
		return c.Next()
	}
}

// SetErrorPages sets the error pages for requests no console claimed (unknown hosts, probes).
func (w *Core) SetErrorPages(p ErrorPages) { w.errorPages = p }

// ErrorHandler is the one error path (fiber.Config.ErrorHandler). It maps domain codes and Fiber
// errors to a status, logs internal errors with request id and tenant, and renders the console's
// error page or JSON (by Accept or /api/ path). The client never sees err.Error().
func (w *Core) ErrorHandler(c *fiber.Ctx, err error) error {
	status, key := fiber.StatusInternalServerError, "error.internal"
	var fe *fiber.Error
	var de *tenant.Error
	switch {
	case errors.As(err, &de):
		status, key = statusByCode[de.Code], de.Key
		if status == 0 {
			status = fiber.StatusInternalServerError
		}
	case errors.As(err, &fe):
		status = fe.Code
		key = fiberErrorKey(fe.Code)
	}
	if status >= 500 {
		w.Log.Error("request failed", "request_id", RequestIDOf(c), "tenant", TenantSlug(c),
			"route", c.Route().Path, "status", status, "err", err)
		if status == fiber.StatusInternalServerError {
			key = "error.internal"
		}
	}
	if status == fiber.StatusTooManyRequests || status == fiber.StatusServiceUnavailable {
		if c.GetRespHeader(fiber.HeaderRetryAfter) == "" {
			c.Set(fiber.HeaderRetryAfter, "60")
		}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if wantsJSON(c) {
		body := errorBody{
			Code:      errorCodeName(err, status),
			MessageJA: w.Locales.T("ja", key, argsOf(de)),
			MessageEN: w.Locales.T("en", key, argsOf(de)),
			RequestID: RequestIDOf(c),
		}
		if de != nil {
			body.Fields = de.Fields
			body.PowToken, _ = de.Args["pow"].(string)
			body.PowBits, _ = de.Args["pow_bits"].(int)
		}
		return c.Status(status).JSON(body)
	}
	pages, _ := c.Locals(localErrorPages).(ErrorPages)
	if pages == nil {
		pages = w.errorPages
	}
	page := ErrorPage{Status: status, MessageKey: key, Args: argsOf(de), RequestID: RequestIDOf(c)}
	var rerr error = errors.New("no error pages")
	if pages != nil {
		rerr = pages.RenderError(c.Status(status), page)
	}
	if rerr != nil {
		w.Log.Error("render error page", "request_id", RequestIDOf(c), "err", rerr)
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.Status(status).SendString("エラーが発生しました。 / An error occurred. (" + RequestIDOf(c) + ")")
	}
	return nil
}

func argsOf(e *tenant.Error) map[string]any {
	if e == nil {
		return nil
	}
	return e.Args
}

func wantsJSON(c *fiber.Ctx) bool {
	if strings.HasPrefix(c.Path(), "/api/") {
		return true
	}
	acc := c.Get(fiber.HeaderAccept)
	return strings.Contains(acc, "application/json") && !strings.Contains(acc, "text/html")
}

func errorCodeName(err error, status int) string {
	if de := tenant.AsError(err); de != nil {
		if de.Key != "" {
			return strings.TrimPrefix(de.Key, "error.")
		}
		return string(de.Code)
	}
	switch status {
	case fiber.StatusNotFound:
		return "not_found"
	case fiber.StatusMethodNotAllowed:
		return "method_not_allowed"
	case fiber.StatusRequestEntityTooLarge:
		return "too_large"
	case fiber.StatusForbidden:
		return "forbidden"
	case fiber.StatusTooManyRequests:
		return "throttled"
	}
	if status < 500 {
		return "bad_request"
	}
	return "internal"
}

func fiberErrorKey(status int) string {
	switch status {
	case fiber.StatusNotFound:
		return "error.not_found"
	case fiber.StatusMethodNotAllowed:
		return "error.method_not_allowed"
	case fiber.StatusRequestEntityTooLarge:
		return "error.too_large"
	case fiber.StatusForbidden:
		return "error.forbidden"
	case fiber.StatusTooManyRequests:
		return "error.throttled"
	case fiber.StatusServiceUnavailable:
		return "error.unavailable"
	case fiber.StatusRequestTimeout:
		return "error.timeout"
	}
	if status < 500 {
		return "error.bad_request"
	}
	return "error.internal"
}
