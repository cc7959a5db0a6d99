-- 0007: optional TOTP (認証アプリ) for staff accounts. The secret (base32, RFC 6238, SHA-1, 6
-- digits, 30 s) is written only once the member has confirmed a code from their app, and is never
-- shown again nor logged; the runtime role reads it only through the tenant's RLS scope.
-- totp_last_step is the last 30-second step whose code was accepted: a code of that step or an
-- earlier one is refused, so a code seen over a shoulder cannot be used twice.
ALTER TABLE staff_accounts
    ADD COLUMN totp_secret    text CHECK (totp_secret ~ '^[A-Z2-7]{16,128}$'),
    ADD COLUMN totp_enabled   boolean NOT NULL DEFAULT false,
    ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT staff_accounts_totp_secret_when_enabled CHECK (NOT totp_enabled OR totp_secret IS NOT NULL);
