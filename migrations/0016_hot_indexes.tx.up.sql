-- 0016: indexes the plan test (booking TestHotQueryPlans) found missing, each with tenant_id first
-- like every other index of a city's table, so a city's query reads only its own entries.
--   cards_no_prefix_idx: the staff card list searched by the beginning of a 製造管理番号
--     (card_no LIKE 'prefix%'): the unique (tenant_id, card_no) index serves equality only under
--     a collation other than C; text_pattern_ops serves the prefix.
--   reservations_cancelled_idx, card_status_history_issued_idx, outbox_created_idx: the monthly
--     report's cancellations, cards issued and mail of a month (booking/monthly_report.go);
--     partial like card_status_history_visited_idx where only some rows are ever asked for.
-- Plain CREATE INDEX, not CONCURRENTLY: the runner applies every migration in one transaction.
-- Each build holds a SHARE lock, so writes to the table wait while it runs (reads do not); the
-- lock itself is taken under the runner's lock_timeout.
CREATE INDEX cards_no_prefix_idx ON cards (tenant_id, card_no text_pattern_ops);
CREATE INDEX reservations_cancelled_idx ON reservations (tenant_id, cancelled_at) WHERE cancelled_at IS NOT NULL;
CREATE INDEX card_status_history_issued_idx ON card_status_history (tenant_id, changed_at) WHERE to_status = 'issued';
CREATE INDEX outbox_created_idx ON outbox (tenant_id, created_at);
