-- 0010: the vendor's fleet at a glance. Figures that lived only in Redis or in one process's
-- metrics (booking errors by reason, login locks) are counted per city in event_counts, a tenant
-- table under row-level security like every other. A periodic job opens each city's scope, counts
-- its figures there and writes them to fleet_days, a global table (like periodic_runs) holding
-- counts only — no name, e-mail, card number or birthday, no free text: the vendor's overview reads
-- it without opening 1,741 scopes and without any role that bypasses row-level security.
-- Three indexes let the job count a day's bookings, check-ins and failed mails without scanning a
-- city's history.

-- Events per city and five-minute bucket (aligned to JST midnight, which UTC five-minute
-- boundaries are): kind booking_error with the refusal's message key as reason (slot.full,
-- card.already_booked, … or internal), kind login_lock with the lock's level (citizen_soft,
-- citizen_hard, citizen_ip_spray, staff_soft, staff_hard). Counts only.
CREATE TABLE event_counts (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    bucket    timestamptz NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('booking_error', 'login_lock')),
    reason    text NOT NULL CHECK (reason ~ '^[a-z][a-z0-9_.]{0,63}$'),
    n         bigint NOT NULL CHECK (n > 0),
    PRIMARY KEY (tenant_id, bucket, kind, reason)
);
ALTER TABLE event_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE event_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON event_counts
    USING (tenant_id = (SELECT current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT current_tenant_id()));

-- Global (not tenant data): one row per city and JST day, written by the fleet job from inside
-- the city's scope. The day's counts (bookings made, cards checked in, booking errors, login
-- locks, mails that failed for good) are recomputed from the city's tables while the day is
-- recent; the snapshot columns (fill of the next 14 days, mail backlog, imports running, locks of
-- the last hour) hold the day's last measurement and are NULL for a day that was only
-- back-filled. The column is named tenant, not tenant_id, as in tenant_domains: this is platform
-- data, outside the tenant tables' row-level security.
CREATE TABLE fleet_days (
    tenant           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day              date NOT NULL,
    bookings         integer NOT NULL DEFAULT 0 CHECK (bookings >= 0),
    visits           integer NOT NULL DEFAULT 0 CHECK (visits >= 0),
    booking_errors   integer NOT NULL DEFAULT 0 CHECK (booking_errors >= 0),
    error_reasons    jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(error_reasons) = 'object'),
    login_locks      integer NOT NULL DEFAULT 0 CHECK (login_locks >= 0),
    mail_failed      integer NOT NULL DEFAULT 0 CHECK (mail_failed >= 0),
    computed_at      timestamptz NOT NULL,
    booked_14d       integer CHECK (booked_14d >= 0),
    capacity_14d     integer CHECK (capacity_14d >= 0),
    mail_backlog     integer CHECK (mail_backlog >= 0),
    mail_retrying    integer CHECK (mail_retrying >= 0),
    mail_oldest      timestamptz,
    imports_running  integer CHECK (imports_running >= 0),
    login_locks_hour integer CHECK (login_locks_hour >= 0),
    snapshot_at      timestamptz,
    PRIMARY KEY (tenant, day)
);
CREATE INDEX fleet_days_day_idx ON fleet_days (day);

CREATE INDEX reservations_created_idx ON reservations (tenant_id, created_at);
CREATE INDEX card_status_history_visited_idx ON card_status_history (tenant_id, changed_at) WHERE to_status = 'visited';
CREATE INDEX outbox_failed_idx ON outbox (tenant_id, updated_at) WHERE state = 'failed';

GRANT SELECT, INSERT, UPDATE, DELETE ON event_counts, fleet_days TO {{app}};
