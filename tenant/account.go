package tenant

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"golang.org/x/crypto/argon2"
)

// Role is what a staff account may do.
type Role string

// Roles: 市管理者 (settings and accounts) and 職員 (daily work).
const (
	RoleAdmin Role = "admin"
	RoleStaff Role = "staff"
)

// Account is a city staff member's login.
type Account struct {
	bun.BaseModel `bun:"table:staff_accounts"`

	TenantID          uuid.UUID  `bun:"tenant_id,pk,type:uuid"`
	ID                uuid.UUID  `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	LoginID           string     `bun:"login_id,notnull"`
	DisplayName       string     `bun:"display_name,notnull"`
	Role              Role       `bun:"role,notnull"`
	PasswordHash      string     `bun:"password_hash,notnull"`
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
	CreatedAt         time.Time  `bun:"created_at,notnull,default:current_timestamp"`
	UpdatedAt         time.Time  `bun:"updated_at,notnull,default:current_timestamp"`
}

// Lockout thresholds and password rules for staff: every 10th failure without a success locks
// the account for 15 minutes, the 20th until an admin unlocks it; an issued initial password
// expires after 72 hours; a password has 12 to 128 characters.
const (
	staffSoftLimit   = 10
	staffSoftLock    = 15 * time.Minute
	staffHardLimit   = 20
	staffHardLock    = 24 * time.Hour
	initialPwLife    = 72 * time.Hour
	minPasswordRunes = 12
	maxPasswordRunes = 128
)

// commonPasswords are refused whatever their length (a short list; context words are added per city).
var commonPasswords = []string{"password", "passw0rd", "123456789012", "qwertyuiopas", "administrator", "madoguchi",
	"mynumbercard", "mynumber", "letmein", "welcome", "iloveyou", "changeme"}

// Accounts manages staff accounts and their logins.
type Accounts struct {
	db   *bun.DB
	now  func() time.Time
	slow *slowDown // the login's per-address slow-down
}

// NewAccounts returns the staff account service.
func NewAccounts(db *bun.DB, now func() time.Time) *Accounts {
	if now == nil {
		now = time.Now
	}
	return &Accounts{db: db, now: now, slow: &slowDown{step: slowStep}}
}

// hashPassword returns an argon2id PHC string (m=19 MiB, t=2, p=1: OWASP's baseline).
func hashPassword(pw string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	key := argon2.IDKey([]byte(pw), salt, 2, 19*1024, 1, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=19456,t=2,p=1$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key))
}

// dummyHash is compared against for unknown login ids so both paths cost the same.
var dummyHash = hashPassword("dummy password for unknown accounts")

func checkPassword(hash, pw string) bool {
	var m, t uint32
	var p uint8
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// CheckPasswordPolicy returns an invalid error when pw is too short or long, common, or contains
// the login id or the city's slug.
func CheckPasswordPolicy(pw, loginID string, t *Tenant) error {
	return checkPasswordPolicy(pw, loginID, t.Slug)
}

// checkPasswordPolicy is the one password rule of every account, staff or vendor: 12 to 128
// characters, none of the common passwords and none of the context words (login id, slug) of
// four characters or more.
func checkPasswordPolicy(pw string, context ...string) error {
	n := utf8.RuneCountInString(pw)
	low := strings.ToLower(pw)
	switch {
	case n < minPasswordRunes:
		return &Error{Code: Invalid, Key: "error.invalid", Fields: map[string]string{"new_password": "staff.password.too_short"}}
	case n > maxPasswordRunes:
		return &Error{Code: Invalid, Key: "error.invalid", Fields: map[string]string{"new_password": "staff.password.too_long"}}
	}
	for _, w := range slices.Concat(context, commonPasswords) {
		if len(w) >= 4 && strings.Contains(low, strings.ToLower(w)) {
			return &Error{Code: Invalid, Key: "error.invalid", Fields: map[string]string{"new_password": "staff.password.common"}}
		}
	}
	return nil
}

// lockedAt reports whether an account with failed consecutive failures and lock until may not
// log in at now: 15 minutes after every 10th failure, and from the 20th until it is unlocked.
// Staff and vendor accounts share it.
func lockedAt(failed int, until *time.Time, now time.Time) bool {
	return until != nil && until.After(now)
}

// failureLock is the lock the failed-th consecutive failure earns at now: 15 minutes at the
// 10th, 24 hours at the 20th and every further 10th, none otherwise. No lock lasts longer, so an
// outsider guessing at a login id can keep an account out for a day at a time but never for
// good; an admin's unlock (or a success) clears the count.
func failureLock(failed int, now time.Time) *time.Time {
	if failed%staffSoftLimit != 0 {
		return nil
	}
	t := now.Add(staffSoftLock)
	if failed >= staffHardLimit {
		t = now.Add(staffHardLock)
	}
	return &t
}

// initialExpiredAt reports whether an issued password (mustChange) expired before now.
func initialExpiredAt(mustChange bool, expires *time.Time, now time.Time) bool {
	return mustChange && expires != nil && expires.Before(now)
}

var loginIDRE = regexp.MustCompile(`^[a-z0-9._-]{3,64}$`)

// checkNewLogin returns the field errors of a new account's login id and display name, keyed
// "login_id" and "display_name" (the rules of the staff_accounts and ops_accounts columns).
func checkNewLogin(loginID, name string) map[string]string {
	f := map[string]string{}
	if !loginIDRE.MatchString(loginID) {
		f["login_id"] = "staff.login_id.invalid"
	}
	if n := utf8.RuneCountInString(name); n == 0 || n > 100 {
		f["display_name"] = "admin.accounts.name.invalid"
	}
	return f
}

// RandomPassword returns an initial password to hand to a new user (16 characters, 96 bits).
func RandomPassword() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Create adds an account with an initial password that must be changed at first login and
// expires after 72 hours, audit-logged as actor. It returns invalid for a bad login id or name
// (fields "login_id", "display_name", "role") and conflict when the login id is taken.
func (a *Accounts) Create(ctx context.Context, t *Tenant, loginID, name string, role Role, initial string, actor string) (_ *Account, err error) {
	defer Wrap(&err, "tenant.Accounts.Create(%s)", t.ID)
	var acc *Account
	err = InTx(ctx, a.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		acc, err = insertAccount(ctx, tx, a.now(), t, loginID, name, role, initial, AuditEntry{Actor: actor})
		return err
	})
	if err != nil {
		return nil, err
	}
	return acc, nil
}

// insertAccount validates and inserts a staff account of t with an issued password in tx (which
// is in t's scope) and writes "account.create" with by's actor and address: the one way an
// account is made, by a city's admin or at onboarding. Errors are those of Create.
func insertAccount(ctx context.Context, tx bun.IDB, now time.Time, t *Tenant, loginID, name string, role Role, initial string, by AuditEntry) (*Account, error) {
	exp := now.Add(initialPwLife)
	acc := &Account{TenantID: t.ID, LoginID: strings.ToLower(strings.TrimSpace(loginID)), DisplayName: strings.TrimSpace(name),
		Role: role, PasswordHash: hashPassword(initial), MustChange: true, PasswordExpiresAt: &exp}
	fields := checkNewLogin(acc.LoginID, acc.DisplayName)
	if role != RoleAdmin && role != RoleStaff {
		fields["role"] = "staff.role.invalid"
	}
	if len(fields) > 0 {
		return nil, &Error{Code: Invalid, Key: "error.invalid", Fields: fields}
	}
	if _, err := tx.NewInsert().Model(acc).Returning("*").Exec(ctx); err != nil {
		switch ErrorCode(DBError(err)) {
		case Conflict:
			return nil, &Error{Code: Conflict, Key: "staff.login_id.taken", Fields: map[string]string{"login_id": "staff.login_id.taken"}, Err: err}
		case Invalid:
			return nil, &Error{Code: Invalid, Key: "error.invalid", Fields: map[string]string{"login_id": "staff.login_id.invalid"}, Err: err}
		}
		return nil, err
	}
	by.Action, by.Target, by.After = "account.create", acc.LoginID, map[string]any{"role": role}
	if err := Audit(ctx, tx, t.ID, by); err != nil {
		return nil, err
	}
	return acc, nil
}

// SetPasswordNoChange is for the demo and tests: the account keeps pw without a forced change.
func (a *Accounts) SetPasswordNoChange(ctx context.Context, t *Tenant, loginID, pw string) (err error) {
	defer Wrap(&err, "tenant.Accounts.SetPasswordNoChange(%s)", t.ID)
	return InTx(ctx, a.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewUpdate().Model((*Account)(nil)).Set("password_hash = ?", hashPassword(pw)).
			Set("must_change = false").Set("password_expires_at = NULL").Where("login_id = ?", loginID).Exec(ctx)
		return err
	})
}

// Authenticate checks a login id and password. The address ip is slowed down after repeated
// failures (addressSlowDown; never refused by address: a city's LGWAN egress is one address for
// every clerk), then the check waits for the password gate (throttled "staff.login.busy" when
// too many checks run at once). The argon2id hash runs outside any transaction: the account is
// read in one short transaction and the result written in another, so a flood of logins holds
// no database connection while it hashes. It returns unauthorized "staff.login.failed" — one
// answer, with the same cost, for an unknown login id, a wrong password, a disabled account and
// a locked one (10 failures → 15 minutes, every further 10th → 24 hours, until then or until an
// admin unlocks), so the answer never tells which login ids exist. It records failures and
// successes in the audit log. For an account with TOTPEnabled a correct password is only the
// first step: the caller must then call VerifyLoginCode, and the failure count is not cleared
// until the code is right.
func (a *Accounts) Authenticate(ctx context.Context, t *Tenant, loginID, pw, ip string) (_ *Account, err error) {
	defer Wrap(&err, "tenant.Accounts.Authenticate(%s)", t.ID)
	if err := a.slow.wait(ctx, ip, a.now()); err != nil {
		return nil, err
	}
	release, err := passwordTurn(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	now := a.now()
	loginID = strings.ToLower(strings.TrimSpace(loginID))
	var acc Account
	err = InTx(ctx, a.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&acc).Where("login_id = ?", loginID).Scan(ctx)
	})
	found, ok, hash, err := checkRead(err, acc.PasswordHash, pw)
	if err != nil {
		return nil, err
	}
	var result error
	failed := Errorf(Unauthorized, "staff.login.failed")
	err = InTx(ctx, a.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := relock(ctx, tx, &acc, acc.ID, &found); err != nil {
			return err
		}
		if !found {
			result = failed
			return Audit(ctx, tx, t.ID, AuditEntry{Actor: "anonymous", Action: "login.failed", Target: clip(loginID, 64), IP: ip})
		}
		if acc.PasswordHash != hash {
			ok = false // the password changed while it was being checked
		}
		if lockedAt(acc.FailedCount, acc.LockedUntil, now) {
			result = failed
			return Audit(ctx, tx, t.ID, AuditEntry{Actor: acc.LoginID, Action: "login.failed", After: map[string]any{"locked": true}, IP: ip})
		}
		expired := initialExpiredAt(acc.MustChange, acc.PasswordExpiresAt, now)
		if !ok || acc.Disabled || expired {
			if err := recordFailure(ctx, tx, &acc, now); err != nil {
				return err
			}
			result = failed
			if ok && expired {
				result = Errorf(Unauthorized, "staff.login.expired")
			}
			return Audit(ctx, tx, t.ID, AuditEntry{Actor: acc.LoginID, Action: "login.failed", IP: ip})
		}
		if acc.TOTPEnabled {
			// Half-way: the failure count stays until the code is right (VerifyLoginCode), so
			// re-entering the password never buys more guesses at the code.
			return Audit(ctx, tx, t.ID, AuditEntry{Actor: acc.LoginID, Action: "login.password_ok", IP: ip})
		}
		if _, err := tx.NewUpdate().Model(&acc).Set("failed_count = 0").Set("locked_until = NULL").WherePK().Exec(ctx); err != nil {
			return err
		}
		return Audit(ctx, tx, t.ID, AuditEntry{Actor: acc.LoginID, Action: "login", IP: ip})
	})
	if err != nil {
		return nil, err
	}
	if result != nil {
		if result == failed {
			a.slow.fail(ip, now)
		}
		return nil, result
	}
	return &acc, nil
}

// checkRead is a login's password check, outside any transaction, after the account was read:
// readErr is that read's error and stored the hash it found. The same argon2id work for an
// unknown, a locked and a known account (an unknown one is checked against dummyHash). It
// returns whether the account was found, whether pw matched it, and the hash checked (so the
// caller notices a password changed meanwhile), or the read's error when it was not "not found".
func checkRead(readErr error, stored, pw string) (found, ok bool, hash string, err error) {
	found = readErr == nil
	if readErr != nil && ErrorCode(DBError(readErr)) != NotFound {
		return false, false, "", DBError(readErr)
	}
	hash = dummyHash
	if found {
		hash = stored
	}
	return found, checkPassword(hash, pw) && found, hash, nil
}

// relock re-reads a found account (model, by id) in tx under a row lock, so that a login's count
// and lock are decided on the current row; it clears *found when the row is gone meanwhile.
func relock(ctx context.Context, tx bun.Tx, model any, id uuid.UUID, found *bool) error {
	if !*found {
		return nil
	}
	err := tx.NewSelect().Model(model).Where("id = ?", id).For("UPDATE").Scan(ctx)
	if ErrorCode(DBError(err)) == NotFound {
		*found = false
		return nil
	}
	return err
}

// recordFailure counts one failed password or code: every 10th locks the account for 15
// minutes, the 20th until an admin unlocks it (Locked). A lock is also counted for the vendor's
// fleet overview (event_counts), in the same transaction: one more statement, only on the attempt
// that locks.
func recordFailure(ctx context.Context, tx bun.Tx, acc *Account, now time.Time) error {
	if err := countFailure(ctx, tx, acc, &acc.FailedCount, now); err != nil {
		return err
	}
	if failureLock(acc.FailedCount, now) == nil {
		return nil
	}
	level := "staff_soft"
	if acc.FailedCount >= staffHardLimit {
		level = "staff_hard"
	}
	return CountEvent(ctx, tx, acc.TenantID, EventLoginLock, level, now)
}

// countFailure adds one to *failed, the failure count of model (a staff or vendor account
// loaded in tx), and writes it with the lock it earns (failureLock).
func countFailure(ctx context.Context, tx bun.IDB, model any, failed *int, now time.Time) error {
	*failed++
	q := tx.NewUpdate().Model(model).Set("failed_count = ?", *failed).WherePK()
	if until := failureLock(*failed, now); until != nil {
		q = q.Set("locked_until = ?", *until)
	}
	_, err := q.Exec(ctx)
	return err
}

// ChangePassword replaces the password after checking the current one and the policy. It
// returns invalid (field "current_password": "staff.password.current_wrong", a check counted
// toward the account's limit; "new_password": the policy's keys or "staff.password.same") and
// throttled ("staff.password.recheck_limited") while the limit holds (recheck.go). Audit:
// "password.change", "password.recheck_failed".
func (a *Accounts) ChangePassword(ctx context.Context, t *Tenant, id uuid.UUID, current, next string) (err error) {
	defer Wrap(&err, "tenant.Accounts.ChangePassword(%s, %s)", t.ID, id)
	release, err := passwordTurn(ctx)
	if err != nil {
		return err
	}
	defer release()
	now := a.now()
	var refused error
	_, err = a.update(ctx, t, id, func(ctx context.Context, tx bun.Tx, acc *Account) ([]string, error) {
		if err := recheckRefused(acc.RecheckFailures, acc.RecheckSince, now); err != nil {
			return nil, err
		}
		if !checkPassword(acc.PasswordHash, current) {
			refused = &Error{Code: Invalid, Key: "error.invalid", Fields: map[string]string{"current_password": "staff.password.current_wrong"}}
			return recheckFailed(ctx, tx, acc, "", now)
		}
		if err := CheckPasswordPolicy(next, acc.LoginID, t); err != nil {
			return nil, err
		}
		if current == next {
			return nil, &Error{Code: Invalid, Key: "error.invalid", Fields: map[string]string{"new_password": "staff.password.same"}}
		}
		acc.PasswordHash, acc.MustChange, acc.PasswordExpiresAt = hashPassword(next), false, nil
		recheckClear(&acc.RecheckFailures, &acc.RecheckSince)
		return append([]string{"password_hash", "must_change", "password_expires_at"}, recheckCols...),
			Audit(ctx, tx, t.ID, AuditEntry{Actor: acc.LoginID, Action: "password.change"})
	})
	if err != nil {
		return err
	}
	return refused
}

// recheckFailed counts a failed current-password check of acc at now (recheck.go) and writes
// "password.recheck_failed" to the city's audit log; it returns the columns to save.
func recheckFailed(ctx context.Context, tx bun.Tx, acc *Account, ip string, now time.Time) ([]string, error) {
	recheckFail(RecheckStaff, &acc.RecheckFailures, &acc.RecheckSince, now)
	return recheckCols, Audit(ctx, tx, acc.TenantID, AuditEntry{Actor: acc.LoginID, Action: "password.recheck_failed", IP: ip,
		After: map[string]any{"failures": acc.RecheckFailures}})
}

// ByID returns an account of the tenant, or not_found.
func (a *Accounts) ByID(ctx context.Context, t *Tenant, id uuid.UUID) (_ *Account, err error) {
	defer Wrap(&err, "tenant.Accounts.ByID(%s, %s)", t.ID, id)
	var acc Account
	err = InTx(ctx, a.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return DBError(tx.NewSelect().Model(&acc).Where("id = ?", id).Scan(ctx))
	})
	if err != nil {
		return nil, err
	}
	return &acc, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
