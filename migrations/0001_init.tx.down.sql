-- 0001 down: remove the skeleton (only used by the migration round-trip test and local resets).
DROP TABLE IF EXISTS locations;
DROP TABLE IF EXISTS tenant_domains;
DROP TABLE IF EXISTS tenants;
DROP FUNCTION IF EXISTS current_tenant_id();
