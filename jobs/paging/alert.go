package paging

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// Webhook is Alertmanager's webhook payload, version 4 (notify/webhook in Alertmanager).
// Unknown fields are ignored.
type Webhook struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   uint64            `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []WebhookAlert    `json:"alerts"`
}

// WebhookAlert is one alert of a Webhook.
type WebhookAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// WatchdogAlert is the alert name of the always-firing heartbeat: it records that the pipeline
// works and never opens a page.
const WatchdogAlert = "Watchdog"

// Validate checks what Receive relies on; it returns an invalid error.
func (w *Webhook) Validate() error {
	if w.Version != "4" || w.GroupKey == "" || len(w.GroupKey) > 1000 {
		return invalid("version", "paging.webhook.version")
	}
	for _, a := range w.Alerts {
		if a.Fingerprint == "" || len(a.Fingerprint) > 200 || a.StartsAt.IsZero() || (a.Status != "firing" && a.Status != "resolved") {
			return invalid("alerts", "paging.webhook.alert")
		}
	}
	return nil
}

// Receive stores a webhook delivery durably and opens, updates or resolves the page of its
// group (an alert about a training city opens none), in one transaction: when it returns nil the alerts are recorded (Alertmanager may take
// the 2xx as final). A duplicate delivery (HA Alertmanagers, retries) changes nothing but the
// alerts' last_seen_at. It returns invalid for a payload Validate refuses, and the database's
// error (unavailable) when nothing could be stored: the receiver answers 503 so Alertmanager
// retries.
func (s *Service) Receive(ctx context.Context, w *Webhook) (err error) {
	defer tenant.Wrap(&err, "paging.Receive")
	if err := w.Validate(); err != nil {
		return err
	}
	now := s.now()
	err = tenant.RunTx(ctx, s.db, nil, func(ctx context.Context, tx bun.Tx) error {
		var page *Page
		for _, a := range w.Alerts {
			if a.Labels["alertname"] == WatchdogAlert {
				if _, err := tx.NewRaw(`INSERT INTO paging_heartbeats (source, last_seen) VALUES ('watchdog', ?)
					ON CONFLICT (source) DO UPDATE SET last_seen = greatest(paging_heartbeats.last_seen, EXCLUDED.last_seen)`, now).Exec(ctx); err != nil {
					return err
				}
				continue
			}
			training, err := trainingAlert(ctx, tx, a)
			if err != nil {
				return err
			}
			if a.Status == "firing" && page == nil && !training {
				if page, err = s.openPage(ctx, tx, w, now); err != nil {
					return err
				}
			}
			linked := page
			if training {
				linked = nil // nor does it keep another alert's page open
			}
			if err := upsertAlert(ctx, tx, a, linked, now); err != nil {
				return err
			}
		}
		return s.resolveQuiet(ctx, tx, w.GroupKey, now)
	})
	if err != nil {
		return tenant.DBError(err)
	}
	return nil
}

// trainingAlert reports whether a's tenant label names a training city (研修用): its alerts are
// recorded and never page anyone (a training city is left out of the fleet's figures, so none
// of the per-city rules should fire for it; this holds whatever a rule says).
func trainingAlert(ctx context.Context, tx bun.Tx, a WebhookAlert) (bool, error) {
	slug := a.Labels["tenant"]
	if slug == "" {
		return false, nil
	}
	return tx.NewSelect().Table("tenants").Where("slug = ? AND training_of IS NOT NULL", slug).Exists(ctx)
}

// openPage returns the open page of the webhook's group, opening it (with the policy's snapshot
// and its first action due now) when there is none.
func (s *Service) openPage(ctx context.Context, tx bun.Tx, w *Webhook, now time.Time) (*Page, error) {
	key := "alertmanager:" + w.GroupKey
	var p Page
	err := tx.NewSelect().Model(&p).Where("dedup_key = ? AND state <> 'resolved'", key).For("UPDATE").Scan(ctx)
	if err == nil {
		return &p, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	name := s.cfg.Policy
	if v := w.CommonLabels["policy"]; v != "" && policyName.MatchString(v) {
		name = v
	}
	return s.insertPage(ctx, tx, key, title(w), "alertmanager", name, now, map[string]any{"group_key": w.GroupKey})
}

// insertPage opens a page under key (from source, with the snapshot of the policy name and its
// first action due now) and returns it; when a page under key is open already (two deliveries
// racing), it returns that one.
func (s *Service) insertPage(ctx context.Context, tx bun.Tx, key, title, source, policy string, now time.Time, detail map[string]any) (*Page, error) {
	snap, err := snapshot(ctx, tx, policy)
	if err != nil {
		return nil, err
	}
	p := Page{DedupKey: key, Title: title, Source: source, PolicyID: &snap.PolicyID, Snapshot: *snap, State: Triggered,
		StepStartedAt: now, NextActionAt: &now, Generation: 1, CreatedAt: now}
	// The partial unique index lets one insert; the other reads its page.
	res, err := tx.NewInsert().Model(&p).On("CONFLICT (dedup_key) WHERE state <> 'resolved' DO NOTHING").Returning("id").Exec(ctx)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if err := tx.NewSelect().Model(&p).Where("dedup_key = ? AND state <> 'resolved'", key).For("UPDATE").Scan(ctx); err != nil {
			return nil, err
		}
		return &p, nil
	}
	detail["policy"], detail["policy_version"] = snap.Name, snap.Version
	if err := addEvent(ctx, tx, p.ID, now, "triggered", source, detail); err != nil {
		return nil, err
	}
	return &p, nil
}

// title is the page's one-line description: the alert name and summary.
func title(w *Webhook) string {
	t := w.CommonLabels["alertname"]
	if t == "" && len(w.Alerts) > 0 {
		t = w.Alerts[0].Labels["alertname"]
	}
	if s := w.CommonAnnotations["summary"]; s != "" {
		t += ": " + s
	}
	if r := []rune(t); len(r) > 500 {
		t = string(r[:500])
	}
	return t
}

// upsertAlert records one alert episode (fingerprint + startsAt); page links a firing one.
func upsertAlert(ctx context.Context, tx bun.Tx, a WebhookAlert, page *Page, now time.Time) error {
	var pageID *uuid.UUID
	if page != nil {
		pageID = &page.ID
	}
	var ends *time.Time
	if a.Status == "resolved" && !a.EndsAt.IsZero() {
		ends = &a.EndsAt
	}
	labels, annotations := a.Labels, a.Annotations
	if labels == nil {
		labels = map[string]string{}
	}
	if annotations == nil {
		annotations = map[string]string{}
	}
	_, err := tx.NewRaw(`INSERT INTO alerts (source, fingerprint, starts_at, labels, annotations, status, ends_at, last_seen_at, page_id)
		VALUES ('alertmanager', ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (source, fingerprint, starts_at) DO UPDATE SET status = EXCLUDED.status, ends_at = EXCLUDED.ends_at,
			last_seen_at = EXCLUDED.last_seen_at, annotations = EXCLUDED.annotations,
			page_id = coalesce(alerts.page_id, EXCLUDED.page_id)`,
		a.Fingerprint, a.StartsAt, labels, annotations, a.Status, ends, now, pageID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("alert %s: %w", a.Fingerprint, err)
	}
	// A resolved alert whose episode never fired here (we missed the firing delivery) is recorded
	// and opens nothing.
	return nil
}

// resolveQuiet resolves the group's open page when none of its alerts fires any more.
func (s *Service) resolveQuiet(ctx context.Context, tx bun.Tx, groupKey string, now time.Time) error {
	var p Page
	err := tx.NewSelect().Model(&p).Where("dedup_key = ? AND state <> 'resolved'", "alertmanager:"+groupKey).For("UPDATE").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	firing, err := tx.NewSelect().Table("alerts").Where("page_id = ? AND status = 'firing'", p.ID).Count(ctx)
	if err != nil || firing > 0 {
		return err
	}
	return s.resolve(ctx, tx, &p, "alertmanager", now)
}

// resolve closes p (locked in tx), stops its notifications and writes the all-clear mail to
// everyone a notification reached.
func (s *Service) resolve(ctx context.Context, tx bun.Tx, p *Page, by string, now time.Time) error {
	_, err := tx.NewUpdate().Model(p).Set("state = 'resolved', resolved_by = ?, resolved_at = ?, next_action_at = NULL, generation = generation + 1", by, now).
		WherePK().Exec(ctx)
	if err != nil {
		return err
	}
	var notified []uuid.UUID
	if err := tx.NewSelect().Table("notification_attempts").ColumnExpr("DISTINCT contact_id").
		Where("page_id = ? AND kind = 'notify' AND status = 'sent'", p.ID).Scan(ctx, &notified); err != nil {
		return err
	}
	sort.Slice(notified, func(i, j int) bool { return notified[i].String() < notified[j].String() })
	for _, c := range notified {
		if strings.TrimSpace(p.Snapshot.Contacts[c].Email) == "" {
			continue
		}
		a := Attempt{PageID: p.ID, Kind: "all_clear", Generation: p.Generation + 1, ContactID: c, Channel: ChannelMail, Status: "pending", CreatedAt: now}
		if _, err := tx.NewInsert().Model(&a).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
			return err
		}
	}
	return addEvent(ctx, tx, p.ID, now, "resolved", by, map[string]any{"all_clear": len(notified)})
}

// Resolve closes the page by hand (the ops console): notifications stop and everyone notified
// gets the all-clear. A page already resolved is left as it is. It returns not_found for an
// unknown page.
func (s *Service) Resolve(ctx context.Context, pageID uuid.UUID, by string) (err error) {
	defer tenant.Wrap(&err, "paging.Resolve(%s)", pageID)
	now := s.now()
	err = tenant.RunTx(ctx, s.db, nil, func(ctx context.Context, tx bun.Tx) error {
		var p Page
		if err := tx.NewSelect().Model(&p).Where("id = ?", pageID).For("UPDATE").Scan(ctx); err != nil {
			return err
		}
		if p.State == Resolved {
			return nil
		}
		return s.resolve(ctx, tx, &p, by, now)
	})
	return tenant.DBError(err)
}
