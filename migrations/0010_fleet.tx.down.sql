-- 0010 down: remove the fleet figures, the per-city event counters and their counting indexes.
DROP INDEX IF EXISTS reservations_created_idx, card_status_history_visited_idx, outbox_failed_idx;
DROP TABLE IF EXISTS fleet_days, event_counts;
