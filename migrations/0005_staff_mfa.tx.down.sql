-- 0007 down: remove the TOTP columns (every enrolled member has to enrol again).
ALTER TABLE staff_accounts
    DROP CONSTRAINT IF EXISTS staff_accounts_totp_secret_when_enabled,
    DROP COLUMN IF EXISTS totp_last_step,
    DROP COLUMN IF EXISTS totp_enabled,
    DROP COLUMN IF EXISTS totp_secret;
