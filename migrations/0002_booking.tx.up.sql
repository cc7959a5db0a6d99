-- 0002: the booking core. Cards to hand out (login = 製造管理番号 + birth MMDD, stored only as a keyed
-- HMAC), weekly schedule templates and dated overrides per location, materialised slots with a
-- capacity counter taken by conditional updates, short holds while a citizen confirms, reservations
-- holding one or more cards, and the outbox of mail written in the same transaction.
-- Every key and foreign key includes tenant_id (unique and RI checks bypass RLS).

CREATE TABLE cards (
    tenant_id         uuid NOT NULL REFERENCES tenants (id),
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    card_no           text NOT NULL CHECK (card_no ~ '^[0-9A-Z]{4,32}$'),
    birth_hmac        bytea NOT NULL CHECK (length(birth_hmac) = 32),
    name              text CHECK (length(name) <= 100),
    name_kana         text CHECK (length(name_kana) <= 100),
    storage_pos       text NOT NULL DEFAULT '' CHECK (length(storage_pos) <= 50),
    status            text NOT NULL DEFAULT 'imported'
                      CHECK (status IN ('imported', 'notice_sent', 'reserved', 'visited', 'issued', 'returned', 'on_hold', 'void')),
    status_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, card_no)
);
CREATE INDEX cards_status_idx ON cards (tenant_id, status);

-- 交付進捗: every status change, with who and through which channel.
CREATE TABLE card_status_history (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    card_id     uuid NOT NULL,
    from_status text,
    to_status   text NOT NULL,
    channel     text NOT NULL CHECK (channel IN ('web', 'callcenter', 'staff', 'import', 'system')),
    actor       text NOT NULL DEFAULT '',
    changed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, card_id) REFERENCES cards (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX card_status_history_card_idx ON card_status_history (tenant_id, card_id, changed_at);

-- Weekly opening windows. weekday: 0 = Sunday … 6 = Saturday (time.Weekday).
CREATE TABLE schedule_templates (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    location_id  uuid NOT NULL,
    weekday      smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    start_time   time NOT NULL,
    end_time     time NOT NULL,
    slot_minutes smallint NOT NULL CHECK (slot_minutes IN (10, 15, 20, 30, 60)),
    capacity     smallint NOT NULL CHECK (capacity BETWEEN 0 AND 200),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id) ON DELETE CASCADE,
    CHECK (end_time > start_time)
);
CREATE INDEX schedule_templates_loc_idx ON schedule_templates (tenant_id, location_id, weekday);

-- Dated exceptions: 'open' adds a window (休日開庁, 夜間窓口, also opens a holiday), 'close' closes the
-- whole day, 'capacity' sets a different capacity for the day's template windows.
CREATE TABLE schedule_overrides (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    location_id  uuid NOT NULL,
    day          date NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('open', 'close', 'capacity')),
    start_time   time,
    end_time     time,
    slot_minutes smallint CHECK (slot_minutes IN (10, 15, 20, 30, 60)),
    capacity     smallint CHECK (capacity BETWEEN 0 AND 200),
    note         text NOT NULL DEFAULT '' CHECK (length(note) <= 200),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id) ON DELETE CASCADE,
    CHECK (kind <> 'open' OR (start_time IS NOT NULL AND end_time > start_time AND slot_minutes IS NOT NULL AND capacity IS NOT NULL)),
    CHECK (kind <> 'capacity' OR capacity IS NOT NULL)
);
CREATE INDEX schedule_overrides_day_idx ON schedule_overrides (tenant_id, location_id, day);

-- Materialised slots. booked + held never exceeds capacity for a new booking; when a schedule change
-- lowers capacity below what is booked, the slot keeps its bookings and is flagged for staff.
CREATE TABLE slots (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    location_id uuid NOT NULL,
    day         date NOT NULL,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    capacity    integer NOT NULL CHECK (capacity >= 0),
    booked      integer NOT NULL DEFAULT 0 CHECK (booked >= 0),
    held        integer NOT NULL DEFAULT 0 CHECK (held >= 0),
    open        boolean NOT NULL DEFAULT true,
    flagged     boolean NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, location_id, starts_at),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id) ON DELETE CASCADE,
    CHECK (ends_at > starts_at)
);
CREATE INDEX slots_day_idx ON slots (tenant_id, location_id, day);

-- A hold keeps places for a citizen for a few minutes while they confirm.
CREATE TABLE slot_holds (
    tenant_id  uuid NOT NULL,
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    slot_id    uuid NOT NULL,
    places     integer NOT NULL CHECK (places BETWEEN 1 AND 20),
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, slot_id) REFERENCES slots (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX slot_holds_expiry_idx ON slot_holds (tenant_id, expires_at);
CREATE INDEX slot_holds_slot_idx ON slot_holds (tenant_id, slot_id);

CREATE TABLE reservations (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    code         text NOT NULL CHECK (code ~ '^[2-9A-HJ-NP-Z]{8}$'),
    slot_id      uuid NOT NULL,
    location_id  uuid NOT NULL,
    starts_at    timestamptz NOT NULL,
    status       text NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'cancelled', 'visited', 'no_show')),
    channel      text NOT NULL CHECK (channel IN ('web', 'callcenter', 'staff')),
    email        text CHECK (length(email) <= 254),
    lang         text NOT NULL DEFAULT 'ja' CHECK (lang IN ('ja', 'en')),
    party_size   integer NOT NULL CHECK (party_size BETWEEN 1 AND 20),
    mail_error   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    cancelled_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, code),
    FOREIGN KEY (tenant_id, slot_id) REFERENCES slots (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id)
);
CREATE INDEX reservations_slot_idx ON reservations (tenant_id, slot_id);
CREATE INDEX reservations_start_idx ON reservations (tenant_id, starts_at);

-- The cards of a reservation. active is true while the reservation is booked; the partial unique
-- index makes a second active booking of the same card impossible, whatever the channel.
CREATE TABLE reservation_cards (
    tenant_id      uuid NOT NULL,
    reservation_id uuid NOT NULL,
    card_id        uuid NOT NULL,
    active         boolean NOT NULL DEFAULT true,
    PRIMARY KEY (tenant_id, reservation_id, card_id),
    FOREIGN KEY (tenant_id, reservation_id) REFERENCES reservations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, card_id) REFERENCES cards (tenant_id, id)
);
CREATE UNIQUE INDEX reservation_cards_one_active ON reservation_cards (tenant_id, card_id) WHERE active;

-- Mail to send, written in the booking transaction; a relay hands each row to the job queue once.
CREATE TABLE outbox (
    tenant_id      uuid NOT NULL,
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    kind           text NOT NULL CHECK (kind IN ('reservation_created', 'reservation_changed', 'reservation_cancelled', 'reminder')),
    reservation_id uuid NOT NULL,
    data           jsonb NOT NULL DEFAULT '{}'::jsonb,
    state          text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'enqueued', 'sent', 'failed', 'skipped')),
    attempts       integer NOT NULL DEFAULT 0,
    lease_until    timestamptz,
    last_error     text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, reservation_id) REFERENCES reservations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX outbox_pending_idx ON outbox (tenant_id, created_at) WHERE state IN ('pending', 'enqueued');

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['cards', 'card_status_history', 'schedule_templates', 'schedule_overrides',
                             'slots', 'slot_holds', 'reservations', 'reservation_cards', 'outbox'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = (SELECT current_tenant_id())) '
                       'WITH CHECK (tenant_id = (SELECT current_tenant_id()))', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON cards, schedule_templates, schedule_overrides, slots, slot_holds,
    reservation_cards TO {{app}};
GRANT SELECT, INSERT, UPDATE ON reservations, outbox TO {{app}};
GRANT SELECT, INSERT ON card_status_history TO {{app}};
