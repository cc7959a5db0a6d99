-- 0004 down: remove staff accounts and the audit log.
DROP TABLE IF EXISTS audit_log, staff_accounts;
