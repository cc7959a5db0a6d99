-- 0013: the escalation chain (outage paging). Alerts arrive from Alertmanager's webhook; each
-- alert group opens a page that notifies the contacts of a policy's steps by mail and phone,
-- round after round and step after step, looping without a cap until someone acknowledges or the
-- alerts resolve. Platform data, like ops_accounts: global tables without tenant_id holding no
-- citizen's personal data (a contact is a vendor employee). The runtime role reads and writes
-- them; nothing is ever deleted by it (the timeline is the record of the incident).

-- The people paged. Disabled, never deleted: old pages keep naming them.
CREATE TABLE ops_contacts (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    email      text NOT NULL DEFAULT '' CHECK (length(email) <= 254),
    phone      text NOT NULL DEFAULT '' CHECK (phone = '' OR phone ~ '^\+[1-9][0-9]{6,14}$'), -- E.164
    locale     text NOT NULL DEFAULT 'ja' CHECK (locale IN ('ja', 'en')),
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (email <> '' OR phone <> '')
);

-- Policies are versioned: an edit inserts the next version, so a page's snapshot and the
-- policy it came from can always be compared. steps is a JSON array of
-- {contact_ids, channels, notify_every_s, escalate_after_s}, validated by the application
-- (notify_every ≥ 60 s, escalate_after ≥ notify_every, channels ⊆ {mail, phone}).
CREATE TABLE escalation_policies (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    version    integer NOT NULL CHECK (version >= 1),
    steps      jsonb NOT NULL CHECK (jsonb_typeof(steps) = 'array' AND jsonb_array_length(steps) BETWEEN 1 AND 20),
    created_by text NOT NULL DEFAULT '' CHECK (length(created_by) <= 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name, version)
);

-- One escalation instance. policy_snapshot is the policy (and its contacts' addresses) as it was
-- when the page opened: edits never change a running page. generation grows at every state
-- change; work carrying an older one is ignored.
CREATE TABLE pages (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    dedup_key       text NOT NULL CHECK (length(dedup_key) BETWEEN 1 AND 1000),
    title           text NOT NULL CHECK (length(title) <= 500),
    source          text NOT NULL CHECK (source IN ('alertmanager', 'watchdog', 'manual')),
    policy_id       uuid REFERENCES escalation_policies (id),
    policy_snapshot jsonb NOT NULL,
    state           text NOT NULL DEFAULT 'triggered' CHECK (state IN ('triggered', 'acknowledged', 'resolved')),
    step            integer NOT NULL DEFAULT 0,
    loop            integer NOT NULL DEFAULT 0,
    round           integer NOT NULL DEFAULT 0,
    step_started_at timestamptz NOT NULL,
    next_action_at  timestamptz,
    generation      integer NOT NULL DEFAULT 1,
    acked_by        text NOT NULL DEFAULT '',
    acked_via       text NOT NULL DEFAULT '' CHECK (acked_via IN ('', 'mail', 'console', 'phone')),
    acked_at        timestamptz,
    resolved_by     text NOT NULL DEFAULT '',
    resolved_at     timestamptz,
    created_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX pages_open_dedup_key ON pages (dedup_key) WHERE state <> 'resolved';
CREATE INDEX pages_due_idx ON pages (next_action_at) WHERE state = 'triggered';

-- Alerts as Alertmanager sent them: one row per episode (fingerprint + startsAt).
CREATE TABLE alerts (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    source       text NOT NULL CHECK (source IN ('alertmanager', 'watchdog')),
    fingerprint  text NOT NULL CHECK (length(fingerprint) BETWEEN 1 AND 200),
    starts_at    timestamptz NOT NULL,
    labels       jsonb NOT NULL,
    annotations  jsonb NOT NULL,
    status       text NOT NULL CHECK (status IN ('firing', 'resolved')),
    ends_at      timestamptz,
    last_seen_at timestamptz NOT NULL,
    page_id      uuid REFERENCES pages (id),
    UNIQUE (source, fingerprint, starts_at)
);
CREATE INDEX alerts_page_idx ON alerts (page_id);

-- Every notification, written before it is sent: the unique key makes a round's notification to
-- a contact on a channel exist once however often the tick or Alertmanager repeats itself.
CREATE TABLE notification_attempts (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    page_id      uuid NOT NULL REFERENCES pages (id),
    kind         text NOT NULL CHECK (kind IN ('notify', 'all_clear')),
    generation   integer NOT NULL,
    loop         integer NOT NULL,
    step         integer NOT NULL,
    round        integer NOT NULL,
    contact_id   uuid NOT NULL REFERENCES ops_contacts (id),
    channel      text NOT NULL CHECK (channel IN ('mail', 'phone')),
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped', 'stale')),
    provider_ref text NOT NULL DEFAULT '',
    error        text NOT NULL DEFAULT '' CHECK (length(error) <= 1000),
    created_at   timestamptz NOT NULL,
    claimed_at   timestamptz,
    done_at      timestamptz,
    UNIQUE (page_id, kind, loop, step, round, contact_id, channel)
);
CREATE INDEX notification_attempts_pending_idx ON notification_attempts (created_at) WHERE status IN ('pending', 'sending');
CREATE INDEX notification_attempts_contact_idx ON notification_attempts (contact_id, channel, created_at);

-- The page's timeline (shown in the ops console).
CREATE TABLE page_events (
    id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    page_id uuid NOT NULL REFERENCES pages (id),
    at      timestamptz NOT NULL,
    seq     integer NOT NULL,
    kind    text NOT NULL CHECK (kind ~ '^[a-z_]{1,40}$'),
    actor   text NOT NULL DEFAULT '' CHECK (length(actor) <= 200),
    detail  jsonb NOT NULL DEFAULT '{}',
    UNIQUE (page_id, seq)
);

-- The Watchdog heartbeat: when Alertmanager's always-firing alert was last received.
CREATE TABLE paging_heartbeats (
    source    text PRIMARY KEY CHECK (length(source) BETWEEN 1 AND 100),
    last_seen timestamptz NOT NULL
);

GRANT SELECT, INSERT, UPDATE ON ops_contacts, escalation_policies, pages, alerts, notification_attempts, page_events, paging_heartbeats TO {{app}};
