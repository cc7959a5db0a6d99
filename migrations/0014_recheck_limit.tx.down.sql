-- 0014 down: drop the current-password check counts.
ALTER TABLE staff_accounts DROP COLUMN IF EXISTS recheck_failures, DROP COLUMN IF EXISTS recheck_since;
ALTER TABLE ops_accounts DROP COLUMN IF EXISTS recheck_failures, DROP COLUMN IF EXISTS recheck_since;
