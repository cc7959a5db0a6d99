// Package paging is the escalation chain: alerts from Alertmanager's webhook open pages; the
// engine notifies the contacts of the page's policy by mail and phone, step after step and
// round after round, looping without a cap until someone acknowledges (a POST from the signed
// mail link, the ops console, or the key 1 on a call, confirmed by the provider's signed
// callback) or the alerts resolve, when everyone notified gets the all-clear.
//
// The state lives in PostgreSQL (migrations/0013_paging.tx.up.sql) and the engine's timer is a
// poll of pages.next_action_at, so paging does not depend on Redis. Notifications are written as
// rows (notification_attempts, unique per page, loop, step, round, contact and channel) in the
// transaction that decides them and sent after commit, so a crash re-sends at most one round and
// never skips one, and a duplicate delivery from Alertmanager changes nothing. Every state change
// bumps the page's generation; a notification or callback of an older generation is ignored.
//
// While PostgreSQL is down the process pages from memory (degraded.go): contacts from
// configuration, in-memory timers, ack tokens verified by their signature alone, written back to
// the tables when PostgreSQL answers again.
//
// The system watches the pipeline itself: when Alertmanager's always-firing Watchdog alert stops
// arriving for longer than Config.WatchdogWindow, a page opens. An acknowledgement may time out
// (Config.AckTimeout): the page is triggered again from its first step.
package paging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// Channels a step notifies on.
const (
	ChannelMail  = "mail"
	ChannelPhone = "phone"
)

// Page states.
const (
	Triggered    = "triggered"
	Acknowledged = "acknowledged"
	Resolved     = "resolved"
)

// Contact is a person the chain pages.
type Contact struct {
	bun.BaseModel `bun:"table:ops_contacts,alias:oc"`

	ID        uuid.UUID `bun:"id,pk,type:uuid,default:gen_random_uuid()" json:"id"`
	Name      string    `bun:"name,notnull" json:"name"`
	Email     string    `bun:"email,notnull" json:"email"`
	Phone     string    `bun:"phone,notnull" json:"phone"`
	Locale    string    `bun:"locale,notnull" json:"locale"`
	Active    bool      `bun:"active,notnull" json:"active"`
	CreatedAt time.Time `bun:"created_at,notnull" json:"-"`
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Validate checks a contact; it returns an invalid error naming the field.
func (c *Contact) Validate() error {
	switch {
	case c.Name == "" || len([]rune(c.Name)) > 100:
		return invalid("name", "paging.contact.name")
	case c.Email == "" && c.Phone == "":
		return invalid("email", "paging.contact.no_channel")
	case c.Phone != "" && !e164.MatchString(c.Phone):
		return invalid("phone", "paging.contact.phone")
	case c.Locale != "ja" && c.Locale != "en":
		return invalid("locale", "paging.contact.locale")
	}
	if c.Email != "" {
		if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email {
			return invalid("email", "paging.contact.email")
		}
	}
	return nil
}

// Step is one step of a policy: notify its contacts on its channels every NotifyEvery, and go
// to the next step after EscalateAfter (after the last step, back to the first: a new loop).
type Step struct {
	ContactIDs    []uuid.UUID `json:"contact_ids"`
	Channels      []string    `json:"channels"`
	NotifyEvery   Duration    `json:"notify_every_s"`
	EscalateAfter Duration    `json:"escalate_after_s"`
}

// Duration is a time.Duration stored as whole seconds.
type Duration time.Duration

// MarshalJSON writes whole seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(int64(time.Duration(d) / time.Second))
}

// UnmarshalJSON reads whole seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s int64
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*d = Duration(time.Duration(s) * time.Second)
	return nil
}

// Policy is one version of an escalation policy.
type Policy struct {
	bun.BaseModel `bun:"table:escalation_policies,alias:ep"`

	ID        uuid.UUID `bun:"id,pk,type:uuid,default:gen_random_uuid()" json:"id"`
	Name      string    `bun:"name,notnull" json:"name"`
	Version   int       `bun:"version,notnull" json:"version"`
	Steps     []Step    `bun:"steps,type:jsonb,notnull" json:"steps"`
	CreatedBy string    `bun:"created_by,notnull" json:"-"`
	CreatedAt time.Time `bun:"created_at,notnull" json:"-"`
}

var policyName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// MinNotifyEvery is the shortest repeat a step may have.
const MinNotifyEvery = time.Minute

// Validate checks a policy's name and steps; it returns an invalid error.
func (p *Policy) Validate() error {
	if !policyName.MatchString(p.Name) {
		return invalid("name", "paging.policy.name")
	}
	if len(p.Steps) == 0 || len(p.Steps) > 20 {
		return invalid("steps", "paging.policy.steps")
	}
	for _, s := range p.Steps {
		if len(s.ContactIDs) == 0 || len(s.Channels) == 0 {
			return invalid("steps", "paging.policy.steps")
		}
		for _, ch := range s.Channels {
			if ch != ChannelMail && ch != ChannelPhone {
				return invalid("steps", "paging.policy.channel")
			}
		}
		if time.Duration(s.NotifyEvery) < MinNotifyEvery || s.EscalateAfter < s.NotifyEvery {
			return invalid("steps", "paging.policy.timing")
		}
	}
	return nil
}

// Snapshot is what a page keeps of its policy: the steps and the contacts as they were.
type Snapshot struct {
	PolicyID uuid.UUID             `json:"policy_id"`
	Name     string                `json:"name"`
	Version  int                   `json:"version"`
	Steps    []Step                `json:"steps"`
	Contacts map[uuid.UUID]Contact `json:"contacts"`
}

// Page is one escalation.
type Page struct {
	bun.BaseModel `bun:"table:pages,alias:pg"`

	ID            uuid.UUID  `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	DedupKey      string     `bun:"dedup_key,notnull"`
	Title         string     `bun:"title,notnull"`
	Source        string     `bun:"source,notnull"`
	PolicyID      *uuid.UUID `bun:"policy_id,type:uuid"`
	Snapshot      Snapshot   `bun:"policy_snapshot,type:jsonb,notnull"`
	State         string     `bun:"state,notnull"`
	Step          int        `bun:"step,notnull"`
	Loop          int        `bun:"loop,notnull"`
	Round         int        `bun:"round,notnull"`
	StepStartedAt time.Time  `bun:"step_started_at,notnull"`
	NextActionAt  *time.Time `bun:"next_action_at"`
	Generation    int        `bun:"generation,notnull"`
	AckedBy       string     `bun:"acked_by,notnull"`
	AckedVia      string     `bun:"acked_via,notnull"`
	AckedAt       *time.Time `bun:"acked_at"`
	ResolvedBy    string     `bun:"resolved_by,notnull"`
	ResolvedAt    *time.Time `bun:"resolved_at"`
	CreatedAt     time.Time  `bun:"created_at,notnull"`
}

// Event is one line of a page's timeline.
type Event struct {
	bun.BaseModel `bun:"table:page_events,alias:pe"`

	ID     uuid.UUID      `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	PageID uuid.UUID      `bun:"page_id,type:uuid,notnull"`
	At     time.Time      `bun:"at,notnull"`
	Seq    int            `bun:"seq,notnull"`
	Kind   string         `bun:"kind,notnull"`
	Actor  string         `bun:"actor,notnull"`
	Detail map[string]any `bun:"detail,type:jsonb,notnull"`
}

// Attempt is one notification of one contact on one channel.
type Attempt struct {
	bun.BaseModel `bun:"table:notification_attempts,alias:na"`

	ID          uuid.UUID  `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	PageID      uuid.UUID  `bun:"page_id,type:uuid,notnull"`
	Kind        string     `bun:"kind,notnull"` // notify or all_clear
	Generation  int        `bun:"generation,notnull"`
	Loop        int        `bun:"loop,notnull"`
	Step        int        `bun:"step,notnull"`
	Round       int        `bun:"round,notnull"`
	ContactID   uuid.UUID  `bun:"contact_id,type:uuid,notnull"`
	Channel     string     `bun:"channel,notnull"`
	Status      string     `bun:"status,notnull"`
	ProviderRef string     `bun:"provider_ref,notnull"`
	Error       string     `bun:"error,notnull"`
	CreatedAt   time.Time  `bun:"created_at,notnull"`
	ClaimedAt   *time.Time `bun:"claimed_at"`
	DoneAt      *time.Time `bun:"done_at"`
}

// Service is the escalation chain's store and engine.
type Service struct {
	db       *bun.DB
	now      func() time.Time
	cfg      Config
	log      *slog.Logger
	metric   *metrics
	deg      degraded
	instance string // this process, in Redis's round claims
}

// Config tunes the engine and names its outside parts.
type Config struct {
	Now func() time.Time // the clock (tests: a fake one)
	Log *slog.Logger
	// Mail and Phone send notifications (nil: that channel is recorded as failed).
	Mail  MailSender
	Phone Caller
	// MailFrom is the sender of paging mail.
	MailFrom string
	// AckKey signs acknowledgement tokens (32 bytes).
	AckKey []byte
	// PublicURL is the base of the links in mail and of the phone callbacks
	// (https://ops.example.lg.jp); the deployment routes /ack/ and /api/paging/ to the listener
	// that serves Handler.
	PublicURL string
	// AckTTL is how long a mail link or call stays good (default 24h).
	AckTTL time.Duration
	// ContactMinInterval is the shortest time between two notifications of one contact on one
	// channel (default 1 minute): steps that share a person never make a call storm.
	ContactMinInterval time.Duration
	// Policy is the policy name a page uses when its alert has no "policy" label (default
	// "default").
	Policy string
	// AckTimeout, when set, re-triggers an acknowledged page that is still open after it: the
	// escalation starts again from the first step (0: an acknowledgement holds until the page
	// resolves).
	AckTimeout time.Duration
	// WatchdogWindow, when set, opens a page when Alertmanager's always-firing Watchdog alert
	// has not arrived for longer than it (Prometheus or Alertmanager is down, or the way from
	// them is broken); the page resolves when the heartbeat is back. Nothing is paged before
	// the first heartbeat ever arrives. 0: not watched.
	WatchdogWindow time.Duration
	// Fallback are the contacts from configuration the degraded path notifies, by mail and
	// phone, while PostgreSQL is down (the same people as the first steps of the policies).
	Fallback []Contact
	// DegradedAfter is how long PostgreSQL (or Redis) must fail before it is paged (default 30s).
	DegradedAfter time.Duration
	// FallbackEvery is how often the degraded path notifies the fallback contacts until one
	// acknowledges (default 5 minutes).
	FallbackEvery time.Duration
	// Redis, when set, is watched (a page when it fails) and shares the degraded path's
	// acknowledgements and round claims between processes.
	Redis redis.UniversalClient
}

// New returns the service.
func New(db *bun.DB, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.AckTTL == 0 {
		cfg.AckTTL = 24 * time.Hour
	}
	if cfg.ContactMinInterval == 0 {
		cfg.ContactMinInterval = time.Minute
	}
	if cfg.Policy == "" {
		cfg.Policy = "default"
	}
	if cfg.DegradedAfter == 0 {
		cfg.DegradedAfter = 30 * time.Second
	}
	if cfg.FallbackEvery == 0 {
		cfg.FallbackEvery = 5 * time.Minute
	}
	return &Service{db: db, now: cfg.Now, cfg: cfg, log: cfg.Log, metric: newMetrics(), instance: uuid.NewString()}
}

// AddContact stores a new contact. It returns invalid for a bad field.
func (s *Service) AddContact(ctx context.Context, c Contact) (_ *Contact, err error) {
	defer tenant.Wrap(&err, "paging.AddContact")
	if c.Locale == "" {
		c.Locale = "ja"
	}
	c.Active, c.CreatedAt = true, s.now()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if _, err := s.db.NewInsert().Model(&c).Returning("id").Exec(ctx); err != nil {
		return nil, tenant.DBError(err)
	}
	return &c, nil
}

// SavePolicy stores the next version of the policy p.Name (version 1 when new). Running pages
// keep the version they snapshotted. It returns invalid for bad steps or an unknown or inactive
// contact.
func (s *Service) SavePolicy(ctx context.Context, p Policy, by string) (_ *Policy, err error) {
	defer tenant.Wrap(&err, "paging.SavePolicy(%s)", p.Name)
	if err := p.Validate(); err != nil {
		return nil, err
	}
	err = tenant.RunTx(ctx, s.db, nil, func(ctx context.Context, tx bun.Tx) error {
		var ids []uuid.UUID
		for _, st := range p.Steps {
			ids = append(ids, st.ContactIDs...)
		}
		n, err := tx.NewSelect().Model((*Contact)(nil)).Where("id IN (?) AND active", bun.List(ids)).Count(ctx)
		if err != nil {
			return err
		}
		if int(n) != len(uniq(ids)) {
			return invalid("steps", "paging.policy.contact")
		}
		// The lock serialises two edits of one policy; the unique key catches the rest.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('escalation_policy:' || ?))", p.Name); err != nil {
			return err
		}
		if err := tx.NewSelect().Model((*Policy)(nil)).ColumnExpr("coalesce(max(version), 0) + 1").Where("name = ?", p.Name).Scan(ctx, &p.Version); err != nil {
			return err
		}
		p.CreatedBy, p.CreatedAt = by, s.now()
		_, err = tx.NewInsert().Model(&p).Returning("id").Exec(ctx)
		return err
	})
	if err != nil {
		var te *tenant.Error
		if errors.As(err, &te) {
			return nil, err
		}
		return nil, tenant.DBError(err)
	}
	return &p, nil
}

func uniq(ids []uuid.UUID) []uuid.UUID {
	seen := map[uuid.UUID]bool{}
	var out []uuid.UUID
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// snapshot loads the newest version of the policy name with its contacts, inside tx.
func snapshot(ctx context.Context, tx bun.IDB, name string) (*Snapshot, error) {
	var p Policy
	err := tx.NewSelect().Model(&p).Where("name = ?", name).Order("version DESC").Limit(1).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("no escalation policy %q: %v", name, err) // not %w: a missing policy is no not_found for the caller
	}
	var ids []uuid.UUID
	for _, st := range p.Steps {
		ids = append(ids, st.ContactIDs...)
	}
	var cs []Contact
	if err := tx.NewSelect().Model(&cs).Where("id IN (?)", bun.List(uniq(ids))).Scan(ctx); err != nil {
		return nil, err
	}
	snap := &Snapshot{PolicyID: p.ID, Name: p.Name, Version: p.Version, Steps: p.Steps, Contacts: map[uuid.UUID]Contact{}}
	for _, c := range cs {
		snap.Contacts[c.ID] = c
	}
	return snap, nil
}

// addEvent appends an event to the page's timeline inside tx.
func addEvent(ctx context.Context, tx bun.IDB, pageID uuid.UUID, at time.Time, kind, actor string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	_, err := tx.NewRaw(`INSERT INTO page_events (page_id, at, seq, kind, actor, detail)
		SELECT ?, ?, coalesce(max(seq), 0) + 1, ?, ?, ? FROM page_events WHERE page_id = ?`,
		pageID, at, kind, actor, detail, pageID).Exec(ctx)
	return err
}

// Timeline returns the page's events, oldest first.
func (s *Service) Timeline(ctx context.Context, pageID uuid.UUID) (_ []Event, err error) {
	defer tenant.Wrap(&err, "paging.Timeline")
	var evs []Event
	if err := s.db.NewSelect().Model(&evs).Where("page_id = ?", pageID).Order("seq").Scan(ctx); err != nil {
		return nil, tenant.DBError(err)
	}
	return evs, nil
}

// Get returns one page; not_found when there is none.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (_ *Page, err error) {
	defer tenant.Wrap(&err, "paging.Get")
	var p Page
	if err := s.db.NewSelect().Model(&p).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, tenant.DBError(err)
	}
	return &p, nil
}

// Pages returns the newest pages first (at most limit).
func (s *Service) Pages(ctx context.Context, limit int) (_ []Page, err error) {
	defer tenant.Wrap(&err, "paging.Pages")
	var ps []Page
	if err := s.db.NewSelect().Model(&ps).Order("created_at DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, tenant.DBError(err)
	}
	return ps, nil
}

// invalid is an invalid error with the message key on the field.
func invalid(field, key string) error {
	return &tenant.Error{Code: tenant.Invalid, Key: key, Fields: map[string]string{field: key}}
}
