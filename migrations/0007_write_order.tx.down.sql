-- 0007 down: history and outbox are ordered by their timestamps alone again.
DROP INDEX IF EXISTS outbox_pending_seq_idx;
ALTER TABLE outbox DROP COLUMN IF EXISTS seq;
DROP INDEX IF EXISTS card_status_history_card_seq_idx;
ALTER TABLE card_status_history DROP COLUMN IF EXISTS seq;
