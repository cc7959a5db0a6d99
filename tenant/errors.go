package tenant

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
)

// Code classifies an error for the user interface; the UI maps it to an HTTP status.
type Code string

// The error codes every domain method documents.
const (
	Invalid      Code = "invalid"      // bad input: 422
	NotFound     Code = "not_found"    // no such thing in this tenant: 404
	Conflict     Code = "conflict"     // full, already booked, duplicate: 409
	Unauthorized Code = "unauthorized" // not logged in or login refused: 401
	Forbidden    Code = "forbidden"    // logged in but not allowed: 403
	Throttled    Code = "throttled"    // locked or rate limited: 429
	Unavailable  Code = "unavailable"  // a dependency is down, try later: 503
	Internal     Code = "internal"     // a bug; the user sees a generic message: 500
)

// Error is the one domain error type. Key names a message in ui/web/locale (never prose), Args fill
// it, Fields holds per-field message keys for forms, and Err is the cause, for logs only.
type Error struct {
	Code   Code
	Key    string
	Args   map[string]any
	Fields map[string]string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s (%s): %v", e.Key, e.Code, e.Err)
	}
	return fmt.Sprintf("%s (%s)", e.Key, e.Code)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and message key.
func Errorf(code Code, key string) *Error { return &Error{Code: code, Key: key} }

// WithArgs returns e with message arguments set.
func (e *Error) WithArgs(kv map[string]any) *Error { e.Args = kv; return e }

// Wrap returns e with its cause set.
func (e *Error) Wrap(err error) *Error { e.Err = err; return e }

// Wrap says where an error came from. Deferred at the top of a function with a named error
// result, it replaces a non-nil *errp with fmt.Errorf("<format>: %w", …, *errp) on the way out,
// so the log line of an internal error names the operation that failed, while errors.Is and
// errors.As (AsError, ErrorCode, sql.ErrNoRows, asynq.SkipRetry) still see the cause and the UI
// still shows only an *Error's coded message:
//
//	func (s *Service) Reserve(ctx context.Context, t *tenant.Tenant, in ReserveInput) (_ *Reservation, err error) {
//		defer tenant.Wrap(&err, "booking.Reserve(%s, %s)", t.ID, in.SlotID)
//
// The text goes to logs and job queues, so format and args name the operation and ids only
// (tenant, row and job UUIDs): never a card number, birth date, name, e-mail address, file name
// or other text a user typed, which are personal data or attacker-controlled. Defer arguments are
// evaluated at the defer statement, so take them from values that cannot be nil there.
func Wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
	}
}

// ErrorCode returns the code of the first *Error in err's chain, Internal for any other error and
// "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// IsRetryable reports whether err is a serialization failure or deadlock worth retrying.
func IsRetryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// DBError translates a database error at the boundary: unique violations become conflict, check
// and foreign-key violations invalid, RLS violations forbidden, connection failures unavailable.
// sql.ErrNoRows becomes not_found. Other errors and nil pass through unchanged.
func DBError(err error) error {
	if err == nil || AsError(err) != nil {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return Errorf(NotFound, "error.not_found").Wrap(err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return Errorf(Conflict, "error.conflict").Wrap(err)
		case "23514", "23503", "23502", "22001", "22P02", "22007", "22008":
			return Errorf(Invalid, "error.invalid").Wrap(err)
		case "42501": // insufficient privilege, including a WITH CHECK violation
			return Errorf(Forbidden, "error.forbidden").Wrap(err)
		case "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004", "25006":
			return Errorf(Unavailable, "error.unavailable").Wrap(err)
		}
		return err
	}
	// A connection cut off mid-query (the server was killed or failed over): "unexpected EOF",
	// "conn closed", or database/sql's bad connection, as well as network errors and timeouts.
	var ne net.Error
	var ce *pgconn.ConnectError
	if errors.As(err, &ne) || errors.As(err, &ce) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, driver.ErrBadConn) {
		return Errorf(Unavailable, "error.unavailable").Wrap(err)
	}
	return err
}
