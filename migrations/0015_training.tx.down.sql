-- 0015 down: remove the training cities' mark and the delete right on their bookings and logs.
REVOKE DELETE ON reservations, audit_log FROM {{app}};
DROP POLICY IF EXISTS training_reset ON reservations;
DROP POLICY IF EXISTS training_reset ON audit_log;
DROP FUNCTION IF EXISTS tenant_is_training(uuid);
DROP INDEX IF EXISTS tenants_training_of_key;
ALTER TABLE tenants DROP CONSTRAINT IF EXISTS tenants_training_not_self, DROP COLUMN IF EXISTS training_of;
