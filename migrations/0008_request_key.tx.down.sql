-- 0008 down: bookings no longer remember the request that made them.
DROP INDEX IF EXISTS reservations_request_key_idx;
ALTER TABLE reservations DROP COLUMN IF EXISTS request_key;
