package booking

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking/guard"
	"github.com/madoguchi/madoguchi/tenant"
)

// CardStatus is a card's place in the 交付進捗 lifecycle: imported → notice_sent → reserved →
// visited → issued, with the side exits returned, on_hold and void.
type CardStatus string

// Card statuses.
const (
	CardImported   CardStatus = "imported"
	CardNoticeSent CardStatus = "notice_sent"
	CardReserved   CardStatus = "reserved"
	CardVisited    CardStatus = "visited"
	CardIssued     CardStatus = "issued"
	CardReturned   CardStatus = "returned"
	CardOnHold     CardStatus = "on_hold"
	CardVoid       CardStatus = "void"
)

// Card is one My Number Card waiting to be handed out. The birth date is never stored: only
// BirthHMAC of the MMDD, keyed with the server's secret (hashing 366 values would protect nothing).
type Card struct {
	bun.BaseModel `bun:"table:cards"`

	TenantID        uuid.UUID  `bun:"tenant_id,pk,type:uuid"`
	ID              uuid.UUID  `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	CardNo          string     `bun:"card_no,notnull"`
	BirthHMAC       []byte     `bun:"birth_hmac,notnull"`
	Name            *string    `bun:"name"`
	NameKana        *string    `bun:"name_kana"`
	StoragePos      string     `bun:"storage_pos,notnull"`
	Status          CardStatus `bun:"status,notnull"`
	StatusChangedAt time.Time  `bun:"status_changed_at,notnull,default:current_timestamp"`
	CreatedAt       time.Time  `bun:"created_at,notnull,default:current_timestamp"`
	UpdatedAt       time.Time  `bun:"updated_at,notnull,default:current_timestamp"`
}

// MaskedNo shows a card number with all but the last three characters hidden, for pages that a
// citizen's family might see.
func (c *Card) MaskedNo() string {
	if len(c.CardNo) <= 3 {
		return c.CardNo
	}
	return strings.Repeat("•", len(c.CardNo)-3) + c.CardNo[len(c.CardNo)-3:]
}

const defaultCardPattern = `^[0-9]{9}$`

// NormalizeCardNo maps full-width characters to half-width and removes spaces and hyphens, so a
// number copied from anywhere matches.
func NormalizeCardNo(s string) string { return guard.NormalizeCardNo(s) }

// ValidateCardNo normalises s and checks it against the tenant's pattern (default: 9 digits).
// A 12-digit number is refused with its own message: it is a 個人番号, which we never accept.
func ValidateCardNo(t *tenant.Tenant, s string) (string, error) {
	no := NormalizeCardNo(s)
	pat := defaultCardPattern
	if t != nil && t.Settings.CardNumberPattern != "" {
		pat = t.Settings.CardNumberPattern
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		re = regexp.MustCompile(defaultCardPattern)
	}
	switch {
	case no == "":
		return "", fieldError("card_no", "login.card_no.required")
	case len(no) == 12 && isDigits(no):
		return "", fieldError("card_no", "login.card_no.my_number")
	case len(no) > 32 || !re.MatchString(no):
		return "", fieldError("card_no", "login.card_no.invalid")
	}
	return no, nil
}

// ParseMMDD reads a birthday as month and day: "0312", "312", full-width "０３１２", "3/12" and
// "03-12" all mean March 12. February 29 is accepted.
func ParseMMDD(s string) (string, error) {
	s = NormalizeCardNo(strings.NewReplacer("/", "", "／", "", ".", "", "月", "", "日", "").Replace(s))
	if !isDigits(s) || len(s) < 3 || len(s) > 4 {
		return "", fieldError("birth", "login.birth.invalid")
	}
	if len(s) == 3 {
		s = "0" + s
	}
	m, d := int(s[0]-'0')*10+int(s[1]-'0'), int(s[2]-'0')*10+int(s[3]-'0')
	if m < 1 || m > 12 || d < 1 || d > time.Date(2024, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return "", fieldError("birth", "login.birth.invalid")
	}
	return s, nil
}

// MMDDFromBirthDate returns MMDD from a full birth date (YYYY-MM-DD or YYYYMMDD); the year is
// dropped at once.
func MMDDFromBirthDate(s string) (string, error) {
	s = strings.ReplaceAll(strings.ReplaceAll(NormalizeCardNo(s), "/", "-"), ".", "-")
	for _, layout := range []string{"2006-01-02", "20060102", "2006-1-2"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("0102"), nil
		}
	}
	return "", errors.New("birth date must be YYYY-MM-DD or YYYYMMDD")
}

// BirthHMAC returns HMAC-SHA256(key, tenant ‖ card number ‖ MMDD).
func BirthHMAC(key []byte, tenantID uuid.UUID, cardNo, mmdd string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(tenantID[:])
	m.Write([]byte{0})
	m.Write([]byte(cardNo))
	m.Write([]byte{0})
	m.Write([]byte(mmdd))
	return m.Sum(nil)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func fieldError(field, key string) *tenant.Error {
	return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{field: key}}
}

// LoginInput is what a citizen (or an operator on their behalf) types.
type LoginInput struct {
	CardNo string
	Birth  string // MMDD in any accepted form
	IP     string // client IP; "" for the call center
	// Operator is the call-center operator checking a caller's card (uuid.Nil otherwise): the
	// check counts toward the card's lockout and the operator's own limit, not toward the IP
	// layers (every operator shares the call center's address), so IP is ignored; an
	// authenticated operator never needs the proof of work.
	Operator uuid.UUID
	// PowToken and PowNonce are the proof of work the login form carries (LoginChallenge):
	// checked only when the guard requires the step-up. PowNonce is empty without JavaScript.
	PowToken, PowNonce string
	// Session, when set, queues in pipe the writes of the session a right login opens (the web
	// and API logins): they reach Redis in the same round trip as the login guard's give-back of
	// the right guess, so a right login costs two Redis round trips (the guard's attempt, then
	// both). It is called only for a right guess, with the card; its error, or a failure of that
	// round trip, makes the login unavailable (and the session unusable: its id is never sent).
	Session func(pipe redis.Pipeliner, card *Card) error
}

// LoginChallenge returns a new proof-of-work challenge for a login form shown to ip in t (the
// form carries it; the login checks it only when the step-up is required), and the work it
// asks (leading zero bits).
func (s *Service) LoginChallenge(t *tenant.Tenant, ip string) (token string, bits int) {
	return s.cfg.Guard.Challenge(t.ID.String(), ip, s.now()), s.cfg.Guard.PowBits()
}

// LoginStepUp reports whether a login from ip in t needs the proof of work now, so that the
// form's script solves its challenge only then (without it, or if the step-up starts after the
// form was shown, the challenge alone passes after the wait). With Redis down it reports false:
// the login itself then fails closed.
func (s *Service) LoginStepUp(ctx context.Context, t *tenant.Tenant, ip string) bool {
	need, err := s.cfg.Guard.StepUpRequired(ctx, t.ID.String(), ip)
	return err == nil && need
}

// Login checks a card number and birth MMDD. Every login path (web, API, add-family-member, call
// center) calls it, so all share the lockout counters. The guess is counted before it is
// judged (guard.Attempt), so guesses sent in parallel never get past the limit. It returns:
//   - invalid with field keys for a malformed number or MMDD (nothing counted);
//   - throttled while the card or the IP is locked, even for the right MMDD (Args: "until" as a
//     time, or "call" true for a hard lock), and, key login.step_up, when a proof of work is
//     required and none valid was given (Args: "pow" a new challenge, "pow_bits" its work);
//   - unauthorized for an unknown card or a wrong MMDD, identically;
//   - unavailable when Redis (the counters) or PostgreSQL is down — never success.
func (s *Service) Login(ctx context.Context, t *tenant.Tenant, in LoginInput) (_ *Card, err error) {
	defer tenant.Wrap(&err, "booking.Login(%s)", t.ID)
	no, errNo := ValidateCardNo(t, in.CardNo)
	mmdd, errBirth := ParseMMDD(in.Birth)
	if errNo != nil || errBirth != nil {
		return nil, mergeFieldErrors(errNo, errBirth)
	}
	g := s.cfg.Guard
	operator := in.Operator != uuid.Nil
	if operator {
		in.IP = ""
		d, err := g.OperatorAttempt(ctx, in.Operator.String())
		if err != nil {
			return nil, tenant.Errorf(tenant.Unavailable, "login.unavailable").Wrap(err)
		}
		if !d.Allowed {
			return nil, s.lockedError(t, in.IP, d)
		}
	}
	d, err := g.Attempt(ctx, t.ID.String(), no, in.IP, operator)
	if err == nil && !d.Allowed && d.Reason == guard.ReasonStepUp && in.PowToken != "" {
		var ok bool
		if ok, err = g.VerifyProof(ctx, t.ID.String(), in.IP, in.PowToken, in.PowNonce, s.now()); ok {
			d, err = g.Attempt(ctx, t.ID.String(), no, in.IP, true)
		}
	}
	if err != nil || !d.Allowed {
		if operator {
			// The operator's check was not judged: give it back.
			if err := g.OperatorSucceeded(ctx, in.Operator.String()); err != nil {
				return nil, tenant.Errorf(tenant.Unavailable, "login.unavailable").Wrap(err)
			}
		}
		if err != nil {
			return nil, tenant.Errorf(tenant.Unavailable, "login.unavailable").Wrap(err)
		}
		return nil, s.lockedError(t, in.IP, d)
	}
	card, err := s.loginCard(ctx, t.ID, no)
	found := err == nil
	if err != nil && tenant.ErrorCode(err) != tenant.NotFound {
		// Not judged (the database did not answer): the attempt is given back, so a failover
		// locks no citizen out and puts no city under attack.
		if rerr := g.Release(ctx, d); rerr != nil {
			err = errors.Join(err, rerr)
		}
		if operator {
			if rerr := g.OperatorSucceeded(ctx, in.Operator.String()); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		return nil, err
	}
	stored := card.BirthHMAC
	if !found {
		stored = make([]byte, sha256.Size) // same work and timing as a real card
	}
	ok := hmac.Equal(BirthHMAC(s.cfg.SecretKey, t.ID, no, mmdd), stored) && found
	if !ok {
		// The city's and the platform's spikes count judged failures only. When Redis fails
		// here the answer stays "wrong": only this failure is missing from the spike windows.
		spikes, _ := g.Failed(ctx, d)
		if len(spikes) > 0 {
			d.Imposed = append(d.Imposed, spikes...)
			if err := tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error { return s.raiseAttack(ctx, tx, t, d) }); err != nil {
				return nil, err
			}
		}
		for _, level := range d.Imposed {
			if level != guard.LockAttack && level != guard.LockPlatform {
				s.cfg.Events.Add(t.ID, tenant.EventLoginLock, "citizen_"+level, s.now())
			}
		}
		if !d.Then.Allowed {
			return nil, s.lockedError(t, in.IP, *d.Then)
		}
		return nil, tenant.Errorf(tenant.Unauthorized, "login.failed")
	}
	var also func(redis.Pipeliner) error
	if in.Session != nil {
		also = func(pipe redis.Pipeliner) error { return in.Session(pipe, &card) }
	}
	if err := g.SucceedWith(ctx, d, also); err != nil {
		return nil, tenant.Errorf(tenant.Unavailable, "login.unavailable").Wrap(err)
	}
	if operator {
		if err := g.OperatorSucceeded(ctx, in.Operator.String()); err != nil {
			return nil, tenant.Errorf(tenant.Unavailable, "login.unavailable").Wrap(err)
		}
	}
	return &card, nil
}

// loginCardSQL reads the card a citizen logs in with: every column of Card, by the number (the
// tenant comes from the row-level security policy, as for every read).
const loginCardSQL = `SELECT tenant_id, id, card_no, birth_hmac, name, name_kana, storage_pos, status,
	status_changed_at, created_at, updated_at FROM cards WHERE card_no = $1`

// loginCard reads the card numbered no in tenantID's scope for a login, in one round trip
// (tenant.QueryRow: the scope and the read pipelined, one implicit transaction): not_found when
// the city has no such card.
func (s *Service) loginCard(ctx context.Context, tenantID uuid.UUID, no string) (Card, error) {
	var c Card
	err := tenant.QueryRow(ctx, s.db, tenantID, func(r pgx.Row) error {
		return r.Scan(&c.TenantID, &c.ID, &c.CardNo, &c.BirthHMAC, &c.Name, &c.NameKana, &c.StoragePos, &c.Status,
			&c.StatusChangedAt, &c.CreatedAt, &c.UpdatedAt)
	}, loginCardSQL, no)
	return c, err
}

// raiseAttack records the failure spikes attempt d raised (the guard has put the city, or with
// LockPlatform every city, under attack: a proof of work on every login for the next hour) as
// security events: the fleet's event count, and an audit log entry in tx for the city whose
// failure tipped it, with the threshold in force (the metric and the alert come from the
// guard's madoguchi_login_locks_total{level="attack"|"platform_attack"}).
func (s *Service) raiseAttack(ctx context.Context, tx bun.Tx, t *tenant.Tenant, d guard.Decision) error {
	now := s.now()
	cfg := s.cfg.Guard.Config()
	for _, e := range []struct {
		level, action string
		limit         int
		attack        time.Duration
	}{
		{guard.LockAttack, "login.attack_mode", d.CityLimit, cfg.TenantAttack},
		{guard.LockPlatform, "login.platform_attack_mode", d.PlatformLimit, cfg.PlatformAttack},
	} {
		if !slices.Contains(d.Imposed, e.level) {
			continue
		}
		s.cfg.Events.Add(t.ID, tenant.EventLoginLock, "citizen_"+e.level, now)
		err := tenant.Audit(ctx, tx, t.ID, tenant.AuditEntry{Actor: "system", Action: e.action,
			After: map[string]any{"failures": e.limit, "window_minutes": int(cfg.TenantWindow.Minutes()),
				"step_up_minutes": int(e.attack.Minutes()), "at": now.UTC().Format(time.RFC3339)}})
		if err != nil {
			return fmt.Errorf("audit %s: %w", e.action, err)
		}
	}
	return nil
}

func (s *Service) lockedError(t *tenant.Tenant, ip string, d guard.Decision) error {
	switch d.Reason {
	case guard.ReasonCardHardLocked:
		return tenant.Errorf(tenant.Throttled, "login.hard_locked")
	case guard.ReasonStepUp:
		token, bits := s.LoginChallenge(t, ip)
		return tenant.Errorf(tenant.Throttled, "login.step_up").WithArgs(map[string]any{"pow": token, "pow_bits": bits})
	}
	key := "login.locked"
	if d.Reason == guard.ReasonOperatorLimit {
		key = "callcenter.verify.limit"
	}
	until := s.now().Add(d.RetryAfter).In(JST)
	return tenant.Errorf(tenant.Throttled, key).WithArgs(map[string]any{
		"until":   until.Add(time.Minute - 1).Truncate(time.Minute).Format("15:04"),
		"minutes": int(d.RetryAfter.Minutes()) + 1,
	})
}

func mergeFieldErrors(errs ...error) error {
	out := &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{}}
	for _, err := range errs {
		if e := tenant.AsError(err); e != nil {
			for k, v := range e.Fields {
				out.Fields[k] = v
			}
		}
	}
	return out
}

// CardByID returns a card of the tenant, or not_found.
func (s *Service) CardByID(ctx context.Context, tenantID, id uuid.UUID) (_ *Card, err error) {
	defer tenant.Wrap(&err, "booking.CardByID(%s, %s)", tenantID, id)
	var c Card
	err = tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&c).Where("id = ?", id).Scan(ctx)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// CardsByID returns the cards ids, in that order, in one query: not_found when one of them is
// not the tenant's (a session's party: the card that logged in and its family members).
func (s *Service) CardsByID(ctx context.Context, tenantID uuid.UUID, ids []uuid.UUID) (_ []*Card, err error) {
	defer tenant.Wrap(&err, "booking.CardsByID(%s, %d cards)", tenantID, len(ids))
	if len(ids) == 0 {
		return nil, nil
	}
	var found []*Card
	err = tenant.InTx(ctx, s.db, tenantID, func(ctx context.Context, tx bun.Tx) error {
		found = nil
		return tx.NewSelect().Model(&found).Where("id IN (?)", bun.List(ids)).Scan(ctx)
	})
	if err != nil {
		return nil, err
	}
	byID := make(map[uuid.UUID]*Card, len(found))
	for _, c := range found {
		byID[c.ID] = c
	}
	out := make([]*Card, len(ids))
	for i, id := range ids {
		if out[i] = byID[id]; out[i] == nil {
			return nil, tenant.Errorf(tenant.NotFound, "error.not_found")
		}
	}
	return out, nil
}

// unlockCard lifts the login locks of a card after staff or the call center checked the caller.
func (s *Service) unlockCard(ctx context.Context, t *tenant.Tenant, cardNo string) error {
	no := NormalizeCardNo(cardNo)
	if err := s.cfg.Guard.Unlock(ctx, t.ID.String(), no); err != nil {
		return tenant.Errorf(tenant.Unavailable, "error.unavailable").Wrap(err)
	}
	return nil
}

// recordStatus changes a card's status and writes its history row.
func recordStatus(ctx context.Context, tx bun.IDB, tenantID, cardID uuid.UUID, from, to CardStatus, a tenant.Actor, now time.Time) error {
	if from == to {
		return nil
	}
	if _, err := tx.NewUpdate().Model((*Card)(nil)).
		Set("status = ?", to).Set("status_changed_at = ?", now).Set("updated_at = ?", now).
		Where("id = ?", cardID).Exec(ctx); err != nil {
		return fmt.Errorf("update card status: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO card_status_history
		(tenant_id, card_id, from_status, to_status, channel, actor, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		tenantID, cardID, from, to, a.Channel, a.Login, now); err != nil {
		return fmt.Errorf("insert card status history: %w", err)
	}
	return nil
}

// CardInput is one card to register (from an import or a test fixture).
type CardInput struct {
	CardNo     string
	Birth      string // MMDD or a full birth date; only the MMDD's HMAC is kept
	Name       string
	NameKana   string
	StoragePos string
}

// AddCard registers one card with status imported. It returns invalid for a bad number or date
// and conflict when the tenant already has the number.
func (s *Service) AddCard(ctx context.Context, t *tenant.Tenant, in CardInput) (_ *Card, err error) {
	defer tenant.Wrap(&err, "booking.AddCard(%s)", t.ID)
	no, err := ValidateCardNo(t, in.CardNo)
	if err != nil {
		return nil, err
	}
	mmdd, err := MMDDFromBirthDate(in.Birth)
	if err != nil {
		if mmdd, err = ParseMMDD(in.Birth); err != nil {
			return nil, err
		}
	}
	c := &Card{TenantID: t.ID, CardNo: no, BirthHMAC: BirthHMAC(s.cfg.SecretKey, t.ID, no, mmdd),
		StoragePos: in.StoragePos, Status: CardImported}
	if in.Name != "" {
		c.Name = &in.Name
	}
	if in.NameKana != "" {
		c.NameKana = &in.NameKana
	}
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(c).Returning("*").Exec(ctx); err != nil {
			return err
		}
		return recordStatus(ctx, tx, t.ID, c.ID, "", CardImported, tenant.Actor{Channel: tenant.ChannelImport}, s.now())
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// MMDDFromParts joins a month and a day typed in two boxes ("3", "０５") into "0305" for
// ParseMMDD; malformed parts are passed through so ParseMMDD reports them.
func MMDDFromParts(month, day string) string {
	pad := func(s string) string {
		s = NormalizeCardNo(s)
		if len(s) == 1 {
			return "0" + s
		}
		return s
	}
	return pad(month) + pad(day)
}
