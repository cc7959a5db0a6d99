package tenant

import (
	"context"
	"encoding/base32"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
	"github.com/uptrace/bun"
)

// This file is the optional second factor of staff logins: a TOTP code (RFC 6238: SHA-1, six
// digits, 30-second steps) from an authenticator app (認証アプリ) on the member's phone.
//
// Decisions: the secret is stored as base32 text in staff_accounts, readable by the runtime role
// only inside the tenant's RLS scope; it is shown once, on the enrolment page, before it is
// saved, and never again (no page, log or audit entry carries it). It is not encrypted with an
// application key: the key would sit beside the database credentials in the same process, and
// the backups and volumes are encrypted at rest; envelope encryption (per-tenant data keys
// wrapped by a master key) can wrap it later without a schema change. A code is accepted
// for the current step and one step either side (±30 s of clock drift), and only for a step
// later than the last one accepted, so each code works once.

const (
	totpPeriod = 30
	totpSkew   = 1
)

var totpOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// NewTOTPSecret returns a fresh random secret (160 bits, base32). Nothing is stored: the caller
// keeps it (in the member's session) until EnableTOTP confirms a code made from it.
func NewTOTPSecret(t *Tenant, loginID string) (string, error) {
	return newTOTPSecret(t.Name+" 交付予約", loginID)
}

// TOTPURL is the otpauth:// address an authenticator app reads from the enrolment QR code; the
// app lists the account as "{city} 交付予約 (login id)".
func TOTPURL(t *Tenant, loginID, secret string) (string, error) {
	return totpURL(t.Name+" 交付予約", loginID, secret)
}

// opsTOTPIssuer is how an authenticator app lists a vendor account.
const opsTOTPIssuer = "madoguchi 事業者"

// NewOpsTOTPSecret is NewTOTPSecret for a vendor account (ops or operator).
func NewOpsTOTPSecret(loginID string) (string, error) { return newTOTPSecret(opsTOTPIssuer, loginID) }

// OpsTOTPURL is TOTPURL for a vendor account: the app lists it as "madoguchi 事業者 (login id)".
func OpsTOTPURL(loginID, secret string) (string, error) {
	return totpURL(opsTOTPIssuer, loginID, secret)
}

func newTOTPSecret(issuer, loginID string) (string, error) {
	key, err := totp.Generate(totpGenerateOpts(issuer, loginID, nil))
	if err != nil {
		return "", err
	}
	return key.Secret(), nil
}

func totpURL(issuer, loginID, secret string) (string, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		return "", err
	}
	key, err := totp.Generate(totpGenerateOpts(issuer, loginID, raw))
	if err != nil {
		return "", err
	}
	return key.URL(), nil
}

func totpGenerateOpts(issuer, loginID string, secret []byte) totp.GenerateOpts {
	return totp.GenerateOpts{Issuer: issuer, AccountName: loginID, Period: totpPeriod, Secret: secret,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
}

// NormalizeCode turns what a member typed (full-width digits, spaces, "123 456") into six ASCII
// digits; anything else comes back as typed and fails the check.
func NormalizeCode(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '０' && r <= '９':
			b.WriteRune(r - '０' + '0')
		case r == ' ' || r == '\u3000' || r == '-' || r == '－':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// matchStep returns the step (of now−1 … now+1) whose code is code, or 0.
func matchStep(secret, code string, now time.Time) int64 {
	code = NormalizeCode(code)
	if len(code) != 6 {
		return 0
	}
	step := now.Unix() / totpPeriod
	var found int64
	for s := step - totpSkew; s <= step+totpSkew; s++ {
		if ok, err := hotp.ValidateCustom(code, uint64(s), secret, totpOpts); err == nil && ok && found == 0 {
			found = s
		}
	}
	return found
}

// codeError is the field error of a wrong or already used code.
func codeError(key string) error {
	return &Error{Code: Invalid, Key: "error.invalid", Fields: map[string]string{"code": key}}
}

// EnableTOTP saves secret for the account once the member's current password checks out (a
// re-authentication, limited as in recheck.go) and code, made from secret by the member's app,
// matches. It returns invalid (field "password": "staff.password.current_wrong", counted toward
// the limit; field "code": "mfa.code.wrong"), throttled ("staff.password.recheck_limited") while
// the limit holds, conflict when TOTP is already on and not_found for an unknown id. Audit:
// "mfa.enable", "password.recheck_failed".
func (a *Accounts) EnableTOTP(ctx context.Context, t *Tenant, id uuid.UUID, password, secret, code, ip string) (err error) {
	defer Wrap(&err, "tenant.Accounts.EnableTOTP(%s, %s)", t.ID, id)
	now := a.now()
	step := matchStep(secret, code, now)
	if secret == "" {
		return codeError("mfa.code.wrong")
	}
	release, err := passwordTurn(ctx)
	if err != nil {
		return err
	}
	defer release()
	var refused error
	_, err = a.update(ctx, t, id, func(ctx context.Context, tx bun.Tx, acc *Account) ([]string, error) {
		if acc.TOTPEnabled {
			return nil, Errorf(Conflict, "mfa.enable.already")
		}
		if err := recheckRefused(acc.RecheckFailures, acc.RecheckSince, now); err != nil {
			return nil, err
		}
		if !checkPassword(acc.PasswordHash, password) {
			fields := map[string]string{"password": "staff.password.current_wrong"}
			if step == 0 {
				fields["code"] = "mfa.code.wrong"
			}
			refused = &Error{Code: Invalid, Key: "error.invalid", Fields: fields}
			return recheckFailed(ctx, tx, acc, ip, now)
		}
		if step == 0 {
			return nil, codeError("mfa.code.wrong")
		}
		acc.TOTPSecret, acc.TOTPEnabled, acc.TOTPLastStep = secret, true, step
		recheckClear(&acc.RecheckFailures, &acc.RecheckSince)
		return append([]string{"totp_secret", "totp_enabled", "totp_last_step"}, recheckCols...),
			Audit(ctx, tx, t.ID, AuditEntry{Actor: acc.LoginID, Action: "mfa.enable", Target: acc.LoginID, IP: ip,
				Before: map[string]any{"totp": false}, After: map[string]any{"totp": true}})
	})
	if err != nil {
		return err
	}
	return refused
}

// DisableTOTP turns the member's TOTP off after checking their password and a current code (a
// re-authentication: a wrong password or code counts toward the limit of recheck.go). It
// returns invalid with fields "password" / "code", throttled ("staff.password.recheck_limited")
// while the limit holds, forbidden ("mfa.disable.required") while the city requires TOTP, and
// not_found for an unknown id. Audit: "mfa.disable", "password.recheck_failed".
func (a *Accounts) DisableTOTP(ctx context.Context, t *Tenant, id uuid.UUID, password, code, ip string) (err error) {
	defer Wrap(&err, "tenant.Accounts.DisableTOTP(%s, %s)", t.ID, id)
	release, err := passwordTurn(ctx)
	if err != nil {
		return err
	}
	defer release()
	if t.Settings.TOTPRequired {
		return Errorf(Forbidden, "mfa.disable.required")
	}
	now := a.now()
	var refused error
	_, err = a.update(ctx, t, id, func(ctx context.Context, tx bun.Tx, acc *Account) ([]string, error) {
		if !acc.TOTPEnabled {
			return nil, nil
		}
		if err := recheckRefused(acc.RecheckFailures, acc.RecheckSince, now); err != nil {
			return nil, err
		}
		fields := map[string]string{}
		if !checkPassword(acc.PasswordHash, password) {
			fields["password"] = "staff.password.current_wrong"
		}
		if step := matchStep(acc.TOTPSecret, code, now); step == 0 || step <= acc.TOTPLastStep {
			fields["code"] = "mfa.code.wrong"
		}
		if len(fields) > 0 {
			refused = &Error{Code: Invalid, Key: "error.invalid", Fields: fields}
			return recheckFailed(ctx, tx, acc, ip, now)
		}
		acc.TOTPSecret, acc.TOTPEnabled, acc.TOTPLastStep = "", false, 0
		recheckClear(&acc.RecheckFailures, &acc.RecheckSince)
		return append([]string{"totp_secret", "totp_enabled", "totp_last_step"}, recheckCols...),
			Audit(ctx, tx, t.ID, AuditEntry{Actor: acc.LoginID, Action: "mfa.disable", Target: acc.LoginID, IP: ip,
				Before: map[string]any{"totp": true}, After: map[string]any{"totp": false}})
	})
	if err != nil {
		return err
	}
	return refused
}

// VerifyLoginCode is the second step of a login for an account with TOTP, after Authenticate
// accepted the password. A wrong code counts toward the same lockout as a wrong password. It
// returns unauthorized ("mfa.code.wrong", or "mfa.code.used" for a code already accepted once),
// throttled ("staff.login.locked") while the account is locked, and unauthorized
// ("staff.login.failed") when the account was disabled or lost its TOTP meanwhile. On success
// the failure count is cleared and "login" is audit-logged with mfa=true.
func (a *Accounts) VerifyLoginCode(ctx context.Context, t *Tenant, id uuid.UUID, code, ip string) (_ *Account, err error) {
	defer Wrap(&err, "tenant.Accounts.VerifyLoginCode(%s, %s)", t.ID, id)
	now := a.now()
	var acc Account
	var result error
	err = InTx(ctx, a.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(&acc).Where("id = ?", id).For("UPDATE").Scan(ctx); err != nil {
			return DBError(err)
		}
		switch {
		case acc.Disabled || !acc.TOTPEnabled:
			result = Errorf(Unauthorized, "staff.login.failed")
			return nil
		case a.Locked(&acc):
			result = Errorf(Throttled, "staff.login.locked")
			return nil
		}
		step := matchStep(acc.TOTPSecret, code, now)
		if step == 0 || step <= acc.TOTPLastStep {
			if err := recordFailure(ctx, tx, &acc, now); err != nil {
				return err
			}
			result = Errorf(Unauthorized, "mfa.code.wrong")
			if step != 0 {
				result = Errorf(Unauthorized, "mfa.code.used")
			}
			return Audit(ctx, tx, t.ID, AuditEntry{Actor: acc.LoginID, Action: "login.mfa_failed", IP: ip})
		}
		acc.TOTPLastStep, acc.FailedCount, acc.LockedUntil = step, 0, nil
		if _, err := tx.NewUpdate().Model(&acc).Set("failed_count = 0").Set("locked_until = NULL").
			Set("totp_last_step = ?", step).WherePK().Exec(ctx); err != nil {
			return err
		}
		return Audit(ctx, tx, t.ID, AuditEntry{Actor: acc.LoginID, Action: "login", IP: ip, After: map[string]any{"mfa": true}})
	})
	if err != nil {
		return nil, err
	}
	if result != nil {
		return nil, result
	}
	return &acc, nil
}

// ResetTOTP turns a member's TOTP off for a lost or replaced phone; they enrol again at their
// next login (at once when the city requires TOTP). It returns forbidden ("admin.accounts.self")
// for the admin's own account (they use their own TOTP page) and not_found for an unknown id.
// Audit: "account.reset_mfa". The caller ends the account's sessions.
func (a *Accounts) ResetTOTP(ctx context.Context, t *Tenant, id uuid.UUID, by Actor) (_ *Account, err error) {
	defer Wrap(&err, "tenant.Accounts.ResetTOTP(%s, %s)", t.ID, id)
	if id == by.AccountID {
		return nil, Errorf(Forbidden, "admin.accounts.self")
	}
	return a.update(ctx, t, id, func(ctx context.Context, tx bun.Tx, acc *Account) ([]string, error) {
		if !acc.TOTPEnabled {
			return nil, nil
		}
		acc.TOTPSecret, acc.TOTPEnabled, acc.TOTPLastStep = "", false, 0
		return []string{"totp_secret", "totp_enabled", "totp_last_step"},
			Audit(ctx, tx, t.ID, AuditEntry{Actor: by.Login, Action: "account.reset_mfa", Target: acc.LoginID, IP: by.IP,
				Before: map[string]any{"totp": true}, After: map[string]any{"totp": false}})
	})
}
