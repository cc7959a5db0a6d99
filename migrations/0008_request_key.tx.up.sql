-- 0008: booking idempotency. A reservation remembers the request that made it: the hold it used
-- or a client's request key (the API's Idempotency-Key, scoped to who sent it), stored as a
-- SHA-256 so no client input is kept. A repeated request finds its booking instead of making a
-- second one; the unique index stops two concurrent repeats.
ALTER TABLE reservations ADD COLUMN request_key text CHECK (request_key ~ '^[0-9a-f]{64}$');
CREATE UNIQUE INDEX reservations_request_key_idx ON reservations (tenant_id, request_key) WHERE request_key IS NOT NULL;
