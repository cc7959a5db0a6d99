package paging

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// The degraded path pages while PostgreSQL, where the chain keeps its state, is the failing
// part. Every process that ticks the engine pings PostgreSQL first; once it has failed for
// Config.DegradedAfter the process opens a page in memory ("PostgreSQL に接続できません") and
// notifies the contacts from configuration (Config.Fallback) by mail and phone every
// Config.FallbackEvery until someone acknowledges. An alert Alertmanager delivers meanwhile is
// paged the same way (and answered 503, so Alertmanager delivers it again once it can be
// stored). Acknowledgement tokens of these pages carry generation 0 and are verified by their
// signature alone; the acknowledgement is shared through Redis when Redis answers, and there
// the processes also agree which one sends a round (SET NX), so a round goes out once. With
// Redis down too, every process pages: duplicates are better than silence. When PostgreSQL
// answers again the memory pages are written to the pages table with their timeline (events
// "degraded_…"): the outage's own page resolved with the all-clear, an alert's page continuing
// as acknowledged or triggered.
//
// Redis down is no outage of the chain (it needs PostgreSQL only); the engine opens a page for
// it through the normal path (watchRedis).

// Dedup keys of the system's own pages.
const (
	postgresKey = "watchdog:postgresql"
	redisKey    = "watchdog:redis"
)

// memPage is a page kept in memory while PostgreSQL is down.
type memPage struct {
	ID       uuid.UUID // derived from Key: the same in every process
	Key      string
	Title    string
	Source   string
	Opened   time.Time
	Round    int
	NextAt   time.Time
	AckedBy  string
	AckedVia string
	AckedAt  time.Time
	Resolved time.Time
	Notified map[uuid.UUID]bool
	Events   []memEvent
}

type memEvent struct {
	At     time.Time
	Kind   string
	Actor  string
	Detail map[string]any
}

// degraded is a process's memory of the outage.
type degraded struct {
	mu          sync.Mutex
	dbDownSince time.Time // zero: PostgreSQL answered at the last tick
	rdDownSince time.Time
	pages       map[uuid.UUID]*memPage
}

// memPageID derives a memory page's id from its dedup key, so that the processes name a page
// alike (an acknowledgement reaching any of them stops it).
func memPageID(key string) uuid.UUID {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("madoguchi-paging-degraded:"+key))
}

// FallbackContactID is the id a contact from configuration has in tokens and timelines.
func FallbackContactID(c Contact) uuid.UUID {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("madoguchi-paging-fallback:"+c.Email+"|"+c.Phone))
}

// Degraded reports whether the process pages from memory (PostgreSQL failing for longer than
// DegradedAfter, or a memory page not yet written back).
func (s *Service) Degraded() bool {
	s.deg.mu.Lock()
	defer s.deg.mu.Unlock()
	return len(s.deg.pages) > 0
}

// tickDegraded is Tick's first part: it pings PostgreSQL. It returns true when PostgreSQL
// answers (the normal path may run; memory pages have been written back), false when the
// process pages from memory.
func (s *Service) tickDegraded(ctx context.Context) bool {
	now := s.now()
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err := s.db.PingContext(pctx)
	cancel()
	s.deg.mu.Lock()
	if err == nil {
		s.deg.dbDownSince = time.Time{}
		n := len(s.deg.pages)
		s.deg.mu.Unlock()
		if n > 0 {
			if err := s.reconcile(ctx); err != nil {
				// Not written back (e.g. no policy to snapshot): they go on from memory.
				s.log.Error("paging: memory pages not written back yet", "err", err)
				s.notifyMem(ctx, now)
			}
		}
		return true
	}
	if s.deg.dbDownSince.IsZero() {
		s.deg.dbDownSince = now
	}
	since := s.deg.dbDownSince
	if now.Sub(since) >= s.cfg.DegradedAfter {
		s.openMem(postgresKey, "PostgreSQL に接続できません（障害通知は設定の連絡先へ送っています）", "watchdog", now,
			map[string]any{"since": since.UTC().Format(time.RFC3339), "error": err.Error()})
	}
	s.deg.mu.Unlock()
	s.log.Warn("paging: PostgreSQL unreachable, paging from memory", "since", since, "err", err)
	s.notifyMem(ctx, now)
	return false
}

// openMem opens a memory page under key unless one is open; s.deg.mu is held.
func (s *Service) openMem(key, title, source string, now time.Time, detail map[string]any) *memPage {
	id := memPageID(key)
	if p, ok := s.deg.pages[id]; ok && p.Resolved.IsZero() {
		return p
	}
	if s.deg.pages == nil {
		s.deg.pages = map[uuid.UUID]*memPage{}
	}
	p := &memPage{ID: id, Key: key, Title: title, Source: source, Opened: now, NextAt: now, Notified: map[uuid.UUID]bool{}}
	p.Events = append(p.Events, memEvent{At: now, Kind: "degraded_triggered", Actor: source, Detail: detail})
	s.deg.pages[id] = p
	return p
}

// receiveMem pages an alert that could not be stored from memory (the receiver still answers
// 503): a firing alert opens the group's memory page, a group all resolved resolves it.
func (s *Service) receiveMem(ctx context.Context, w *Webhook) {
	now := s.now()
	firing := false
	for _, a := range w.Alerts {
		if a.Labels["alertname"] != WatchdogAlert && a.Status == "firing" {
			firing = true
		}
	}
	key := "alertmanager:" + w.GroupKey
	s.deg.mu.Lock()
	if firing {
		s.openMem(key, title(w), "alertmanager", now, map[string]any{"group_key": w.GroupKey})
	} else if p, ok := s.deg.pages[memPageID(key)]; ok && p.Resolved.IsZero() {
		p.Resolved = now
		p.Events = append(p.Events, memEvent{At: now, Kind: "degraded_resolved", Actor: "alertmanager", Detail: map[string]any{}})
	}
	s.deg.mu.Unlock()
	if firing {
		s.notifyMem(ctx, now)
	}
}

// notifyMem sends the due rounds of the memory pages to every contact from configuration.
func (s *Service) notifyMem(ctx context.Context, now time.Time) {
	type job struct {
		p     *memPage
		round int
	}
	var jobs []job
	s.deg.mu.Lock()
	for _, p := range s.deg.pages {
		if !p.Resolved.IsZero() || !p.AckedAt.IsZero() || now.Before(p.NextAt) {
			continue
		}
		jobs = append(jobs, job{p, p.Round})
		p.Round++
		p.NextAt = p.Opened.Add(time.Duration(p.Round) * s.cfg.FallbackEvery)
		if !p.NextAt.After(now) { // the process was away: the next round from now
			p.NextAt = now.Add(s.cfg.FallbackEvery)
		}
	}
	s.deg.mu.Unlock()
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].p.Opened.Before(jobs[j].p.Opened) })
	for _, j := range jobs {
		if by := s.sharedAck(ctx, j.p.ID); by != "" {
			s.ackMem(j.p.ID, by, "shared", now)
			continue
		}
		if !s.claimRound(ctx, j.p.ID, j.round) {
			s.memEvent(j.p.ID, memEvent{At: now, Kind: "degraded_round_elsewhere", Detail: map[string]any{"round": j.round}})
			continue
		}
		for _, c := range s.cfg.Fallback {
			for _, ch := range []string{ChannelMail, ChannelPhone} {
				if (ch == ChannelMail && c.Email == "") || (ch == ChannelPhone && c.Phone == "") {
					continue
				}
				ref, err := s.deliverMem(ctx, j.p, c, ch, "notify", now)
				result, errText := "sent", ""
				if err != nil {
					result, errText = "failed", err.Error()
				}
				s.metric.notifications.WithLabelValues(ch, result).Inc()
				s.memEvent(j.p.ID, memEvent{At: now, Kind: "degraded_notify_" + result, Detail: map[string]any{"channel": ch, "contact": c.Name,
					"round": j.round, "ref": ref, "error": errText}})
				if err == nil {
					s.deg.mu.Lock()
					j.p.Notified[FallbackContactID(c)] = true
					s.deg.mu.Unlock()
				}
			}
		}
	}
}

// deliverMem sends one notification (or all-clear) of a memory page to a contact from
// configuration; its ack token carries generation 0.
func (s *Service) deliverMem(ctx context.Context, p *memPage, c Contact, channel, kind string, now time.Time) (string, error) {
	c.ID = FallbackContactID(c)
	page := &Page{ID: p.ID, Title: p.Title, CreatedAt: p.Opened, Snapshot: Snapshot{Contacts: map[uuid.UUID]Contact{c.ID: c}}}
	return s.deliver(ctx, page, &Attempt{ID: uuid.New(), PageID: p.ID, Kind: kind, Generation: 0, ContactID: c.ID, Channel: channel}, now)
}

func (s *Service) memEvent(id uuid.UUID, e memEvent) {
	s.deg.mu.Lock()
	defer s.deg.mu.Unlock()
	if p, ok := s.deg.pages[id]; ok {
		p.Events = append(p.Events, e)
	}
}

// redisKeyOf names the Redis key of a memory page's shared state.
func redisKeyOf(kind string, id uuid.UUID, extra string) string {
	h := sha256.Sum256([]byte(id.String() + extra))
	return "madoguchi:paging:degraded:" + kind + ":" + hex.EncodeToString(h[:8])
}

// claimRound asks Redis whether this process sends the round (the first to ask does). Without
// Redis every process sends it.
func (s *Service) claimRound(ctx context.Context, id uuid.UUID, round int) bool {
	if s.cfg.Redis == nil {
		return true
	}
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	ok, err := s.cfg.Redis.SetNX(rctx, redisKeyOf("round", id, fmt.Sprint(round)), s.instance, 24*time.Hour).Result()
	return err != nil || ok
}

// sharedAck returns who acknowledged the memory page in another process ("" when nobody or
// Redis does not answer).
func (s *Service) sharedAck(ctx context.Context, id uuid.UUID) string {
	if s.cfg.Redis == nil {
		return ""
	}
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	by, err := s.cfg.Redis.Get(rctx, redisKeyOf("ack", id, "")).Result()
	if err != nil {
		return ""
	}
	return by
}

// ackMem acknowledges a memory page in this process; it returns false when the page is unknown
// here, resolved or already acknowledged.
func (s *Service) ackMem(id uuid.UUID, by, via string, now time.Time) bool {
	s.deg.mu.Lock()
	defer s.deg.mu.Unlock()
	p, ok := s.deg.pages[id]
	if !ok || !p.Resolved.IsZero() || !p.AckedAt.IsZero() {
		return false
	}
	p.AckedBy, p.AckedVia, p.AckedAt = by, via, now
	p.Events = append(p.Events, memEvent{At: now, Kind: "degraded_acknowledged", Actor: by, Detail: map[string]any{"via": via}})
	return true
}

// AcknowledgeDegraded acknowledges a page of the degraded path (a token of generation 0): in
// this process's memory and, when Redis answers, for every process. It needs no database.
// known is false when neither this process nor Redis knew the page (another process opened it
// and Redis is down: the ack is still recorded here in case the page opens later).
func (s *Service) AcknowledgeDegraded(ctx context.Context, t AckToken, via string) (acknowledged bool) {
	now := s.now()
	by := s.fallbackName(t.ContactID)
	acknowledged = s.ackMem(t.PageID, by, via, now)
	if s.cfg.Redis != nil {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		ok, err := s.cfg.Redis.SetNX(rctx, redisKeyOf("ack", t.PageID, ""), by+" ("+via+")", 24*time.Hour).Result()
		if err == nil && ok {
			acknowledged = true
		}
	}
	if acknowledged {
		s.log.Info("paging: degraded page acknowledged", "page", t.PageID, "by", by, "via", via)
	}
	return acknowledged
}

func (s *Service) fallbackName(id uuid.UUID) string {
	for _, c := range s.cfg.Fallback {
		if FallbackContactID(c) == id {
			return c.Name
		}
	}
	return id.String()
}

// memTitle returns the title of a memory page known here ("" otherwise).
func (s *Service) memTitle(id uuid.UUID) (string, time.Time) {
	s.deg.mu.Lock()
	defer s.deg.mu.Unlock()
	if p, ok := s.deg.pages[id]; ok {
		return p.Title, p.Opened
	}
	return "", time.Time{}
}

// reconcile writes the memory pages to PostgreSQL (it answers again): each with its timeline
// under the open page of its key (opened when there is none). The outage's own page is resolved
// and the contacts it reached get the all-clear; an alert's page continues (acknowledged when
// someone acknowledged it in memory). A page written is forgotten here.
func (s *Service) reconcile(ctx context.Context) error {
	s.deg.mu.Lock()
	var ps []*memPage
	for _, p := range s.deg.pages {
		ps = append(ps, p)
	}
	s.deg.mu.Unlock()
	sort.Slice(ps, func(i, j int) bool { return ps[i].Opened.Before(ps[j].Opened) })
	now := s.now()
	var errs []error
	for _, mp := range ps {
		if by := s.sharedAck(ctx, mp.ID); by != "" {
			s.ackMem(mp.ID, by, "shared", now)
		}
		s.deg.mu.Lock()
		m := *mp // a copy: the receiver may page from memory meanwhile
		m.Events = append([]memEvent(nil), mp.Events...)
		m.Notified = make(map[uuid.UUID]bool, len(mp.Notified))
		for k, v := range mp.Notified {
			m.Notified[k] = v
		}
		s.deg.mu.Unlock()
		if err := s.writeBack(ctx, &m, now); err != nil {
			errs = append(errs, fmt.Errorf("page %s: %w", m.Key, err))
			continue
		}
		s.deg.mu.Lock()
		delete(s.deg.pages, mp.ID)
		s.deg.mu.Unlock()
		if s.cfg.Redis != nil {
			rctx, cancel := context.WithTimeout(ctx, time.Second)
			s.cfg.Redis.Del(rctx, redisKeyOf("ack", mp.ID, ""))
			cancel()
		}
	}
	return errors.Join(errs...)
}

// writeBack stores one memory page and its timeline.
func (s *Service) writeBack(ctx context.Context, m *memPage, now time.Time) error {
	var clear []Contact
	err := tenant.RunTx(ctx, s.db, nil, func(ctx context.Context, tx bun.Tx) error {
		clear = nil // a second run (tenant.RunTx) starts afresh
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('paging:' || ?))", m.Key); err != nil {
			return err
		}
		var p Page
		err := tx.NewSelect().Model(&p).Where("dedup_key = ? AND state <> 'resolved'", m.Key).For("UPDATE").Scan(ctx)
		switch {
		case err == nil:
		case isNoRows(err):
			source := m.Source
			if source != "alertmanager" {
				source = "watchdog"
			}
			np, err := s.insertPage(ctx, tx, m.Key, m.Title, source, s.cfg.Policy, m.Opened, map[string]any{"degraded": true})
			if err != nil {
				return err
			}
			p = *np
		default:
			return err
		}
		for _, e := range m.Events {
			if err := addEvent(ctx, tx, p.ID, e.At, e.Kind, e.Actor, e.Detail); err != nil {
				return err
			}
		}
		if err := addEvent(ctx, tx, p.ID, now, "degraded_reconciled", "", map[string]any{"memory_page": m.ID.String(), "rounds": m.Round}); err != nil {
			return err
		}
		if !m.AckedAt.IsZero() && p.State == Triggered {
			if _, err := tx.NewUpdate().Model(&p).Set("state = 'acknowledged', acked_by = ?, acked_via = ?, acked_at = ?, next_action_at = NULL, generation = generation + 1",
				m.AckedBy, ackVia(m.AckedVia), m.AckedAt).WherePK().Exec(ctx); err != nil {
				return err
			}
			p.State = Acknowledged
		}
		// The outage of PostgreSQL itself is over now; so is a group Alertmanager resolved.
		if m.Key == postgresKey || !m.Resolved.IsZero() {
			if err := s.resolve(ctx, tx, &p, "degraded_path", now); err != nil {
				return err
			}
			for _, c := range s.cfg.Fallback {
				if m.Notified[FallbackContactID(c)] && c.Email != "" {
					clear = append(clear, c)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range clear { // after commit: the all-clear of the memory rounds' contacts
		if _, err := s.deliverMem(ctx, m, c, ChannelMail, "all_clear", now); err != nil {
			s.log.Warn("paging: all-clear of a degraded page not sent", "contact", c.Name, "err", err)
		}
	}
	return nil
}

// ackVia maps a memory acknowledgement's via to the pages table's.
func ackVia(v string) string {
	switch v {
	case ViaMail, ViaPhone, ViaConsole:
		return v
	}
	return ViaMail
}

// watchRedis opens a page through the normal path when Redis has not answered for
// DegradedAfter, and resolves it when Redis answers again.
func (s *Service) watchRedis(ctx context.Context) error {
	if s.cfg.Redis == nil {
		return nil
	}
	now := s.now()
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	perr := s.cfg.Redis.Ping(rctx).Err()
	cancel()
	s.deg.mu.Lock()
	if perr == nil {
		s.deg.rdDownSince = time.Time{}
	} else if s.deg.rdDownSince.IsZero() {
		s.deg.rdDownSince = now
	}
	since := s.deg.rdDownSince
	s.deg.mu.Unlock()
	down := perr != nil && now.Sub(since) >= s.cfg.DegradedAfter
	return tenant.RunTx(ctx, s.db, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('paging:' || ?))", redisKey); err != nil {
			return err
		}
		var open Page
		err := tx.NewSelect().Model(&open).Where("dedup_key = ? AND state <> 'resolved'", redisKey).For("UPDATE").Scan(ctx)
		if err != nil && !isNoRows(err) {
			return err
		}
		switch {
		case down && err != nil:
			_, err := s.insertPage(ctx, tx, redisKey, "Redis に接続できません（ジョブの実行とセッションに影響）", "watchdog", s.cfg.Policy, now,
				map[string]any{"since": since.UTC().Format(time.RFC3339), "error": perr.Error()})
			return err
		case perr == nil && err == nil:
			return s.resolve(ctx, tx, &open, "watchdog", now)
		}
		return nil
	})
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
