-- 0014: a limit on current-password checks (re-authentication for a password change or a TOTP
-- change, by a member already logged in). Every account, staff or vendor, counts its failed
-- checks since the first failure of a 15-minute window; at 5 the checks are refused until the
-- window ends. A correct check clears the count.
ALTER TABLE staff_accounts
    ADD COLUMN recheck_failures int NOT NULL DEFAULT 0 CHECK (recheck_failures >= 0),
    ADD COLUMN recheck_since timestamptz;
ALTER TABLE ops_accounts
    ADD COLUMN recheck_failures int NOT NULL DEFAULT 0 CHECK (recheck_failures >= 0),
    ADD COLUMN recheck_since timestamptz;
