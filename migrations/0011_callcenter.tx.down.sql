-- 0011 down: no call notes, no call log, no supervisors (they become operators).
DROP INDEX IF EXISTS audit_log_target_idx;
ALTER TABLE reservations DROP COLUMN IF EXISTS call_note;
DROP TABLE IF EXISTS call_log;
UPDATE ops_accounts SET role = 'operator' WHERE role = 'supervisor';
ALTER TABLE ops_accounts DROP CONSTRAINT IF EXISTS ops_accounts_role_check;
ALTER TABLE ops_accounts ADD CONSTRAINT ops_accounts_role_check CHECK (role IN ('ops', 'operator'));
