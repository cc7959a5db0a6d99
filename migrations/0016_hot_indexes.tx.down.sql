-- 0016 down: remove the indexes of the hot queries' plan test.
DROP INDEX IF EXISTS cards_no_prefix_idx, reservations_cancelled_idx, card_status_history_issued_idx, outbox_created_idx;
