package tenant

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// This file is the vendor's own accounts: its ops team (OpsRoleOps, the ops console) and the
// call center's operators (OpsRoleOperator, the call-center console, serving the cities granted
// to them). They are platform data, in the global ops_accounts table, never in a city's scope.
// They follow the staff rules, through the same code: argon2id, an issued password that expires
// after 72 hours and must be changed, 12–128 characters without common or context words, and
// the staff login limits (10 failures → 15 minutes, the 20th and every further 10th → 24 hours,
// the per-address slow-down, the password gate). TOTP is required of every
// vendor account: a correct password is never a login by itself. A console's login is
//
//	Authenticate (password) → VerifyLoginCode (when TOTP is enrolled) → ChangePassword (while
//	MustChange) → EnableTOTP (while not enrolled: the first login)
//
// and the console opens a session only once the account has TOTP and its code (or its enrolment
// code) was accepted in that login. Every change is written to the vendor's log (ops_audit_log)
// as "vendor:<login>".

// OpsRole is what a vendor account does.
type OpsRole string

// Vendor roles: the ops team, and the call center's operators and supervisors (an operator who
// also sees the calls handled per operator and city).
const (
	OpsRoleOps        OpsRole = "ops"
	OpsRoleOperator   OpsRole = "operator"
	OpsRoleSupervisor OpsRole = "supervisor"
)

// Serves reports whether the role serves callers in the call center (operator or supervisor).
func (r OpsRole) Serves() bool { return r == OpsRoleOperator || r == OpsRoleSupervisor }

// OpsAccount is a vendor account.
type OpsAccount struct {
	bun.BaseModel `bun:"table:ops_accounts"`

	ID                uuid.UUID  `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	LoginID           string     `bun:"login_id,notnull"`
	DisplayName       string     `bun:"display_name,notnull"`
	Role              OpsRole    `bun:"role,notnull"`
	PasswordHash      string     `bun:"password_hash,notnull" json:"-"`
	MustChange        bool       `bun:"must_change,notnull"`
	PasswordExpiresAt *time.Time `bun:"password_expires_at"`
	FailedCount       int        `bun:"failed_count,notnull"`
	LockedUntil       *time.Time `bun:"locked_until"`
	Disabled          bool       `bun:"disabled,notnull"`
	TOTPSecret        string     `bun:"totp_secret,nullzero" json:"-"` // never shown after enrolment
	TOTPEnabled       bool       `bun:"totp_enabled,notnull"`
	TOTPLastStep      int64      `bun:"totp_last_step,notnull" json:"-"`
	RecheckFailures   int        `bun:"recheck_failures,notnull"` // failed current-password checks (recheck.go)
	RecheckSince      *time.Time `bun:"recheck_since"`
	CreatedBy         string     `bun:"created_by,notnull"`
	CreatedAt         time.Time  `bun:"created_at,notnull,default:current_timestamp"`
	UpdatedAt         time.Time  `bun:"updated_at,notnull,default:current_timestamp"`
}

// actor is the account as the logs name it when it acts on itself (logins, its own password).
func (a *OpsAccount) actor(ip string) Actor { return Vendor(a.ID, a.LoginID, ip) }

// OpsAccounts manages the vendor's accounts, their logins, the operators' grants
// (ops_grant.go) and the consoles' IP allow-lists (ops_allow.go).
type OpsAccounts struct {
	db   *bun.DB
	now  func() time.Time
	slow *slowDown // the login's per-address slow-down, as for staff
}

// NewOpsAccounts returns the vendor account service on the clock now (time.Now when nil).
func NewOpsAccounts(db *bun.DB, now func() time.Time) *OpsAccounts {
	if now == nil {
		now = time.Now
	}
	return &OpsAccounts{db: db, now: now, slow: &slowDown{step: slowStep}}
}

// Create adds a vendor account with an issued password, returned once: it must be changed at
// the first login and expires after 72 hours, and TOTP is enrolled at that login. It returns
// invalid (fields "login_id", "display_name", "role") for bad input, conflict
// ("ops.login_id.taken") when the login id is taken, and forbidden for an actor who is not the
// vendor (or the system). Audit: "platform.account.create".
func (o *OpsAccounts) Create(ctx context.Context, loginID, name string, role OpsRole, by Actor) (_ *OpsAccount, initial string, err error) {
	defer Wrap(&err, "tenant.OpsAccounts.Create")
	if err := platformOnly(by); err != nil {
		return nil, "", err
	}
	initial = RandomPassword()
	exp := o.now().Add(initialPwLife)
	acc := &OpsAccount{LoginID: strings.ToLower(strings.TrimSpace(loginID)), DisplayName: strings.TrimSpace(name), Role: role,
		PasswordHash: hashPassword(initial), MustChange: true, PasswordExpiresAt: &exp, CreatedBy: clip(by.Name(), 100)}
	fields := checkNewLogin(acc.LoginID, acc.DisplayName)
	if role != OpsRoleOps && !role.Serves() {
		fields["role"] = "ops.role.invalid"
	}
	if len(fields) > 0 {
		return nil, "", &Error{Code: Invalid, Key: "error.invalid", Fields: fields}
	}
	err = RunTx(ctx, o.db, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(acc).Returning("*").Exec(ctx); err != nil {
			if ErrorCode(DBError(err)) == Conflict {
				return &Error{Code: Conflict, Key: "ops.login_id.taken", Fields: map[string]string{"login_id": "ops.login_id.taken"}, Err: err}
			}
			return err
		}
		return opsAudit(ctx, tx, uuid.Nil, AuditEntry{Actor: by.Name(), Action: "platform.account.create", Target: acc.LoginID, IP: by.IP,
			After: map[string]any{"role": role, "name": acc.DisplayName}})
	})
	if err != nil {
		return nil, "", DBError(err)
	}
	return acc, initial, nil
}

// ByID returns a vendor account, or not_found.
func (o *OpsAccounts) ByID(ctx context.Context, id uuid.UUID) (_ *OpsAccount, err error) {
	defer Wrap(&err, "tenant.OpsAccounts.ByID(%s)", id)
	var acc OpsAccount
	if err := o.db.NewSelect().Model(&acc).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, DBError(err)
	}
	return &acc, nil
}

// ByLogin returns the vendor account with loginID, or not_found ("ops.account.not_found").
func (o *OpsAccounts) ByLogin(ctx context.Context, loginID string) (_ *OpsAccount, err error) {
	defer Wrap(&err, "tenant.OpsAccounts.ByLogin()")
	var acc OpsAccount
	err = o.db.NewSelect().Model(&acc).Where("login_id = ?", strings.ToLower(strings.TrimSpace(loginID))).Scan(ctx)
	if ErrorCode(DBError(err)) == NotFound {
		return nil, &Error{Code: NotFound, Key: "ops.account.not_found", Err: err}
	}
	if err != nil {
		return nil, DBError(err)
	}
	return &acc, nil
}

// List returns every vendor account ordered by login id.
func (o *OpsAccounts) List(ctx context.Context) (_ []OpsAccount, err error) {
	defer Wrap(&err, "tenant.OpsAccounts.List()")
	var out []OpsAccount
	err = o.db.NewSelect().Model(&out).Order("login_id").Scan(ctx)
	return out, DBError(err)
}

// Locked reports whether acc may not log in now because of failed attempts (the staff rule).
func (o *OpsAccounts) Locked(acc *OpsAccount) bool {
	return lockedAt(acc.FailedCount, acc.LockedUntil, o.now())
}

// update locks one vendor account, lets change modify it and returns the columns to write, in one
// transaction; it returns not_found for an unknown id.
func (o *OpsAccounts) update(ctx context.Context, id uuid.UUID, change func(ctx context.Context, tx bun.Tx, acc *OpsAccount) ([]string, error)) (*OpsAccount, error) {
	var acc OpsAccount
	err := RunTx(ctx, o.db, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(&acc).Where("id = ?", id).For("UPDATE").Scan(ctx); err != nil {
			return err
		}
		cols, err := change(ctx, tx, &acc)
		if err != nil || len(cols) == 0 {
			return err
		}
		acc.UpdatedAt = o.now()
		_, err = tx.NewUpdate().Model(&acc).Column(append(cols, "updated_at")...).WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return nil, DBError(err)
	}
	return &acc, nil
}

// Authenticate is the first step of a vendor login: the password. Like the staff login, a login
// from an address with many recent failures is slowed down first (never refused), then waits for
// the password gate (throttled "staff.login.busy" when too many checks run at once), and the
// argon2id hash runs outside any transaction (the account is read in one short transaction and
// the result written in another). It returns unauthorized "staff.login.failed" — one answer, at
// the same cost, for an unknown login, a wrong password, a disabled account and a locked one (10
// failures → 15 minutes, the 20th and every further 10th → 24 hours, never for good) — and
// "staff.login.expired" for the right issued password past its 72 hours. A success is not a
// login: the failure count stays until the TOTP step (VerifyLoginCode or EnableTOTP) succeeds,
// so re-entering the password buys no more guesses at the code. Audit: "login.failed" (with
// "locked" for an attempt on a locked account), "login.password_ok".
func (o *OpsAccounts) Authenticate(ctx context.Context, loginID, pw, ip string) (_ *OpsAccount, err error) {
	defer Wrap(&err, "tenant.OpsAccounts.Authenticate")
	if err := o.slow.wait(ctx, ip, o.now()); err != nil {
		return nil, err
	}
	release, err := passwordTurn(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	now := o.now()
	loginID = strings.ToLower(strings.TrimSpace(loginID))
	var acc OpsAccount
	err = o.db.NewSelect().Model(&acc).Where("login_id = ?", loginID).Scan(ctx)
	found, ok, hash, err := checkRead(err, acc.PasswordHash, pw)
	if err != nil {
		return nil, err
	}
	var result error
	failed := Errorf(Unauthorized, "staff.login.failed")
	err = RunTx(ctx, o.db, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := relock(ctx, tx, &acc, acc.ID, &found); err != nil {
			return err
		}
		if !found {
			result = failed
			return opsAudit(ctx, tx, uuid.Nil, AuditEntry{Actor: "anonymous", Action: "login.failed", Target: clip(loginID, 64), IP: ip})
		}
		if acc.PasswordHash != hash {
			ok = false // the password changed while it was being checked
		}
		if lockedAt(acc.FailedCount, acc.LockedUntil, now) {
			result = failed
			return opsAudit(ctx, tx, uuid.Nil, AuditEntry{Actor: acc.actor(ip).Name(), Action: "login.failed", After: map[string]any{"locked": true}, IP: ip})
		}
		expired := initialExpiredAt(acc.MustChange, acc.PasswordExpiresAt, now)
		if !ok || acc.Disabled || expired {
			if err := countFailure(ctx, tx, &acc, &acc.FailedCount, now); err != nil {
				return err
			}
			result = failed
			if ok && expired {
				result = Errorf(Unauthorized, "staff.login.expired")
			}
			return opsAudit(ctx, tx, uuid.Nil, AuditEntry{Actor: acc.actor(ip).Name(), Action: "login.failed", IP: ip})
		}
		return opsAudit(ctx, tx, uuid.Nil, AuditEntry{Actor: acc.actor(ip).Name(), Action: "login.password_ok", IP: ip})
	})
	if err != nil {
		return nil, DBError(err)
	}
	if result != nil {
		if result == failed {
			o.slow.fail(ip, now)
		}
		return nil, result
	}
	return &acc, nil
}

// VerifyLoginCode is the TOTP step of a vendor login for an enrolled account, after
// Authenticate. A wrong code counts toward the same lockout as a wrong password. It returns
// unauthorized ("mfa.code.wrong", or "mfa.code.used" for a code already accepted once; or
// "staff.login.failed" when the account was disabled or has no TOTP) and throttled
// ("staff.login.locked") while locked. On success the failure count is cleared. Audit:
// "login.mfa_failed", "login".
func (o *OpsAccounts) VerifyLoginCode(ctx context.Context, id uuid.UUID, code, ip string) (_ *OpsAccount, err error) {
	defer Wrap(&err, "tenant.OpsAccounts.VerifyLoginCode(%s)", id)
	now := o.now()
	var result error
	acc, err := o.update(ctx, id, func(ctx context.Context, tx bun.Tx, acc *OpsAccount) ([]string, error) {
		switch {
		case acc.Disabled || !acc.TOTPEnabled:
			result = Errorf(Unauthorized, "staff.login.failed")
			return nil, nil
		case lockedAt(acc.FailedCount, acc.LockedUntil, now):
			result = Errorf(Throttled, "staff.login.locked")
			return nil, nil
		}
		step := matchStep(acc.TOTPSecret, code, now)
		if step == 0 || step <= acc.TOTPLastStep {
			result = Errorf(Unauthorized, "mfa.code.wrong")
			if step != 0 {
				result = Errorf(Unauthorized, "mfa.code.used")
			}
			if err := countFailure(ctx, tx, acc, &acc.FailedCount, now); err != nil {
				return nil, err
			}
			return nil, opsAudit(ctx, tx, uuid.Nil, AuditEntry{Actor: acc.actor(ip).Name(), Action: "login.mfa_failed", IP: ip})
		}
		acc.TOTPLastStep, acc.FailedCount, acc.LockedUntil = step, 0, nil
		return []string{"totp_last_step", "failed_count", "locked_until"},
			opsAudit(ctx, tx, uuid.Nil, AuditEntry{Actor: acc.actor(ip).Name(), Action: "login", IP: ip, After: map[string]any{"mfa": true}})
	})
	if err != nil {
		return nil, err
	}
	if result != nil {
		return nil, result
	}
	return acc, nil
}

// EnableTOTP enrols TOTP at an account's first login (after Authenticate and, while MustChange,
// ChangePassword): secret (NewOpsTOTPSecret, kept in the login's session until now) is saved once
// code, made from it by the member's app, checks out; that completes the login and clears the
// failure count. It returns invalid (field "code": "mfa.code.wrong") for a wrong code, forbidden
// ("ops.password.change_first") while the issued password is unchanged, conflict
// ("mfa.enable.already") when TOTP is already on, unauthorized ("staff.login.failed") for a
// disabled account and not_found for an unknown id. Audit: "mfa.enable".
func (o *OpsAccounts) EnableTOTP(ctx context.Context, id uuid.UUID, secret, code, ip string) (_ *OpsAccount, err error) {
	defer Wrap(&err, "tenant.OpsAccounts.EnableTOTP(%s)", id)
	step := matchStep(secret, code, o.now())
	if secret == "" || step == 0 {
		return nil, codeError("mfa.code.wrong")
	}
	return o.update(ctx, id, func(ctx context.Context, tx bun.Tx, acc *OpsAccount) ([]string, error) {
		switch {
		case acc.Disabled:
			return nil, Errorf(Unauthorized, "staff.login.failed")
		case acc.TOTPEnabled:
			return nil, Errorf(Conflict, "mfa.enable.already")
		case acc.MustChange:
			return nil, Errorf(Forbidden, "ops.password.change_first")
		}
		acc.TOTPSecret, acc.TOTPEnabled, acc.TOTPLastStep = secret, true, step
		acc.FailedCount, acc.LockedUntil = 0, nil
		return []string{"totp_secret", "totp_enabled", "totp_last_step", "failed_count", "locked_until"},
			opsAudit(ctx, tx, uuid.Nil, AuditEntry{Actor: acc.actor(ip).Name(), Action: "mfa.enable", Target: acc.LoginID, IP: ip,
				Before: map[string]any{"totp": false}, After: map[string]any{"totp": true}})
	})
}

// ChangePassword replaces the account's password after checking the current one and the staff
// password rules (context words: the login id). It returns invalid with fields
// "current_password" / "new_password" (the staff.password.* keys; a wrong current password
// counts toward the account's limit of recheck.go), throttled ("staff.password.recheck_limited")
// while that limit holds, unauthorized ("staff.login.failed") for a disabled account and
// not_found for an unknown id. Audit: "password.change", "password.recheck_failed".
func (o *OpsAccounts) ChangePassword(ctx context.Context, id uuid.UUID, current, next, ip string) (err error) {
	defer Wrap(&err, "tenant.OpsAccounts.ChangePassword(%s)", id)
	release, err := passwordTurn(ctx)
	if err != nil {
		return err
	}
	defer release()
	now := o.now()
	var refused error
	_, err = o.update(ctx, id, func(ctx context.Context, tx bun.Tx, acc *OpsAccount) ([]string, error) {
		if acc.Disabled {
			return nil, Errorf(Unauthorized, "staff.login.failed")
		}
		if err := recheckRefused(acc.RecheckFailures, acc.RecheckSince, now); err != nil {
			return nil, err
		}
		if !checkPassword(acc.PasswordHash, current) {
			refused = &Error{Code: Invalid, Key: "error.invalid", Fields: map[string]string{"current_password": "staff.password.current_wrong"}}
			recheckFail(RecheckVendor, &acc.RecheckFailures, &acc.RecheckSince, now)
			return recheckCols, opsAudit(ctx, tx, uuid.Nil, AuditEntry{Actor: acc.actor(ip).Name(), Action: "password.recheck_failed", IP: ip,
				After: map[string]any{"failures": acc.RecheckFailures}})
		}
		if err := checkPasswordPolicy(next, acc.LoginID); err != nil {
			return nil, err
		}
		if current == next {
			return nil, &Error{Code: Invalid, Key: "error.invalid", Fields: map[string]string{"new_password": "staff.password.same"}}
		}
		acc.PasswordHash, acc.MustChange, acc.PasswordExpiresAt = hashPassword(next), false, nil
		recheckClear(&acc.RecheckFailures, &acc.RecheckSince)
		return append([]string{"password_hash", "must_change", "password_expires_at"}, recheckCols...),
			opsAudit(ctx, tx, uuid.Nil, AuditEntry{Actor: acc.actor(ip).Name(), Action: "password.change", IP: ip})
	})
	if err != nil {
		return err
	}
	return refused
}

// Reset gives a vendor account a new issued password, returned once (change at the next login,
// 72 hours), clears its failures and lock and, with resetTOTP (a lost phone), its TOTP, which
// is enrolled again at that login. The caller ends the account's sessions. It returns not_found
// for an unknown id and forbidden for an actor who is not the vendor (or the system), or who
// resets their own account. Audit: "platform.account.reset".
func (o *OpsAccounts) Reset(ctx context.Context, id uuid.UUID, resetTOTP bool, by Actor) (_ *OpsAccount, initial string, err error) {
	defer Wrap(&err, "tenant.OpsAccounts.Reset(%s)", id)
	if err := platformOnly(by); err != nil {
		return nil, "", err
	}
	if id == by.AccountID {
		return nil, "", Errorf(Forbidden, "admin.accounts.self")
	}
	initial = RandomPassword()
	acc, err := o.update(ctx, id, func(ctx context.Context, tx bun.Tx, acc *OpsAccount) ([]string, error) {
		before := map[string]any{"failed_count": acc.FailedCount, "locked": lockedAt(acc.FailedCount, acc.LockedUntil, o.now()), "totp": acc.TOTPEnabled}
		exp := o.now().Add(initialPwLife)
		acc.PasswordHash, acc.MustChange, acc.PasswordExpiresAt = hashPassword(initial), true, &exp
		acc.FailedCount, acc.LockedUntil = 0, nil
		cols := []string{"password_hash", "must_change", "password_expires_at", "failed_count", "locked_until"}
		if resetTOTP {
			acc.TOTPSecret, acc.TOTPEnabled, acc.TOTPLastStep = "", false, 0
			cols = append(cols, "totp_secret", "totp_enabled", "totp_last_step")
		}
		return cols, opsAudit(ctx, tx, uuid.Nil, AuditEntry{Actor: by.Name(), Action: "platform.account.reset", Target: acc.LoginID, IP: by.IP,
			Before: before, After: map[string]any{"failed_count": 0, "locked": false, "totp": acc.TOTPEnabled, "must_change": true,
				"expires_at": exp.UTC().Format(time.RFC3339)}})
	})
	if err != nil {
		return nil, "", err
	}
	return acc, initial, nil
}

// SetDisabled disables (someone left) or re-enables a vendor account. A disabled account cannot
// log in; the caller ends its sessions. Its grants stay, so enabling it restores them. It returns
// not_found for an unknown id and forbidden for an actor who is not the vendor (or the system),
// or who targets their own account. Setting the current value changes and logs nothing. Audit:
// "platform.account.disable" / "platform.account.enable".
func (o *OpsAccounts) SetDisabled(ctx context.Context, id uuid.UUID, disabled bool, by Actor) (_ *OpsAccount, err error) {
	defer Wrap(&err, "tenant.OpsAccounts.SetDisabled(%s)", id)
	if err := platformOnly(by); err != nil {
		return nil, err
	}
	if id == by.AccountID {
		return nil, Errorf(Forbidden, "admin.accounts.self")
	}
	return o.update(ctx, id, func(ctx context.Context, tx bun.Tx, acc *OpsAccount) ([]string, error) {
		if acc.Disabled == disabled {
			return nil, nil
		}
		action := "platform.account.enable"
		if disabled {
			action = "platform.account.disable"
		}
		before := map[string]any{"disabled": acc.Disabled}
		acc.Disabled = disabled
		return []string{"disabled"}, opsAudit(ctx, tx, uuid.Nil, AuditEntry{Actor: by.Name(), Action: action, Target: acc.LoginID, IP: by.IP,
			Before: before, After: map[string]any{"disabled": disabled}})
	})
}
