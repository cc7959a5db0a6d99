-- 0009 down: remove the vendor's tables and the onboarding columns of tenants.
DROP TABLE IF EXISTS ops_audit_log, ops_ip_allow, operator_grants, ops_accounts;
ALTER TABLE tenants DROP CONSTRAINT IF EXISTS tenants_slug_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_slug_check
    CHECK (slug ~ '^[a-z][a-z0-9-]{1,30}[a-z0-9]$'
           AND slug NOT IN ('callcenter', 'ops', 'status', 'www', 'admin', 'api', 'static')) NOT VALID;
ALTER TABLE tenants
    DROP CONSTRAINT IF EXISTS tenants_code_key,
    DROP COLUMN IF EXISTS mail_domains,
    DROP COLUMN IF EXISTS banner_color,
    DROP COLUMN IF EXISTS name_kana,
    DROP COLUMN IF EXISTS code;
