-- 0001: the platform's skeleton. Global routing tables (tenants, tenant_domains) are read before a
-- tenant is known, so they are not tenant-scoped; everything a tenant owns carries tenant_id and is
-- guarded by a row-level security policy that fails closed when app.tenant_id is unset.
-- {{app}} is replaced by the runtime role (from MADOGUCHI_DATABASE_URL) when migrate runs.

-- current_tenant_id is the one expression every policy uses: NULL (no rows) when the scope is unset.
CREATE FUNCTION current_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE TABLE tenants (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug       text NOT NULL UNIQUE
               CHECK (slug ~ '^[a-z][a-z0-9-]{1,30}[a-z0-9]$'
                      AND slug NOT IN ('callcenter', 'ops', 'status', 'www', 'admin', 'api', 'static')),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    settings   jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Custom domains (e.g. yoyaku.city.example.lg.jp) map to a tenant. Global: resolved before scoping.
CREATE TABLE tenant_domains (
    domain     text PRIMARY KEY CHECK (domain = lower(domain) AND length(domain) BETWEEN 3 AND 253),
    tenant     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenant_domains_tenant_idx ON tenant_domains (tenant);

-- 交付場所: where cards are handed out. Adding one is a setting, not a code change.
CREATE TABLE locations (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    address    text NOT NULL DEFAULT '' CHECK (length(address) <= 200),
    guidance   text NOT NULL DEFAULT '' CHECK (length(guidance) <= 4000),
    sort_order integer NOT NULL DEFAULT 0,
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);
ALTER TABLE locations ENABLE ROW LEVEL SECURITY;
ALTER TABLE locations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON locations
    USING (tenant_id = (SELECT current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT current_tenant_id()));

GRANT USAGE ON SCHEMA public TO {{app}};
GRANT EXECUTE ON FUNCTION current_tenant_id() TO {{app}};
GRANT SELECT, INSERT, UPDATE ON tenants TO {{app}};
GRANT SELECT, INSERT, DELETE ON tenant_domains TO {{app}};
GRANT SELECT, INSERT, UPDATE, DELETE ON locations TO {{app}};
