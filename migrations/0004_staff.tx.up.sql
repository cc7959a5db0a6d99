-- 0004: staff accounts of each city (市管理者 = admin, 職員 = staff) and the append-only audit log of
-- staff actions. Passwords are argon2id hashes; the runtime role may insert audit rows and read
-- them, never change or delete them.

CREATE TABLE staff_accounts (
    tenant_id           uuid NOT NULL REFERENCES tenants (id),
    id                  uuid NOT NULL DEFAULT gen_random_uuid(),
    login_id            text NOT NULL CHECK (login_id ~ '^[a-z0-9._-]{3,64}$'),
    display_name        text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    role                text NOT NULL CHECK (role IN ('admin', 'staff')),
    password_hash       text NOT NULL,
    must_change         boolean NOT NULL DEFAULT true,
    password_expires_at timestamptz,
    failed_count        integer NOT NULL DEFAULT 0,
    locked_until        timestamptz,
    disabled            boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, login_id)
);

CREATE TABLE audit_log (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id        uuid NOT NULL DEFAULT gen_random_uuid(),
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text NOT NULL,
    action    text NOT NULL,
    target    text NOT NULL DEFAULT '',
    before    jsonb,
    after     jsonb,
    ip        text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_at_idx ON audit_log (tenant_id, at DESC);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['staff_accounts', 'audit_log'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = (SELECT current_tenant_id())) '
                       'WITH CHECK (tenant_id = (SELECT current_tenant_id()))', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON staff_accounts TO {{app}};
GRANT SELECT, INSERT ON audit_log TO {{app}};
