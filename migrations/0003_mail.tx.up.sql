-- 0003: mail and background jobs. The sent-mail ledger makes the mail handler idempotent (a task
-- that runs twice finds the message already sent), per-city overrides of the mail templates, the
-- global claim table that lets several worker replicas run each periodic job once per tick, and a
-- unique index that allows one reminder per reservation and visit time.

-- One row per message handed to SMTP, keyed by the Message-ID derived from the outbox row. A row
-- in 'sending' is a lease: another worker that sees it unexpired does not send; an expired one
-- means the sender died mid-way, and the message is sent again with the same Message-ID.
CREATE TABLE sent_mail (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    message_id  text NOT NULL CHECK (length(message_id) BETWEEN 3 AND 250 AND message_id !~ '[\s<>]'),
    outbox_id   uuid NOT NULL,
    state       text NOT NULL CHECK (state IN ('sending', 'sent')),
    lease_until timestamptz,
    attempts    integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    PRIMARY KEY (tenant_id, message_id),
    UNIQUE (tenant_id, outbox_id),
    FOREIGN KEY (tenant_id, outbox_id) REFERENCES outbox (tenant_id, id) ON DELETE CASCADE
);

-- A city's own wording for one kind of mail in one language (text/template); without a row the
-- built-in default is used.
CREATE TABLE mail_templates (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    kind       text NOT NULL CHECK (kind IN ('reservation_created', 'reservation_changed', 'reservation_cancelled', 'reminder')),
    lang       text NOT NULL CHECK (lang IN ('ja', 'en')),
    subject    text NOT NULL CHECK (length(subject) BETWEEN 1 AND 400),
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    updated_by text NOT NULL DEFAULT '' CHECK (length(updated_by) <= 100),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, kind, lang)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['sent_mail', 'mail_templates'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = (SELECT current_tenant_id())) '
                       'WITH CHECK (tenant_id = (SELECT current_tenant_id()))', t);
    END LOOP;
END $$;

-- Exactly one reminder per reservation and visit time: a moved reservation gets a new one for its
-- new time; a second scheduler run (another replica) inserts nothing. starts_at is written in UTC
-- by the reminder query, so every writer produces the same text.
CREATE UNIQUE INDEX outbox_reminder_once ON outbox (tenant_id, reservation_id, (data ->> 'starts_at'))
    WHERE kind = 'reminder';
CREATE INDEX outbox_reservation_idx ON outbox (tenant_id, reservation_id);

-- Global (not tenant data): which periodic job ran for which tick. The worker replica whose
-- INSERT succeeds enqueues the tick's tasks; enqueued_at stays NULL until Redis accepted them, so
-- a tick claimed while Redis was down is enqueued again later.
CREATE TABLE periodic_runs (
    name        text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    tick        timestamptz NOT NULL,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    claimed_by  text NOT NULL DEFAULT '' CHECK (length(claimed_by) <= 200),
    enqueued_at timestamptz,
    PRIMARY KEY (name, tick)
);
CREATE INDEX periodic_runs_pending_idx ON periodic_runs (claimed_at) WHERE enqueued_at IS NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON sent_mail, mail_templates, periodic_runs TO {{app}};
-- Done outbox rows of past visits are deleted after the retention period (jobs: outbox cleanup).
GRANT DELETE ON outbox TO {{app}};
