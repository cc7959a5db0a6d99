package paging

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// tickBatch is how many due pages one tick takes.
const tickBatch = 50

// sendLease is how long a claimed notification may stay "sending" before another process may
// send it again (its sender crashed).
const sendLease = 2 * time.Minute

// Tick does the due work once: it advances every triggered page whose next action is due
// (writing the notifications of the round, escalating to the next step, looping after the last),
// then sends the notifications written and not yet sent. Several processes may tick at once:
// pages are taken with SKIP LOCKED and notifications claimed one by one. While PostgreSQL does
// not answer, Tick pages from memory instead (the degraded path) and returns nil.
func (s *Service) Tick(ctx context.Context) error {
	if !s.tickDegraded(ctx) {
		return nil // PostgreSQL is down: paged from memory (logged there)
	}
	if err := s.watchRedis(ctx); err != nil {
		return fmt.Errorf("paging redis watch: %w", err)
	}
	if err := s.watchdog(ctx); err != nil {
		return fmt.Errorf("paging watchdog: %w", err)
	}
	if err := s.advance(ctx); err != nil {
		return fmt.Errorf("paging tick: %w", err)
	}
	return s.sendPending(ctx)
}

// Run ticks every interval until ctx is cancelled; errors go to the log.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("paging", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) advance(ctx context.Context) error {
	now := s.now()
	return tenant.RunTx(ctx, s.db, nil, func(ctx context.Context, tx bun.Tx) error {
		var due []Page
		// An acknowledged page has a next action only when its acknowledgement times out.
		err := tx.NewSelect().Model(&due).Where("state IN ('triggered', 'acknowledged') AND next_action_at <= ?", now).
			Order("next_action_at").Limit(tickBatch).For("UPDATE SKIP LOCKED").Scan(ctx)
		if err != nil {
			return err
		}
		for i := range due {
			if err := s.step(ctx, tx, &due[i], now); err != nil {
				return fmt.Errorf("page %s: %w", due[i].ID, err)
			}
		}
		return nil
	})
}

// step moves one page forward to now: escalate when its step's time is up, notify the round
// that is due, and set the next action. The times are computed from the step's start, so a
// late tick does not shift the schedule; after an outage of the engine it restarts from now.
func (s *Service) step(ctx context.Context, tx bun.Tx, p *Page, now time.Time) error {
	if p.State == Acknowledged {
		if err := s.retrigger(ctx, tx, p, now); err != nil {
			return err
		}
	}
	steps := p.Snapshot.Steps
	if len(steps) == 0 {
		_, err := tx.NewUpdate().Model(p).Set("next_action_at = NULL").WherePK().Exec(ctx)
		return err
	}
	st := steps[p.Step%len(steps)]
	if end := p.StepStartedAt.Add(time.Duration(st.EscalateAfter)); !now.Before(end) {
		p.Step++
		if p.Step >= len(steps) {
			p.Step, p.Loop = 0, p.Loop+1
		}
		p.StepStartedAt, p.Round = end, 0
		if now.Sub(end) >= time.Duration(steps[p.Step].EscalateAfter) {
			p.StepStartedAt = now // the engine was away longer than a step: restart here
		}
		st = steps[p.Step]
		if err := addEvent(ctx, tx, p.ID, now, "escalated", "", map[string]any{"step": p.Step, "loop": p.Loop}); err != nil {
			return err
		}
	}
	every := time.Duration(st.NotifyEvery)
	if due := p.StepStartedAt.Add(time.Duration(p.Round) * every); !now.Before(due) {
		if err := s.notifyRound(ctx, tx, p, st, now); err != nil {
			return err
		}
		p.Round++
	}
	next := p.StepStartedAt.Add(time.Duration(p.Round) * every)
	if end := p.StepStartedAt.Add(time.Duration(st.EscalateAfter)); end.Before(next) {
		next = end
	}
	p.NextActionAt = &next
	_, err := tx.NewUpdate().Model(p).Column("step", "loop", "round", "step_started_at", "next_action_at").WherePK().Exec(ctx)
	return err
}

// retrigger turns p, acknowledged longer than the ack timeout ago, back to triggered from the
// first step, in a new generation (an old link or call acknowledges nothing any more).
func (s *Service) retrigger(ctx context.Context, tx bun.Tx, p *Page, now time.Time) error {
	ackedBy := p.AckedBy
	// A new loop, so that the round's notifications are new rows (their key holds the loop).
	p.State, p.Step, p.Loop, p.Round, p.StepStartedAt, p.Generation = Triggered, 0, p.Loop+1, 0, now, p.Generation+1
	p.AckedBy, p.AckedVia, p.AckedAt = "", "", nil
	if _, err := tx.NewUpdate().Model(p).Column("state", "step", "loop", "round", "step_started_at", "generation", "acked_by", "acked_via", "acked_at").
		WherePK().Exec(ctx); err != nil {
		return err
	}
	return addEvent(ctx, tx, p.ID, now, "ack_timeout", "", map[string]any{"acked_by": ackedBy, "timeout_s": int64(s.cfg.AckTimeout / time.Second)})
}

// notifyRound writes the round's notifications: every contact of the step on every channel it
// has an address for. A contact notified on the channel within ContactMinInterval gets a
// "skipped" row instead (no call storm when steps share a person).
func (s *Service) notifyRound(ctx context.Context, tx bun.Tx, p *Page, st Step, now time.Time) error {
	n := 0
	for _, cid := range st.ContactIDs {
		c, ok := p.Snapshot.Contacts[cid]
		if !ok {
			continue
		}
		for _, ch := range st.Channels {
			if (ch == ChannelMail && c.Email == "") || (ch == ChannelPhone && c.Phone == "") {
				continue
			}
			status, note := "pending", ""
			recent, err := tx.NewSelect().Table("notification_attempts").
				Where("contact_id = ? AND channel = ? AND kind = 'notify' AND status IN ('pending', 'sending', 'sent') AND created_at > ?",
					cid, ch, now.Add(-s.cfg.ContactMinInterval)).Count(ctx)
			if err != nil {
				return err
			}
			if recent > 0 {
				status, note = "skipped", "rate limited"
				s.metric.notifications.WithLabelValues(ch, "skipped").Inc()
			}
			a := Attempt{PageID: p.ID, Kind: "notify", Generation: p.Generation, Loop: p.Loop, Step: p.Step, Round: p.Round,
				ContactID: cid, Channel: ch, Status: status, Error: note, CreatedAt: now}
			if _, err := tx.NewInsert().Model(&a).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
				return err
			}
			n++
		}
	}
	return addEvent(ctx, tx, p.ID, now, "notified", "", map[string]any{"step": p.Step, "loop": p.Loop, "round": p.Round, "notifications": n})
}

// sendPending claims and sends the notifications waiting to be sent.
func (s *Service) sendPending(ctx context.Context) error {
	for {
		now := s.now()
		var a Attempt
		err := s.db.NewRaw(`UPDATE notification_attempts SET status = 'sending', claimed_at = ?
			WHERE id = (SELECT id FROM notification_attempts
				WHERE status = 'pending' OR (status = 'sending' AND claimed_at < ?)
				ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
			RETURNING *`, now, now.Add(-sendLease)).Scan(ctx, &a)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		s.send(ctx, &a)
	}
}

// send delivers one claimed notification and records the outcome. A notification whose page
// moved on (another generation, or no longer triggered) is marked stale and not sent.
func (s *Service) send(ctx context.Context, a *Attempt) {
	now := s.now()
	status, ref, errText := "sent", "", ""
	p, err := s.Get(ctx, a.PageID)
	switch {
	case err != nil:
		status, errText = "pending", "page not readable"
	case a.Kind == "notify" && (p.Generation != a.Generation || p.State != Triggered):
		status = "stale"
	default:
		ref, err = s.deliver(ctx, p, a, now)
		if err != nil {
			status, errText = "failed", err.Error()
		}
	}
	if status != "pending" {
		s.metric.notifications.WithLabelValues(a.Channel, status).Inc()
	}
	if len(errText) > 1000 {
		errText = errText[:1000]
	}
	_, err = s.db.NewUpdate().Model(a).Set("status = ?, provider_ref = ?, error = ?, done_at = ?", status, ref, errText, now).
		WherePK().Where("status = 'sending'").Exec(ctx)
	if err != nil {
		s.log.Error("paging: record notification", "attempt", a.ID, "err", err)
	}
	if p != nil && status != "stale" && status != "pending" {
		// Outside a transaction, two senders of one page may race for the next seq; the loser's
		// event is logged here instead (the attempt row itself is recorded above).
		if err := addEvent(ctx, s.db, p.ID, now, a.Kind+"_"+status, "", map[string]any{"channel": a.Channel, "contact": p.Snapshot.Contacts[a.ContactID].Name,
			"step": a.Step, "loop": a.Loop, "round": a.Round, "error": errText}); err != nil {
			s.log.Warn("paging: timeline event not written", "page", p.ID, "attempt", a.ID, "err", err)
		}
	}
}

// deliver sends the mail or places the call of a.
func (s *Service) deliver(ctx context.Context, p *Page, a *Attempt, now time.Time) (string, error) {
	c := p.Snapshot.Contacts[a.ContactID]
	tok := signToken(s.cfg.AckKey, AckToken{PageID: p.ID, ContactID: c.ID, Generation: a.Generation, Expires: now.Add(s.cfg.AckTTL)})
	switch a.Channel {
	case ChannelMail:
		if s.cfg.Mail == nil {
			return "", errors.New("no mail sender configured")
		}
		subject, body := notifyText(p, s.cfg.PublicURL+"/ack/"+tok, now)
		if a.Kind == "all_clear" {
			subject, body = allClearText(p, now)
		}
		id := fmt.Sprintf("page-%s-%s@madoguchi", p.ID, a.ID)
		m, err := mailMessage(s.cfg.MailFrom, c.Email, subject, body, id, now)
		if err != nil {
			return "", err
		}
		return "<" + id + ">", s.cfg.Mail.Send(ctx, m)
	case ChannelPhone:
		if s.cfg.Phone == nil {
			return "", errors.New("no phone provider configured")
		}
		text := "madoguchi の障害通知です。" + p.Title + "。対応する場合は 1 を押してください。"
		return s.cfg.Phone.Call(ctx, c.Phone, text, s.cfg.PublicURL+"/api/paging/voice/"+url.PathEscape(tok))
	}
	return "", fmt.Errorf("unknown channel %q", a.Channel)
}

func notifyText(p *Page, ackURL string, now time.Time) (string, string) {
	subject := "【障害通知】" + p.Title
	body := "madoguchi で障害を検知しました。\n\n" +
		"件名: " + p.Title + "\n" +
		"発生: " + p.CreatedAt.In(booking.JST).Format("2006-01-02 15:04 JST") + "\n" +
		"通知: " + now.In(booking.JST).Format("2006-01-02 15:04 JST") + "\n\n" +
		"対応する方は、次のページを開き「対応します」のボタンを押してください（開いただけでは受け付けません）。\n" +
		ackURL + "\n\n" +
		"受け付けられるまで、この通知は手順に従い繰り返し送られます。\n"
	return subject, body
}

func allClearText(p *Page, now time.Time) (string, string) {
	return "【復旧】" + p.Title, "madoguchi の障害は解消しました。\n\n件名: " + p.Title + "\n解消: " +
		now.In(booking.JST).Format("2006-01-02 15:04 JST") + "\n"
}

// Ack vias.
const (
	ViaMail    = "mail"
	ViaConsole = "console"
	ViaPhone   = "phone"
)

// Acknowledge stops the page's escalation: it becomes acknowledged and its generation grows, so
// notifications already written are not sent. generation is the one the acknowledgement was
// issued for (a mail link's or call's token); 0 (the console) accepts any. It returns
// acknowledged=false without error when the page is resolved (an ack never reopens a page) or
// already acknowledged, or when the token's generation is stale; not_found for an unknown page.
func (s *Service) Acknowledge(ctx context.Context, pageID uuid.UUID, generation int, by, via string) (acknowledged bool, err error) {
	defer tenant.Wrap(&err, "paging.Acknowledge(%s)", pageID)
	now := s.now()
	err = tenant.RunTx(ctx, s.db, nil, func(ctx context.Context, tx bun.Tx) error {
		var p Page
		if err := tx.NewSelect().Model(&p).Where("id = ?", pageID).For("UPDATE").Scan(ctx); err != nil {
			return err
		}
		if p.State != Triggered || (generation != 0 && generation != p.Generation) {
			return addEvent(ctx, tx, p.ID, now, "ack_ignored", by, map[string]any{"via": via, "state": p.State})
		}
		var timeout *time.Time // the ack timeout, when configured, is the page's next action
		if s.cfg.AckTimeout > 0 {
			t := now.Add(s.cfg.AckTimeout)
			timeout = &t
		}
		if _, err := tx.NewUpdate().Model(&p).Set("state = 'acknowledged', acked_by = ?, acked_via = ?, acked_at = ?, next_action_at = ?, generation = generation + 1",
			by, via, now, timeout).WherePK().Exec(ctx); err != nil {
			return err
		}
		acknowledged = true
		s.metric.timeToAck.Observe(now.Sub(p.CreatedAt).Seconds())
		return addEvent(ctx, tx, p.ID, now, "acknowledged", by, map[string]any{"via": via})
	})
	return acknowledged, tenant.DBError(err)
}
