-- 0009: the vendor's side of the platform (onboarding, support actions, vendor accounts).
--
-- tenants gain what onboarding records: the 全国地方公共団体コード (six digits, the last a check digit
-- over the first five; unique when set; cities created before this have none), the kana of the
-- name and the banner colour the call center shows, and the mail domains the vendor lets the city
-- send From (the relay signs for them; a sender address on any other domain is not used). Existing
-- cities keep sending from the domain of the sender address they set. More host names are reserved
-- for the vendor's own services; the new list binds new and renamed tenants only (NOT VALID), so
-- an existing city is never broken by it.
--
-- The vendor's own tables (its accounts — the ops team and the call center's operators — the
-- operators' grants per city, the consoles' IP allow-lists and the vendor's own audit log) are
-- platform data, not any city's: global tables without tenant_id (a reference to a city is named
-- "tenant", as in tenant_domains) that hold no citizen's personal data. The runtime role reads and
-- writes them as it does tenants; it stays NOBYPASSRLS, and a city's own rows are still reached
-- only through the city's scope. What a vendor does to a city is also written to the city's own
-- audit_log in that scope.

ALTER TABLE tenants
    ADD COLUMN code text
        CONSTRAINT tenants_code_format CHECK (code ~ '^[0-9]{6}$')
        CONSTRAINT tenants_code_check_digit CHECK (CASE WHEN code ~ '^[0-9]{6}$' THEN
            (11 - (substr(code, 1, 1)::int * 6 + substr(code, 2, 1)::int * 5 + substr(code, 3, 1)::int * 4
                 + substr(code, 4, 1)::int * 3 + substr(code, 5, 1)::int * 2) % 11) % 10 = substr(code, 6, 1)::int
            ELSE true END),
    ADD COLUMN name_kana text NOT NULL DEFAULT '' CHECK (length(name_kana) <= 100),
    ADD COLUMN banner_color text NOT NULL DEFAULT '#0017c1' CHECK (banner_color ~ '^#[0-9a-f]{6}$'),
    ADD COLUMN mail_domains text[] NOT NULL DEFAULT '{}' CHECK (cardinality(mail_domains) <= 20),
    ADD CONSTRAINT tenants_code_key UNIQUE (code);

UPDATE tenants SET mail_domains = ARRAY[lower(split_part(settings ->> 'mail_from', '@', 2))]
WHERE split_part(coalesce(settings ->> 'mail_from', ''), '@', 2) <> '';

ALTER TABLE tenants DROP CONSTRAINT tenants_slug_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_slug_check
    CHECK (slug ~ '^[a-z][a-z0-9-]{1,30}[a-z0-9]$'
           AND slug NOT IN ('callcenter', 'ops', 'status', 'www', 'admin', 'api', 'static', 'mail', 'smtp',
                            'auth', 'login', 'sso', 'metrics', 'grafana', 'prometheus', 'alertmanager',
                            'help', 'support', 'docs')) NOT VALID;

-- The vendor's accounts: the ops team (role ops) and the call center's operators (role operator).
-- The same rules as staff_accounts: argon2id hashes, an issued password expires and must be
-- changed, failures lock the account; TOTP is required of every one of them (the consoles refuse a
-- session until it is enrolled). Accounts are disabled, never deleted, so the logs keep a name.
CREATE TABLE ops_accounts (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    login_id            text NOT NULL UNIQUE CHECK (login_id ~ '^[a-z0-9._-]{3,64}$'),
    display_name        text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    role                text NOT NULL CHECK (role IN ('ops', 'operator')),
    password_hash       text NOT NULL,
    must_change         boolean NOT NULL DEFAULT true,
    password_expires_at timestamptz,
    failed_count        integer NOT NULL DEFAULT 0,
    locked_until        timestamptz,
    disabled            boolean NOT NULL DEFAULT false,
    totp_secret         text CHECK (totp_secret ~ '^[A-Z2-7]{16,128}$'),
    totp_enabled        boolean NOT NULL DEFAULT false,
    totp_last_step      bigint NOT NULL DEFAULT 0,
    created_by          text NOT NULL DEFAULT '' CHECK (length(created_by) <= 100),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ops_accounts_totp_secret_when_enabled CHECK (NOT totp_enabled OR totp_secret IS NOT NULL)
);

-- Which cities an operator may serve. A revoked grant is deleted; the grant and its revocation
-- stay in the city's audit log and in ops_audit_log.
CREATE TABLE operator_grants (
    operator   uuid NOT NULL REFERENCES ops_accounts (id),
    tenant     uuid NOT NULL REFERENCES tenants (id),
    granted_by text NOT NULL CHECK (length(granted_by) <= 100),
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (operator, tenant)
);
CREATE INDEX operator_grants_tenant_idx ON operator_grants (tenant);

-- Client addresses allowed to reach each vendor console; an empty list lets nobody in.
CREATE TABLE ops_ip_allow (
    console  text NOT NULL CHECK (console IN ('ops', 'callcenter')),
    cidr     cidr NOT NULL,
    note     text NOT NULL DEFAULT '' CHECK (length(note) <= 200),
    added_by text NOT NULL CHECK (length(added_by) <= 100),
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (console, cidr)
);

-- The vendor's own append-only log: its accounts, grants, allow-lists, and every action on a city
-- (also written to that city's audit_log). seq orders rows written in one transaction.
CREATE TABLE ops_audit_log (
    id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq    bigint GENERATED ALWAYS AS IDENTITY,
    at     timestamptz NOT NULL DEFAULT now(),
    actor  text NOT NULL,
    action text NOT NULL,
    tenant uuid,
    target text NOT NULL DEFAULT '',
    before jsonb,
    after  jsonb,
    ip     text NOT NULL DEFAULT ''
);
CREATE INDEX ops_audit_log_at_idx ON ops_audit_log (at DESC, seq DESC);

GRANT SELECT, INSERT, UPDATE ON ops_accounts TO {{app}};
GRANT SELECT, INSERT, DELETE ON operator_grants, ops_ip_allow TO {{app}};
GRANT SELECT, INSERT ON ops_audit_log TO {{app}};
