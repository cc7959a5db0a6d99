-- 0012: the public status page (status.{BASE_DOMAIN}) and the planned-maintenance notices on the
-- cities' sites. Platform data, like ops_accounts: global tables without tenant_id and without
-- row-level security, holding no citizen's personal data. A row that concerns some cities only
-- names them in tenants (NULL: every city).

-- The component-state interval log, written by the worker's watchdog once a minute: a row covers
-- [started_at, seen_at + 1 minute) in one state; a watchdog that stopped leaves a gap (no data).
CREATE TABLE status_intervals (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    component  text NOT NULL CHECK (component IN ('citizen', 'staff', 'callcenter', 'mail', 'api')),
    state      text NOT NULL CHECK (state IN ('operational', 'degraded_performance', 'partial_outage', 'major_outage')),
    started_at timestamptz NOT NULL,
    seen_at    timestamptz NOT NULL CHECK (seen_at >= started_at),
    detail     text NOT NULL DEFAULT '' CHECK (length(detail) <= 200)
);
CREATE INDEX status_intervals_component_idx ON status_intervals (component, seen_at DESC);
CREATE INDEX status_intervals_seen_idx ON status_intervals (seen_at);

-- The web processes' heartbeats (one row per process, refreshed every 30 seconds): the watchdog
-- counts the processes seen in the last 90 seconds.
CREATE TABLE status_heartbeats (
    process text PRIMARY KEY CHECK (length(process) BETWEEN 1 AND 200),
    seen_at timestamptz NOT NULL
);

-- Incidents posted by the vendor's ops team and their timeline.
CREATE TABLE status_incidents (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title_ja    text NOT NULL CHECK (length(title_ja) BETWEEN 1 AND 200),
    title_en    text NOT NULL CHECK (length(title_en) BETWEEN 1 AND 200),
    impact      text NOT NULL CHECK (impact IN ('none', 'minor', 'major', 'critical')),
    components  jsonb NOT NULL CHECK (jsonb_typeof(components) = 'object'),
    tenants     uuid[],
    status      text NOT NULL CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    resolved_at timestamptz,
    created_by  text NOT NULL
);
CREATE INDEX status_incidents_open_idx ON status_incidents (created_at) WHERE resolved_at IS NULL;
CREATE INDEX status_incidents_created_idx ON status_incidents (created_at DESC);

CREATE TABLE status_incident_updates (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    incident_id uuid NOT NULL REFERENCES status_incidents (id) ON DELETE CASCADE,
    status      text NOT NULL CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved')),
    body_ja     text NOT NULL CHECK (length(body_ja) BETWEEN 1 AND 4000),
    body_en     text NOT NULL CHECK (length(body_en) BETWEEN 1 AND 4000),
    posted_at   timestamptz NOT NULL,
    posted_by   text NOT NULL
);
CREATE INDEX status_incident_updates_incident_idx ON status_incident_updates (incident_id, posted_at);

-- Planned maintenance: shown from announce_at to ends_at (or until cancelled).
CREATE TABLE status_maintenances (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title_ja     text NOT NULL CHECK (length(title_ja) BETWEEN 1 AND 200),
    title_en     text NOT NULL CHECK (length(title_en) BETWEEN 1 AND 200),
    body_ja      text NOT NULL CHECK (length(body_ja) <= 4000),
    body_en      text NOT NULL CHECK (length(body_en) <= 4000),
    components   text[] NOT NULL,
    tenants      uuid[],
    announce_at  timestamptz NOT NULL,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    cancelled_at timestamptz,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    created_by   text NOT NULL,
    CHECK (announce_at <= starts_at AND starts_at < ends_at)
);
CREATE INDEX status_maintenances_ends_idx ON status_maintenances (ends_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON status_intervals TO {{app}};
GRANT SELECT, INSERT, UPDATE, DELETE ON status_heartbeats TO {{app}};
GRANT SELECT, INSERT, UPDATE ON status_incidents, status_incident_updates, status_maintenances TO {{app}};
